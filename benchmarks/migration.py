#!/usr/bin/env python
"""The migration workflow as a benchmark: a trained uniform QKeras-mode model, fine-tuned in HGQ mode.

Usage::

    python benchmarks/migration.py [--datasets digits_mlp,digits_cnn,mnist1d,jet] [--seeds 0,1,2]
                                   [--jobs 2] [--quick] [--out DIR]

For each dataset and seed:

1. a grid of uniform QKeras-mode models, 2..8 bits (weights ``quantized_bits(b,0,alpha=1)``,
   activations ``quantized_relu(b,min(3,ceil(b/2)))``, input quantized at b bits, 8-bit biases) is
   trained; each keeps its epoch of best validation accuracy, and the best model of the grid is
   chosen on validation accuracy (ties: fewer EBOPs). This is what a QKeras user has today;
2. the chosen model goes to HGQ mode (`hgq_compat.training.to_hgq`: same outputs) and is fine-tuned
   with `fine_tune` at its **default settings** (relative beta range, cosine learning rate, Pareto
   front on validation accuracy and EBOPs), only the batch size and epochs set per dataset;
3. the cheapest Pareto checkpoint whose validation accuracy is at most 0.5 points below the
   uniform model's is chosen (`select_pareto_point(..., reference=...)`), as the demo does.

Test accuracy is read only to report. Per dataset: EBOPs reduction (uniform EBOPs / HGQ EBOPs) and
test-accuracy change (points), each seed and the mean and spread over seeds. Target: at least 5x
fewer EBOPs at equal test accuracy (mean change >= -0.5 points) on every dataset.

Tasks (`tasks.py`, no download): sklearn's 8x8 digits with an MLP (the demo's 64-64-32-10) and with a
conv net, MNIST-1D with a 1-D conv net, and a jet-tagging-like task generated offline (16 features,
5 classes) with the jet-tagger MLP. Each (task, seed) runs in its own process (``--jobs`` at a time),
seeded and deterministic.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tasks import NAMES, TASKS, build, load  # noqa: E402

EQUAL_ACC_POINTS = 0.5
REDUCTION_TARGET = 5.0
BITS = list(range(2, 9))
# per dataset: uniform-model epochs, batch size, fine-tuning epochs, learning rate of the uniform models
FULL = {
    "digits_mlp": {"uniform_epochs": 40, "batch": 32, "hgq_epochs": 150},
    "digits_cnn": {"uniform_epochs": 40, "batch": 32, "hgq_epochs": 150},
    "mnist1d": {"uniform_epochs": 40, "batch": 64, "hgq_epochs": 150},
    "jet": {"uniform_epochs": 30, "batch": 256, "hgq_epochs": 150},
}
QUICK = {
    "digits_mlp": {"uniform_epochs": 6, "batch": 32, "hgq_epochs": 8, "bits": [4, 8]},
    "digits_cnn": {"uniform_epochs": 4, "batch": 32, "hgq_epochs": 6, "bits": [4, 8]},
    "mnist1d": {"uniform_epochs": 4, "batch": 64, "hgq_epochs": 6, "bits": [4, 8]},
    "jet": {"uniform_epochs": 3, "batch": 256, "hgq_epochs": 4, "bits": [4, 8]},
}
UNIFORM_LR = 3e-3
# ============================================================================ one (dataset, seed)


def accuracy_of(model: Any, x: Any, y: Any) -> float:
    import numpy as np

    return float(np.mean(np.argmax(model.predict(x, verbose=0, batch_size=4096), -1) == y))


def train_uniform(dataset: str, bits: int, data: tuple, cfg: dict, seed: int) -> tuple[Any, dict]:
    """One uniform model, restored to its epoch of best validation accuracy (ties: the earlier)."""
    import keras

    from hgq_compat.training import enable_determinism, model_ebops

    enable_determinism(seed)
    x_tr, y_tr, x_val, y_val, x_te, y_te = data
    model = build(dataset, bits)
    model.compile(
        keras.optimizers.Adam(UNIFORM_LR),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    best: dict[str, Any] = {"val_accuracy": -1.0}

    class KeepBest(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if logs["val_accuracy"] > best["val_accuracy"]:
                best.update(epoch=epoch, val_accuracy=float(logs["val_accuracy"]), weights=self.model.get_weights())

    t0 = time.perf_counter()
    model.fit(
        x_tr,
        y_tr,
        epochs=cfg["uniform_epochs"],
        batch_size=cfg["batch"],
        validation_data=(x_val, y_val),
        verbose=0,
        callbacks=[KeepBest()],
    )
    model.set_weights(best.pop("weights"))
    record = {
        "bits": bits,
        "epoch": best["epoch"],
        "val_accuracy": accuracy_of(model, x_val, y_val),
        "test_accuracy": accuracy_of(model, x_te, y_te),
        "ebops": float(model_ebops(model)),
        "seconds": time.perf_counter() - t0,
    }
    return model, record


def run_one(
    dataset: str,
    seed: int,
    quick: bool,
    overrides: dict | None = None,
    cache: Path | None = None,
    models_dir: Path | None = None,
) -> dict:
    """The whole workflow for one dataset and seed; returns the JSON-able record.

    ``overrides``: `FineTuneSettings` fields to change (experiments; the benchmark uses the defaults).
    ``cache``: a folder where the uniform grid's models and records are kept and reused (experiments
    on the fine-tuning only; the benchmark trains everything). ``models_dir``: where the chosen
    uniform and HGQ models are saved (``{task}_{seed}_uniform.keras``, ``{task}_{seed}_hgq.keras``)."""
    import keras

    from hgq_compat.training import (
        FineTuneSettings,
        enable_determinism,
        fine_tune,
        model_ebops,
        select_pareto_point,
        to_hgq,
    )

    cfg = (QUICK if quick else FULL)[dataset]
    data = load(dataset)
    x_tr, y_tr, x_val, y_val, x_te, y_te = data
    uniform, models = [], {}
    stem = f"{dataset}_{seed}_{'quick' if quick else 'full'}"
    if cache is not None and (cache / f"{stem}.json").exists():
        uniform = json.loads((cache / f"{stem}.json").read_text())
        models = {r["bits"]: cache / f"{stem}_{r['bits']}.keras" for r in uniform}
    else:
        for bits in cfg.get("bits", BITS):
            models[bits], rec = train_uniform(dataset, bits, data, cfg, seed)
            uniform.append(rec)
            print(
                f"[migration] {dataset} seed {seed}: uniform {bits}-bit val {rec['val_accuracy']:.4f} test "
                f"{rec['test_accuracy']:.4f} EBOPs {rec['ebops']:,.0f}",
                flush=True,
            )
        if cache is not None:
            cache.mkdir(parents=True, exist_ok=True)
            for bits, model in models.items():
                model.save(cache / f"{stem}_{bits}.keras")
            (cache / f"{stem}.json").write_text(json.dumps(uniform))
    chosen = max(uniform, key=lambda r: (r["val_accuracy"], -r["ebops"]))
    enable_determinism(seed)
    uniform_model = models[chosen["bits"]]
    if isinstance(uniform_model, Path):
        uniform_model = keras.saving.load_model(uniform_model, compile=False)
    hgq = to_hgq(uniform_model)
    settings = FineTuneSettings(epochs=cfg["hgq_epochs"], batch_size=cfg["batch"], seed=seed, **(overrides or {}))
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        result = fine_tune(hgq, x_tr, y_tr, (x_val, y_val), Path(tmp) / "checkpoints", settings)
        point = select_pareto_point(result.front, tolerance=EQUAL_ACC_POINTS / 100, reference=chosen["val_accuracy"])
        best_model = keras.saving.load_model(point["path"], compile=False)
        if models_dir is not None:
            models_dir.mkdir(parents=True, exist_ok=True)
            best_model.save(models_dir / f"{dataset}_{seed}_hgq.keras")
            uniform_model.save(models_dir / f"{dataset}_{seed}_uniform.keras")
        hgq_rec = {
            "epoch": point["epoch"],
            "val_accuracy": accuracy_of(best_model, x_val, y_val),
            "test_accuracy": accuracy_of(best_model, x_te, y_te),
            "ebops": float(model_ebops(best_model)),
            "front": [{k: v for k, v in r.items() if k != "path"} for r in result.front],
            "beta": list(result.beta),
            "seconds": time.perf_counter() - t0,
        }
    out = {
        "dataset": dataset,
        "seed": seed,
        "config": cfg,
        "uniform": uniform,
        "chosen_uniform_bits": chosen["bits"],
        "hgq": hgq_rec,
        "ebops_reduction": chosen["ebops"] / hgq_rec["ebops"] if hgq_rec["ebops"] else float("inf"),
        "test_accuracy_change_points": 100 * (hgq_rec["test_accuracy"] - chosen["test_accuracy"]),
        "fine_tune_settings": result.settings,
    }
    print(
        f"[migration] {dataset} seed {seed}: best uniform {chosen['bits']}-bit test {chosen['test_accuracy']:.4f} at "
        f"{chosen['ebops']:,.0f} EBOPs -> HGQ test {hgq_rec['test_accuracy']:.4f} at {hgq_rec['ebops']:,.0f} EBOPs: "
        f"{out['ebops_reduction']:.1f}x, {out['test_accuracy_change_points']:+.2f} points",
        flush=True,
    )
    return out


# ============================================================================ summary


def summarize(runs: list[dict]) -> dict:
    """Per dataset: the seeds' reductions and accuracy changes, their mean and spread, target met or not."""
    import numpy as np

    out = {}
    for dataset in dict.fromkeys(r["dataset"] for r in runs):
        rs = sorted((r for r in runs if r["dataset"] == dataset), key=lambda r: r["seed"])
        red = [r["ebops_reduction"] for r in rs]
        acc = [r["test_accuracy_change_points"] for r in rs]
        out[dataset] = {
            "seeds": [r["seed"] for r in rs],
            "reduction": red,
            "accuracy_change_points": acc,
            "uniform_bits": [r["chosen_uniform_bits"] for r in rs],
            "reduction_mean": float(np.mean(red)),
            "reduction_min": float(np.min(red)),
            "reduction_max": float(np.max(red)),
            "accuracy_change_mean": float(np.mean(acc)),
            "accuracy_change_std": float(np.std(acc)),
            "target_met": bool(np.mean(red) >= REDUCTION_TARGET and np.mean(acc) >= -EQUAL_ACC_POINTS),
        }
    return out


