"""Jet tagger (16-64-32-32-5 MLP) trained with HGQ, then synthesized bit-exactly with hls4ml.

The architecture is the hls4ml jet-tagging benchmark's. The DATA ARE SYNTHETIC: the real
hls4ml jet dataset (OpenML ``hls4ml_lhc_jets_hlf``) needs a download, so this script draws a
deterministic stand-in: 16 correlated features per jet, 5 classes (g, q, W, Z, t), each class a
mixture of two Gaussians with its own means and covariance. Accuracies are therefore not
comparable with published jet-tagging numbers; the workflow is the same.

Steps: build the QKeras-style model inside ``quantization_config(mode="hgq")`` (per-element
trainable bitwidths, starting from the QKeras bits), train it under a beta schedule while
`ParetoFront` keeps the (val_accuracy, EBOPs) front, pick the cheapest point within 1 point of
the best accuracy, print the per-layer report, synthesize it with hls4ml (C simulation
compared with Keras bit for bit) and write ``summary.json``.

    python examples/02_jet_tagger_hgq.py            # full run
    python examples/02_jet_tagger_hgq.py --quick    # CI: small data, 2 epochs
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
from hgq_compat import QActivation, QDense, quantized_bits, quantized_relu  # noqa: E402
from hgq_compat.report import format_report, model_report  # noqa: E402
from hgq_compat.training import (
    BetaScheduler,
    FreeEBOPs,
    LogSchedule,
    ParetoFront,  # noqa: E402
    select_pareto_point,
)

CLASSES = ("g", "q", "W", "Z", "t")
N_FEATURES = 16


def make_jets(n: int, seed: int = 2024) -> tuple[np.ndarray, np.ndarray]:
    """``n`` synthetic jets: (x float32 (n, 16), y int (n,)), classes balanced.

    The class parameters come from a fixed generator (the same for every ``seed``); ``seed``
    only draws the jets. Each class is a two-component Gaussian mixture whose covariance has
    a shared low-rank part (correlated features) and a class-specific one.
    """
    params = np.random.default_rng(12345)
    shared = params.normal(0.0, 0.6, (N_FEATURES, 4))
    classes = []
    for _ in CLASSES:
        means = params.normal(0.0, 0.55, (2, N_FEATURES))
        mix = np.linspace(0.3, 0.7, 2)[params.integers(2)]
        loading = np.concatenate([shared, params.normal(0.0, 0.5, (N_FEATURES, 3))], axis=1)
        scale = params.uniform(0.6, 1.2, N_FEATURES)
        classes.append((means, mix, loading, scale))
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(CLASSES), n)
    x = np.empty((n, N_FEATURES))
    for c, (means, mix, loading, scale) in enumerate(classes):
        idx = np.flatnonzero(y == c)
        comp = (rng.random(idx.size) < mix).astype(int)
        latent = rng.normal(size=(idx.size, loading.shape[1]))
        x[idx] = means[comp] + latent @ loading.T + rng.normal(size=(idx.size, N_FEATURES)) * scale
    return x.astype(np.float32), y


def build_model() -> keras.Model:
    """The hls4ml jet-tagging MLP as a QKeras user writes it (6-bit weights, 6-bit ReLUs), with
    an input quantizer so that hls4ml sees exactly the inputs Keras sees. Logits out: softmax
    stays in software (``from_logits=True``)."""
    kq = dict(kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1))
    return keras.Sequential(
        [
            keras.Input((N_FEATURES,)),
            QActivation("quantized_bits(10, 3, alpha=1)", name="q_input"),
            QDense(64, name="fc1", **kq),
            QActivation(quantized_relu(6, 3), name="relu1"),
            QDense(32, name="fc2", **kq),
            QActivation(quantized_relu(6, 3), name="relu2"),
            QDense(32, name="fc3", **kq),
            QActivation(quantized_relu(6, 3), name="relu3"),
            QDense(len(CLASSES), name="output", **kq),
        ],
        name="jet_tagger",
    )


def accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(model.predict(x, verbose=0, batch_size=4096), -1) == y))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="CI mode: 6k training jets, 2 epochs, 500 random C-sim inputs"
    )
    parser.add_argument("--out", default="examples_out/02_jet_tagger_hgq", help="output folder")
    parser.add_argument("--epochs", type=int, default=None, help="default 40 (2 with --quick)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-synth", action="store_true", help="skip hls4ml")
    args = parser.parse_args(argv)

    t_start = time.perf_counter()
    n_train, epochs, batch, n_random = (6_000, 2, 64, 500) if args.quick else (100_000, 40, 256, 10_000)
    epochs = args.epochs or epochs
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out / "checkpoints", ignore_errors=True)  # a fresh Pareto front every run
    keras.utils.set_random_seed(args.seed)

    # data: train / validation (checkpoint choice) / test, standardized with training statistics
    x, y = make_jets(n_train + 2 * (n_train // 5))
    mean, std = x[:n_train].mean(0), x[:n_train].std(0)
    x = ((x - mean) / std).astype(np.float32)
    n_val = n_train // 5
    x_train, y_train = x[:n_train], y[:n_train]
    x_val, y_val = x[n_train : n_train + n_val], y[n_train : n_train + n_val]
    x_test, y_test = x[n_train + n_val :], y[n_train + n_val :]

    # the QKeras model, switched to HGQ: bitwidths start at the QKeras ones and train per element
    with hq.quantization_config(mode="hgq"):
        model = build_model()
    ebops_start = hq.model_ebops(model)
    model.compile(
        keras.optimizers.Adam(3e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"]
    )
    beta = LogSchedule([(0, 1e-7), (max(epochs - 1, 1), 3e-6)])  # EBOPs weight, loss units per EBOP
    front = ParetoFront(out / "checkpoints", metrics=("val_accuracy", "ebops"), sides=(1, -1))
    t0 = time.perf_counter()
    model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        epochs=epochs,
        batch_size=batch,
        verbose=2,
        callbacks=[BetaScheduler(beta), FreeEBOPs(), front],
    )
    train_seconds = time.perf_counter() - t0

    # the cheapest checkpoint within 1 accuracy point of the best one
    point = select_pareto_point(front.records, "val_accuracy", tolerance=0.01)
    chosen = keras.saving.load_model(point["path"], compile=False)
    report = model_report(chosen)
    print(
        f"\nPareto front: {len(front.records)} checkpoints; chose epoch {point['epoch'] + 1} "
        f"(val_accuracy {point['val_accuracy']:.4f}, EBOPs {point['ebops']:,.0f})\n"
    )
    print(format_report(report))
    summary = {
        "example": "02_jet_tagger_hgq",
        "quick": args.quick,
        "epochs": epochs,
        "n_train": n_train,
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

    # hls4ml: write the project, compile the C simulation, compare with Keras on test + random inputs
    if not args.no_synth:
        from hls4ml_plugin.synth import random_inputs, synthesize

        x_check = np.concatenate([x_test[:2000], random_inputs((N_FEATURES,), n_random, args.seed)])
        synth = synthesize(chosen, out / "hls4ml_prj", backend="Vitis", check_data=x_check, force=True)
        print("\n" + synth.format())
        summary.update(
            mismatches=synth.mismatches, exact=synth.exact, checked_inputs=synth.n_inputs, status=synth.status_line()
        )
    summary["total_seconds"] = time.perf_counter() - t_start
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(
        f"\nRESULT 02_jet_tagger_hgq: test_accuracy={summary['test_accuracy']:.4f} "
        f"ebops={summary['ebops']:.0f} (start {ebops_start:.0f}) mismatches={summary['mismatches']} "
        f"time={summary['total_seconds']:.0f}s summary={out / 'summary.json'}"
    )
    return 0 if summary["exact"] in (True, None) else 1


if __name__ == "__main__":
    raise SystemExit(main())
