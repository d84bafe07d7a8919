"""Convert a saved QKeras model to Keras 3, check it gives QKeras's numbers, synthesize it with hls4ml.

By default the QKeras 0.9.0 model shipped with hgq-compat (an MLP trained on sklearn's 8x8
digits by real QKeras under TensorFlow 2.19; its test logits are shipped too). Give another
``.h5`` (``model.save``), ``.json`` (with its weights file) or qkeras-v3 ``.keras`` as an argument;
``--data file.npz`` (keys ``x``, optional ``y`` labels and ``logits`` = QKeras outputs) to check it.

    python examples/04_convert_and_synthesize.py                  # the shipped model
    python examples/04_convert_and_synthesize.py --hgq            # HGQ mode (trainable bits)
    python examples/04_convert_and_synthesize.py model.h5 --data check.npz
    python examples/04_convert_and_synthesize.py --quick          # CI: 500 random C-sim inputs

The same with the command line (``hgq-compat`` is installed with the package)::

    hgq-compat convert model.h5 -o model.keras [--hgq] [--check-data check.npz]
    hgq-compat convert model.json model_weights.h5 -o model.keras
    hgq-compat synth model.keras -o hls4ml_prj [--check-data x.npy] [--n-random 10000]

``--hgq`` builds every fixed-point quantizer in HGQ mode (a trainable bitwidth per element)
initialised from the saved weights, so that its outputs equal the plain conversion: the
starting point for fine-tuning with `BetaScheduler` and `ParetoFront` (see ``hgq-compat demo``).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from hgq_compat import convert_qkeras_model, model_ebops  # noqa: E402
from hgq_compat.demo.pipeline import shipped_model_path  # noqa: E402
from hgq_compat.report import format_report, model_report  # noqa: E402


def shipped_check_data() -> dict[str, np.ndarray]:
    """The shipped model's test digits, labels and the logits QKeras 0.9.0 computed for them."""
    from hgq_compat.datasets import load_digits_split

    _, _, x_test, y_test = load_digits_split(0)
    logits = np.load(shipped_model_path().with_name("qkeras_digits_test_logits.npz"))["logits"]
    return {"x": x_test, "y": y_test, "logits": logits}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "model", nargs="?", default=None, help="QKeras .h5 / .json / .keras (default: the shipped digits model)"
    )
    parser.add_argument("weights", nargs="?", default=None, help="weights .h5 for a .json model")
    parser.add_argument("--data", default=None, help=".npz with x (inputs), optional y (labels), logits (QKeras)")
    parser.add_argument("--hgq", action="store_true", help="convert in HGQ mode (trainable per-element bits)")
    parser.add_argument("--quick", action="store_true", help="CI mode: 500 random C-sim inputs instead of 10,000")
    parser.add_argument("--out", default="examples_out/04_convert_and_synthesize", help="output folder")
    parser.add_argument("--no-synth", action="store_true", help="skip hls4ml")
    args = parser.parse_args(argv)

    t_start = time.perf_counter()
    path = Path(args.model) if args.model else shipped_model_path()
    if args.model is None:
        data = shipped_check_data()
    elif args.data:
        data = dict(np.load(args.data))
    else:
        data = {}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    # 1. convert: QKeras mode reproduces QKeras's numbers; --hgq also builds the HGQ-mode model
    plain = convert_qkeras_model(path, args.weights)
    model = convert_qkeras_model(path, args.weights, hgq=True) if args.hgq else plain
    model.save(out / "converted.keras")
    print(f"converted {path} ({'HGQ' if args.hgq else 'QKeras'} mode) -> {out / 'converted.keras'}\n")
    print(format_report(model_report(model)))

    # 2. check: the same outputs as QKeras (where its logits are known) and between the modes
    in_shape = tuple(model.inputs[0].shape[1:])
    x = data.get("x")
    x = np.random.default_rng(0).uniform(-2, 2, (1000, *in_shape)) if x is None else x
    x = np.asarray(x, dtype=np.float32)
    y_plain = np.asarray(plain.predict(x, verbose=0))
    y_model = np.asarray(model.predict(x, verbose=0))
    summary: dict = {
        "example": "04_convert_and_synthesize",
        "quick": args.quick,
        "model": str(path),
        "hgq": args.hgq,
        "n_checked": len(x),
        "ebops": model_ebops(model),
        "hgq_equals_plain": bool(np.array_equal(y_model, y_plain)) if args.hgq else None,
    }
    if "logits" in data:
        summary["max_logit_difference_vs_qkeras"] = float(np.max(np.abs(y_model - data["logits"])))
    if "y" in data:
        summary["accuracy"] = float(np.mean(np.argmax(y_model, -1) == data["y"]))
        if "logits" in data:
            summary["qkeras_accuracy"] = float(np.mean(np.argmax(data["logits"], -1) == data["y"]))
            summary["accuracy_equal"] = summary["accuracy"] == summary["qkeras_accuracy"]
    print("\n" + "\n".join(f"{k}: {v}" for k, v in summary.items() if k not in ("example", "quick", "model")))
    ok = summary.get("accuracy_equal", True) is not False and summary["hgq_equals_plain"] is not False

    # 3. hls4ml: project, C simulation, compared with Keras on the check inputs and random ones
    summary["mismatches"] = summary["exact"] = None
    if not args.no_synth:
        from hls4ml_plugin.synth import random_inputs, synthesize

        x_check = np.concatenate([x, random_inputs(in_shape, 500 if args.quick else 10_000)])
        synth = synthesize(model, out / "hls4ml_prj", backend="Vitis", check_data=x_check, force=True)
        print("\n" + synth.format())
        summary.update(
            mismatches=synth.mismatches, exact=synth.exact, checked_inputs=synth.n_inputs, status=synth.status_line()
        )
        ok = ok and synth.exact
    summary["ok"] = bool(ok)
    summary["total_seconds"] = time.perf_counter() - t_start
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(
        f"\nRESULT 04_convert_and_synthesize: ok={summary['ok']} accuracy={summary.get('accuracy')} "
        f"(QKeras {summary.get('qkeras_accuracy')}) ebops={summary['ebops']:.0f} mismatches={summary['mismatches']} "
        f"time={summary['total_seconds']:.0f}s summary={out / 'summary.json'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