def markdown(summary: dict) -> str:
    lines = [
        "| task | best uniform (bits per seed) | EBOPs reduction per seed | mean | test-accuracy change per seed "
        "(points) | mean | target (>= 5x, >= -0.5 points) |",
        "|---|---|---|---:|---|---:|---|",
    ]
    for dataset, s in summary.items():
        lines.append(
            f"| {NAMES.get(dataset, dataset)} | {' / '.join(map(str, s['uniform_bits']))} | "
            f"{' / '.join(f'{v:.1f}x' for v in s['reduction'])} | {s['reduction_mean']:.1f}x | "
            f"{' / '.join(f'{v:+.2f}' for v in s['accuracy_change_points'])} | {s['accuracy_change_mean']:+.2f} | "
            f"{'met' if s['target_met'] else '**not met**'} |"
        )
    return "\n".join(lines) + "\n"


# ============================================================================ main


def parse_overrides(text: str) -> dict:
    """``key=value,...`` into `FineTuneSettings` fields (integers stay integers)."""
    from hgq_compat.training import FineTuneSettings

    defaults, out = FineTuneSettings(), {}
    for item in filter(None, text.split(",")):
        key, _, value = item.partition("=")
        if not hasattr(defaults, key):
            raise SystemExit(f"--set: {key!r} is not a FineTuneSettings field; fields: {', '.join(vars(defaults))}")
        out[key] = int(value) if isinstance(getattr(defaults, key), int) else float(value)
    return out


