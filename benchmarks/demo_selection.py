#!/usr/bin/env python
"""How well does a checkpoint-selection rule protect test accuracy in the demo's HGQ fine-tuning?

Runs the demo's fine-tuning (`hgq_compat.demo.pipeline`: the shipped QKeras digits model converted
to HGQ mode, log beta schedule) for several seeds, recording every epoch's validation accuracy and
loss, test accuracy and EBOPs (the test set is only read here, never by a rule). Then applies each
selection rule to the epochs on the (validation accuracy, EBOPs) Pareto front and prints, per seed,
the EBOPs reduction and the test-accuracy change of the chosen epoch, plus the best any rule could
do (the cheapest epoch within 0.5 test points). Results go to ``--out`` (JSON).

    python benchmarks/demo_selection.py --seeds 0,1,2 --epochs 150   # the demo's defaults
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def train(seed: int, epochs: int) -> dict:
    """The demo's fine-tuning (`hgq_compat.training.fine_tune` with the demo's settings) for one seed,
    evaluating every epoch."""
    import tempfile

    import keras

    from hgq_compat.datasets import load_digits_split
    from hgq_compat.demo.pipeline import N_VAL, DemoSettings, shipped_model_path
    from hgq_compat.legacy.converter import convert_qkeras_model
    from hgq_compat.training import enable_determinism, fine_tune, model_ebops

    s = DemoSettings(epochs=epochs, seed=seed)
    enable_determinism(seed)
    x_train, y_train, x_test, y_test = load_digits_split(0)
    x_val, y_val, x_fit, y_fit = x_train[:N_VAL], y_train[:N_VAL], x_train[N_VAL:], y_train[N_VAL:]
    original = convert_qkeras_model(shipped_model_path())

    def evaluate(model: keras.Model) -> dict:
        logits = model.predict(np.concatenate([x_val, x_test]), verbose=0, batch_size=2048)
        lv, lt = logits[: len(x_val)], logits[len(x_val) :]
        loss = keras.ops.convert_to_numpy(keras.losses.sparse_categorical_crossentropy(y_val, lv, from_logits=True))
        return {
            "val": float(np.mean(lv.argmax(-1) == y_val)),
            "val_loss": float(np.mean(loss)),
            "test": float(np.mean(lt.argmax(-1) == y_test)),
            "ebops": float(model_ebops(model)),
        }

    base = evaluate(original)
    model = convert_qkeras_model(shipped_model_path(), hgq=True)
    records: list[dict] = []

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            records.append({"epoch": epoch, **evaluate(self.model)})

    with tempfile.TemporaryDirectory() as tmp:
        fine_tune(model, x_fit, y_fit, (x_val, y_val), tmp, s.fine_tune_settings(), callbacks=[Record()])
    return {"seed": seed, "base": base, "records": records}


def front(records: list[dict]) -> list[dict]:
    """Epochs not dominated in (validation accuracy up, EBOPs down), as ParetoFront keeps them."""
    from hgq_compat.training import pareto_front

    return [records[i] for i in sorted(pareto_front([(r["val"], r["ebops"]) for r in records], sides=(1, -1)))]


def smoothed(records: list[dict], key: str, half_width: int) -> list[float]:
    v = np.array([r[key] for r in records])
    return [float(v[max(0, i - half_width) : i + half_width + 1].mean()) for i in range(len(v))]


def rules() -> dict:
    """Selection rules: (records, base) -> the chosen record; each sees validation numbers only."""

    def cheapest(ok: list[dict], records: list[dict]) -> dict:
        return min(ok, key=lambda r: (r["ebops"], r["epoch"])) if ok else max(front(records), key=lambda r: r["val"])

    def demo_rule(records, base):  # hgq_compat.demo: within 0.5 point of the original's validation accuracy
        return cheapest([r for r in front(records) if r["val"] >= base["val"] - 0.005 - 1e-12], records)

    def with_loss(records, base):  # ... and validation loss no worse than the original's
        return cheapest(
            [
                r
                for r in front(records)
                if r["val"] >= base["val"] - 0.005 - 1e-12 and r["val_loss"] <= base["val_loss"]
            ],
            records,
        )

    def smooth(half_width):  # the epoch and its neighbours (mean) both within 0.5 point
        def rule(records, base):
            sm = smoothed(records, "val", half_width)
            by_epoch = {r["epoch"]: s for r, s in zip(records, sm)}
            return cheapest(
                [
                    r
                    for r in front(records)
                    if r["val"] >= base["val"] - 0.005 - 1e-12 and by_epoch[r["epoch"]] >= base["val"] - 0.005 - 1e-12
                ],
                records,
            )

        return rule

    return {
        "demo (val within 0.5 pt)": demo_rule,
        "val + val loss": with_loss,
        "val and +-2-epoch mean": smooth(2),
        "val and +-5-epoch mean": smooth(5),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--epochs", type=int, default=150)
    p.add_argument("--out", default=None, help="JSON file for the per-epoch records (default: not written)")
    args = p.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from common import machine, write_json

    runs = [train(int(s), args.epochs) for s in args.seeds.split(",")]
    print(
        f"{args.epochs} epochs (cosine learning rate); per seed: EBOPs "
        "reduction and test-accuracy change (points) of the chosen epoch"
    )
    table = {}
    for name, rule in rules().items():
        cells = []
        for run in runs:
            c = rule(run["records"], run["base"])
            cells.append((run["base"]["ebops"] / c["ebops"], 100 * (c["test"] - run["base"]["test"]), c["epoch"] + 1))
        table[name] = cells
        print(
            f"  {name:28s} "
            + "   ".join(f"{x:5.1f}x {y:+.2f} (epoch {e})" for x, y, e in cells)
            + f"   mean {np.mean([x for x, _, _ in cells]):.1f}x {np.mean([y for _, y, _ in cells]):+.2f}"
        )
    best = []
    for run in runs:
        ok = [r for r in run["records"] if r["test"] >= run["base"]["test"] - 0.005]
        c = min(ok, key=lambda r: r["ebops"]) if ok else run["records"][0]
        best.append((run["base"]["ebops"] / c["ebops"], c["epoch"] + 1))
    print(f"  {'best possible (reads test)':28s} " + "   ".join(f"{x:5.1f}x (epoch {e})" for x, e in best))
    if args.out:
        write_json(
            Path(args.out),
            {"machine": machine(), "argv": argv or sys.argv[1:], "runs": runs, "rules": table, "best_possible": best},
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
