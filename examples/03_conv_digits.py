"""A small quantized CNN on sklearn's 8x8 digits, trained with HGQ and synthesized bit-exactly.

QConv2D -> QConv2D -> pooling (MaxPooling2D, or QAveragePooling2D with --pool avg) -> Flatten
-> QDense, built inside ``quantization_config(mode="hgq")``: every weight and activation gets
its own trainable bitwidth, starting from the QKeras bits. A log beta schedule raises the EBOPs
weight during training, `ParetoFront` keeps the (val_accuracy, EBOPs) front, the cheapest point
within 1 point of the best accuracy is reported layer by layer and synthesized with hls4ml
(C simulation compared with Keras bit for bit). The digits ship with scikit-learn: no download.

    python examples/03_conv_digits.py                # full run
    python examples/03_conv_digits.py --quick        # CI: 3 epochs
    python examples/03_conv_digits.py --pool avg     # QAveragePooling2D instead of MaxPooling2D
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import hgq_compat as hq  # noqa: E402
from hgq_compat import QActivation, QAveragePooling2D, QConv2D, QDense, quantized_bits, quantized_relu  # noqa: E402
from hgq_compat.datasets import load_digits_split  # noqa: E402
from hgq_compat.report import format_report, model_report  # noqa: E402
from hgq_compat.training import (
    BetaScheduler,
    FreeEBOPs,
    LogSchedule,
    ParetoFront,  # noqa: E402
    select_pareto_point,
)


def build_model(pool: str = "max") -> keras.Model:
    """8x8x1 -> conv 3x3x8 -> conv 3x3x16 -> 2x2 pooling -> 64 -> 10 logits (softmax left to software).

    The pool size 2x2 over a 4x4 map with padding 'valid' makes average pooling exact in hls4ml
    (a power-of-two area that padding never cuts)."""
    w6 = dict(kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1))
    pooling = (
        keras.layers.MaxPooling2D(2, name="pool")
        if pool == "max"
        else QAveragePooling2D(2, average_quantizer=quantized_bits(8, 0, alpha=1), name="pool")
    )
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            QActivation(quantized_bits(8, 0, alpha=1), name="q_input"),  # pixels in [0, 1): exact hls4ml inputs
            QConv2D(8, 3, name="conv1", **w6),
            QActivation(quantized_relu(6, 2), name="relu1"),
            QConv2D(16, 3, name="conv2", **w6),
            QActivation(quantized_relu(6, 2), name="relu2"),
            pooling,
            keras.layers.Flatten(name="flatten"),
            QDense(10, name="output", **w6),
        ],
        name=f"conv_digits_{pool}",
    )


def accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(model.predict(x, verbose=0, batch_size=1024), -1) == y))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI mode: 3 epochs, 300 random C-sim inputs")
    parser.add_argument("--out", default="examples_out/03_conv_digits", help="output folder")
    parser.add_argument("--epochs", type=int, default=None, help="default 80 (3 with --quick)")
    parser.add_argument("--pool", choices=("max", "avg"), default="max", help="MaxPooling2D or QAveragePooling2D")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-synth", action="store_true", help="skip hls4ml")
    args = parser.parse_args(argv)

    t_start = time.perf_counter()
    epochs, n_random = (3, 300) if args.quick else (80, 10_000)
    epochs = args.epochs or epochs
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out / "checkpoints", ignore_errors=True)  # a fresh Pareto front every run
    keras.utils.set_random_seed(args.seed)

    # 1,797 digits: 1,011 to train, 337 to pick the checkpoint, 449 to test
    x_train, y_train, x_test, y_test = load_digits_split(args.seed)
    x_train, x_test = x_train.reshape(-1, 8, 8, 1), x_test.reshape(-1, 8, 8, 1)
    x_val, y_val, x_fit, y_fit = x_train[:337], y_train[:337], x_train[337:], y_train[337:]

    with hq.quantization_config(mode="hgq"):
        model = build_model(args.pool)
    ebops_start = hq.model_ebops(model)
    model.compile(
        keras.optimizers.Adam(3e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"]
    )
    beta = LogSchedule([(0, 1e-7), (max(epochs - 1, 1), 5e-6)])  # EBOPs weight, loss units per EBOP
    front = ParetoFront(out / "checkpoints", metrics=("val_accuracy", "ebops"), sides=(1, -1))
    t0 = time.perf_counter()
    model.fit(
        x_fit,
        y_fit,
        validation_data=(x_val, y_val),
        epochs=epochs,
        batch_size=16,
        verbose=2,
        callbacks=[BetaScheduler(beta), FreeEBOPs(), front],
    )
    train_seconds = time.perf_counter() - t0

    point = select_pareto_point(front.records, "val_accuracy", tolerance=0.01)
    chosen = keras.saving.load_model(point["path"], compile=False)
    report = model_report(chosen)
    print(
        f"\nPareto front: {len(front.records)} checkpoints; chose epoch {point['epoch'] + 1} "
        f"(val_accuracy {point['val_accuracy']:.4f}, EBOPs {point['ebops']:,.0f})\n"
    )
    print(format_report(report))
    summary = {
        "example": "03_conv_digits",
        "quick": args.quick,
        "pool": args.pool,
        "epochs": epochs,
        "test_accuracy": accuracy(chosen, x_test, y_test),
        "val_accuracy": point["val_accuracy"],
        "chosen_epoch": point["epoch"] + 1,
        "pareto_points": len(front.records),
        "ebops_start": ebops_start,
        "ebops": hq.model_ebops(chosen),
        "weight_bits_mean": report["totals"]["weight_bits_mean"],
        "pruned_fraction": report["totals"]["pruned_fraction"],
        "train_seconds": train_seconds,
        "mismatches": None,
        "exact": None,
    }

    if not args.no_synth:
        from hls4ml_plugin.synth import random_inputs, synthesize

        x_check = np.concatenate([x_test, random_inputs((8, 8, 1), n_random, args.seed)])
        synth = synthesize(chosen, out / "hls4ml_prj", backend="Vitis", check_data=x_check, force=True)
        print("\n" + synth.format())
        summary.update(
            mismatches=synth.mismatches, exact=synth.exact, checked_inputs=synth.n_inputs, status=synth.status_line()
        )
    summary["total_seconds"] = time.perf_counter() - t_start
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(
        f"\nRESULT 03_conv_digits: test_accuracy={summary['test_accuracy']:.4f} "
        f"ebops={summary['ebops']:.0f} (start {ebops_start:.0f}) mismatches={summary['mismatches']} "
        f"time={summary['total_seconds']:.0f}s summary={out / 'summary.json'}"
    )
    return 0 if summary["exact"] in (True, None) else 1


if __name__ == "__main__":
    raise SystemExit(main())