def _worker(dataset: str, seed: int, quick: bool, part: Path, extra: list[str]) -> dict:
    """Run one (task, seed) in a fresh process (its own seeded, deterministic backend)."""
    from common import quiet_env

    cmd = [sys.executable, __file__, "--one", f"{dataset}:{seed}", "--part", str(part), *extra]
    cmd += ["--quick"] if quick else []
    proc = subprocess.run(cmd, env=quiet_env(), capture_output=True, text=True)
    sys.stdout.write(proc.stdout)
    if proc.returncode != 0:
        raise RuntimeError(
            f"migration benchmark {dataset} seed {seed} failed:\n{proc.stdout[-2000:]}{proc.stderr[-4000:]}"
        )
    return json.loads(part.read_text())


def run(
    tasks: list[str] | None,
    seeds: list[int],
    jobs: int = 2,
    quick: bool = False,
    models_dir: Path | None = None,
    extra: list[str] = (),
) -> dict:
    """Every (task, seed), ``jobs`` processes at a time; returns {"summary", "runs", "seconds"}."""
    tasks = list(tasks or TASKS)
    for t in tasks:
        if t not in TASKS:
            raise ValueError(f"task {t!r} is not accepted; accepted values: {', '.join(TASKS)}")
    extra = list(extra) + (["--models", str(models_dir)] if models_dir is not None else [])
    t0 = time.perf_counter()
    pairs = [(t, s) for t in tasks for s in seeds]
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max(1, jobs)) as pool:
        futures = [pool.submit(_worker, t, s, quick, Path(tmp) / f"{t}_{s}.json", extra) for t, s in pairs]
        runs = [f.result() for f in futures]
    return {
        "config": {"tasks": tasks, "seeds": seeds, "quick": quick, "settings": (QUICK if quick else FULL)},
        "summary": summarize(runs),
        "runs": runs,
        "seconds": time.perf_counter() - t0,
    }


def trained_models(res: dict, models_dir: Path, seed: int) -> list[tuple[str, Path, str]]:
    """(label, model file, task) of the chosen uniform and HGQ models of one seed, for synthesis."""
    out = []
    for r in res["runs"]:
        if r["seed"] == seed:
            t = r["dataset"]
            out.append(
                (
                    f"{t} seed {seed}: HGQ fine-tuned (epoch {r['hgq']['epoch']})",
                    models_dir / f"{t}_{seed}_hgq.keras",
                    t,
                )
            )
            out.append(
                (
                    f"{t} seed {seed}: best uniform, {r['chosen_uniform_bits']} bits",
                    models_dir / f"{t}_{seed}_uniform.keras",
                    t,
                )
            )
    return out


