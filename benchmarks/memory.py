#!/usr/bin/env python
"""Peak memory of training: HGQ mode vs float Keras vs QKeras mode vs HGQ2, side by side.

Usage::

    python benchmarks/memory.py [--batches 1024,8192] [--no-venvs] [--offline] [--out DIR]

Every (framework, model, batch size) runs in a fresh process: build the model (`models.py`) and
the data, compile, reset the process's peak resident memory (``/proc/self/clear_refs``), note the
resident memory, train two epochs of ``--steps`` batches (the first traces the step) and read the
peak (``VmHWM``). The figure is the peak's rise over the memory before training: what training
needs (tracing included), without the framework's import and the data; the process's whole peak
is reported beside it. Ratios are HGQ mode / float Keras of the same
process type (target <= 2), and HGQ mode / HGQ2 (HGQ2 in its own venv, see `venvs.py`).
Linux only (reads ``/proc``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

MARK = "@@memory@@"
VARIANTS = {"system": ("float", "qkeras", "hgq"), "hgq2": ("hgq2",)}
TARGET_HGQ_VS_FLOAT = 2.0


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def worker(arch: str, variant: str, batch: int, steps: int) -> dict:
    """Measure one model in this process (called in a fresh process)."""
    import keras
    import models
    import numpy as np

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    n = batch * steps
    x = rng.normal(size=(n,) + models.INPUT_SHAPES[arch]).astype("float32")
    y = rng.integers(0, models.N_CLASSES[arch], n).astype("int64")
    model = models.build(arch, variant, beta=1e-6)
    model.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # reset VmHWM to the current resident size
    before = _status_kib("VmRSS")
    model.fit(x, y, batch_size=batch, epochs=2, verbose=0, shuffle=False)  # tracing included
    peak = _status_kib("VmHWM")
    return {
        "rss_before_mib": before / 1024,
        "peak_mib": peak / 1024,
        "training_mib": (peak - before) / 1024,
        "backend": keras.backend.backend(),
    }


def measure(python: str, arch: str, variant: str, batch: int, steps: int) -> dict:
    from common import quiet_env

    proc = subprocess.run(
        [python, __file__, "--worker", f"{arch}:{variant}:{batch}:{steps}"],
        env=quiet_env(),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(MARK)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"memory worker {variant} {arch} batch {batch} failed:\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][len(MARK) :])


def run(batches: list[int], steps: int, venvs_on: bool, offline: bool, archs: list[str] | None = None) -> dict:
    import models

    pythons: dict[str, str] = {"system": sys.executable}
    if venvs_on:
        import venvs

        py = venvs.hgq2_python(offline)
        if py is None:
            raise venvs.VenvError("HGQ2 venv: missing and --offline given; run once without --offline")
        pythons["hgq2"] = str(py)
    results: dict[str, Any] = {}
    for arch in archs or models.ARCHS:
        for batch in batches:
            row = {}
            for venv, variants in VARIANTS.items():
                if venv not in pythons:
                    continue
                for variant in variants:
                    row[variant] = measure(pythons[venv], arch, variant, batch, steps)
                    print(
                        f"[memory] {arch} batch {batch} {variant}: training {row[variant]['training_mib']:.1f} MiB "
                        f"(peak {row[variant]['peak_mib']:.0f} MiB)",
                        flush=True,
                    )
            ratios = {"hgq_vs_float": row["hgq"]["training_mib"] / row["float"]["training_mib"]}
            ratios["qkeras_vs_float"] = row["qkeras"]["training_mib"] / row["float"]["training_mib"]
            if "hgq2" in row:
                ratios["hgq_vs_hgq2"] = row["hgq"]["training_mib"] / row["hgq2"]["training_mib"]
            results[f"{arch}/{batch}"] = {"arch": arch, "batch": batch, "results": row, "ratios": ratios}
    return {"config": {"batches": batches, "steps": steps, "venvs": venvs_on}, "results": results}


def markdown(res: dict) -> str:
    lines = [
        "MiB of training (the peak's rise over the memory before training; in brackets the process's whole peak)",
        "",
        "| model | batch | float Keras | QKeras mode | HGQ mode | HGQ2 | HGQ / float (<= 2 wanted) | HGQ / HGQ2 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in res["results"].values():
        v = r["results"]
        cell = lambda k: f"{v[k]['training_mib']:.1f} ({v[k]['peak_mib']:.0f})" if k in v else "-"  # noqa: E731
        hgq2 = f"{r['ratios']['hgq_vs_hgq2']:.2f}" if "hgq_vs_hgq2" in r["ratios"] else "-"
        lines.append(
            f"| {r['arch']} | {r['batch']} | {cell('float')} | {cell('qkeras')} | {cell('hgq')} | {cell('hgq2')} | "
            f"{r['ratios']['hgq_vs_float']:.2f} | {hgq2} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--batches", default="1024,8192")
    p.add_argument("--steps", type=int, default=8, help="batches in the measured epoch")
    p.add_argument("--no-venvs", action="store_true", help="hgq-compat only (no HGQ2 venv)")
    p.add_argument("--offline", action="store_true", help="never pip install (existing venvs only)")
    p.add_argument("--out", default=None, help="directory for memory.json")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        arch, variant, batch, steps = args.worker.split(":")
        print(MARK + json.dumps(worker(arch, variant, int(batch), int(steps))), flush=True)
        return 0
    from common import machine, write_json

    res = run([int(b) for b in args.batches.split(",")], args.steps, not args.no_venvs, args.offline)
    res["machine"] = machine()
    print(markdown(res))
    if args.out:
        write_json(Path(args.out) / "memory.json", res)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.exit(main())