def describe(res: dict) -> str:
    """How the numbers were made, from the run's own configuration."""
    from hgq_compat.training import FineTuneSettings

    d = FineTuneSettings()
    cfg = res["config"]["settings"]
    per_task = "; ".join(
        f"{NAMES[t]}: uniform {c['uniform_epochs']} epochs, fine-tuning {c['hgq_epochs']} epochs, batch {c['batch']}"
        for t, c in cfg.items()
        if t in res["config"]["tasks"]
    )
    return (
        f"Seeds {', '.join(map(str, res['config']['seeds']))}. Uniform QKeras-mode grid "
        f"{min(BITS)}..{max(BITS)} bits (Adam {UNIFORM_LR:g}; each model at its epoch of best validation accuracy; "
        "the best of the grid chosen on validation accuracy), then `to_hgq` + `fine_tune` at its defaults "
        f"(beta x starting EBOPs from {d.ebops_loss_start:g} to {d.ebops_loss_end:g} loss units, log schedule over "
        f"{100 * d.ramp_fraction:.0f}% of the epochs; Adam {d.learning_rate:g} decaying by a cosine), and the cheapest "
        f"Pareto checkpoint within {EQUAL_ACC_POINTS} points of the uniform model's validation accuracy. {per_task}. "
        "Test accuracy is only read to report."
    )


def details(res: dict) -> str:
    """Per task and seed: the uniform grid (test accuracy, EBOPs) and the chosen HGQ point."""
    lines = [
        "| task | seed | " + " | ".join(f"{b}-bit" for b in BITS) + " | HGQ (epoch) |",
        "|---|---:|" + "---:|" * (len(BITS) + 1),
    ]
    for r in res["runs"]:
        by_bits = {u["bits"]: u for u in r["uniform"]}
        cells = []
        for b in BITS:
            u = by_bits.get(b)
            mark = "**" if u and b == r["chosen_uniform_bits"] else ""
            cells.append(f"{mark}{100 * u['test_accuracy']:.1f}% / {u['ebops']:,.0f}{mark}" if u else "-")
        h = r["hgq"]
        lines.append(
            f"| {r['dataset']} | {r['seed']} | "
            + " | ".join(cells)
            + f" | {100 * h['test_accuracy']:.1f}% / {h['ebops']:,.0f} ({h['epoch'] + 1}) |"
        )
    return (
        "Test accuracy / EBOPs of every uniform model (bold: chosen on validation) and of the chosen HGQ point:\n\n"
        + "\n".join(lines)
        + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--datasets", default=",".join(TASKS), help="tasks (tasks.py)")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--jobs", type=int, default=2, help="(dataset, seed) processes at a time")
    p.add_argument("--quick", action="store_true", help="a few epochs, two bitwidths (a smoke run)")
    p.add_argument("--out", default=None, help="directory for migration.json and migration.md")
    p.add_argument(
        "--set",
        default="",
        help="experiments: FineTuneSettings fields to override, e.g. ebops_loss_end=5,ramp_fraction=0.7",
    )
    p.add_argument("--reuse-uniform", default=None, help="experiments: folder to keep and reuse the uniform grid in")
    p.add_argument("--models", help=argparse.SUPPRESS)
    p.add_argument("--one", help=argparse.SUPPRESS)
    p.add_argument("--part", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    from common import machine, write_json

    if args.one:
        dataset, seed = args.one.split(":")
        overrides = parse_overrides(args.set)
        cache = Path(args.reuse_uniform) if args.reuse_uniform else None
        models_dir = Path(args.models) if args.models else None
        write_json(Path(args.part), run_one(dataset, int(seed), args.quick, overrides, cache, models_dir))
        return 0
    extra = (["--set", args.set] if args.set else []) + (
        ["--reuse-uniform", args.reuse_uniform] if args.reuse_uniform else []
    )
    try:
        res = run(args.datasets.split(","), [int(v) for v in args.seeds.split(",")], args.jobs, args.quick, None, extra)
    except ValueError as e:
        p.error(str(e))
    res["overrides"] = args.set
    res["reused_uniform"] = bool(args.reuse_uniform)
    print(markdown(res["summary"]))
    if args.out:
        out = Path(args.out)
        write_json(
            out / "migration.json", {"machine": machine(), "argv": argv if argv is not None else sys.argv[1:], **res}
        )
        from hgq_compat._atomic import write_text_atomic

        write_text_atomic(out / "migration.md", markdown(res["summary"]) + "\n" + details(res))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.exit(main())
