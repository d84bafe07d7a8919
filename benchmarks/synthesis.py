#!/usr/bin/env python
"""hls4ml conversion, C-simulation compile time and bit-exactness of the benchmark models.

Usage::

    python benchmarks/synthesis.py [--quick] [--out DIR]

Each model goes through ``hls4ml_plugin.convert(model, dir, backend='Vitis', compile=True)``
(io_parallel). Conversion (Keras -> hls4ml IR + writing the project) and compilation (g++ of
the C simulation) are timed separately; then ``hls_model.predict`` is compared with
``model.predict`` output by output, on test inputs plus random inputs that hit rounding ties
and saturation. A mismatch is any output that differs at all (no tolerance).

Models: the throughput architectures (`models.py`) in QKeras mode and, after a short HGQ
training on synthetic data so that their bitwidths are heterogeneous, in HGQ mode; plus, in
``run_all.py``, the models `migration.py` saved (per task: the best uniform model and the chosen
HGQ fine-tuned one), checked on their task's test set.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

N_RANDOM = 2000


def random_inputs(shape: tuple, n: int = N_RANDOM, seed: int = 0):
    """Typical values, exact half steps (rounding ties) and values far beyond the input range."""
    import numpy as np

    rng = np.random.default_rng(seed)
    scale = rng.choice([0.05, 1.0, 4.0, 50.0], size=(n,) + (1,) * len(shape))
    x = rng.normal(0.0, 1.0, (n,) + tuple(shape)) * scale
    x[: n // 10] = np.round(rng.normal(0.0, 4.0, (n // 10,) + tuple(shape)) * 32) / 32 + 1 / 64
    return x.astype(np.float32)


def synth_model(model, x, out_dir: Path, label: str, backend: str = "Vitis") -> dict:
    """Convert, compile and compare; returns timings and the mismatch count."""
    import numpy as np

    import hls4ml_plugin
    from hgq_compat.training import model_ebops

    t0 = time.perf_counter()
    hls_model = hls4ml_plugin.convert(model, str(out_dir), backend=backend, compile=False)
    hls_model.write()
    t1 = time.perf_counter()
    hls_model._compile()
    t2 = time.perf_counter()
    x = np.ascontiguousarray(x, dtype=np.float32)
    y_keras = np.asarray(model.predict(x, verbose=0, batch_size=2048))
    y_hls = np.asarray(hls_model.predict(x)).reshape(y_keras.shape)
    mismatches = int(np.sum(y_keras != y_hls))
    res = {
        "model": label,
        "backend": backend,
        "convert_s": t1 - t0,
        "compile_s": t2 - t1,
        "inputs": int(len(x)),
        "outputs": int(y_keras.size),
        "mismatches": mismatches,
        "nonzero_outputs": int(np.count_nonzero(y_keras)),
        "ebops": float(model_ebops(model)),
        "params": int(model.count_params()),
    }
    print(
        f"[synthesis] {label}: convert {res['convert_s']:.1f} s, compile {res['compile_s']:.1f} s, "
        f"{mismatches} mismatches in {res['outputs']} outputs",
        flush=True,
    )
    return res


def train_hgq_briefly(arch: str, epochs: int = 3, seed: int = 0):
    """An HGQ-mode benchmark model trained a little on a synthetic task (Gaussian class
    clusters), so that its per-element bitwidths differ; returns (model, test inputs)."""
    import keras
    import models
    import numpy as np

    from hgq_compat.training import BetaScheduler, LogSchedule, jitter_bitwidths

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    shape, n_cls = models.INPUT_SHAPES[arch], models.N_CLASSES[arch]
    centers = rng.normal(0, 1, (n_cls,) + shape)
    y = rng.integers(0, n_cls, 4096)
    x = (centers[y] + rng.normal(0, 0.7, (4096,) + shape)).astype(np.float32)
    if arch == "digits_cnn":
        x = np.clip(np.abs(x) / 3, 0, 0.9375).astype(np.float32)
    model = models.build(arch, "hgq", beta=1e-7)
    jitter_bitwidths(model, seed=seed)
    model.compile(keras.optimizers.Adam(3e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(
        x[:3584],
        y[:3584],
        batch_size=64,
        epochs=epochs,
        verbose=0,
        callbacks=[BetaScheduler(LogSchedule([(0, 1e-7), (max(1, epochs - 1), 1e-5)]))],
    )
    return model, x[3584:]


def run(quick: bool, trained: list[tuple[str, Path, str]] = (), workdir: Path | None = None) -> dict:
    """Synthesize the throughput models and the ``trained`` ones ((label, .keras file, task))."""
    import models

    tmp = Path(tempfile.mkdtemp(prefix="hgq_compat_synth_")) if workdir is None else workdir
    rows: list[dict] = []
    try:
        jobs: list[tuple[str, Any, Any]] = []
        archs = ["jet_mlp"] if quick else list(models.ARCHS)
        for arch in archs:
            model, x_test = train_hgq_briefly(arch, epochs=1 if quick else 3)
            jobs.append((f"{arch} (HGQ mode, trained on synthetic data)", model, x_test))
            if not quick:
                jobs.append((f"{arch} (QKeras mode, 8-bit, untrained)", models.build(arch, "qkeras"), x_test))
        for label, path, task in trained:
            import keras
            import tasks

            jobs.append((label, keras.saving.load_model(path, compile=False), tasks.load(task)[4]))
        for n, (label, model, x_test) in enumerate(jobs):
            import numpy as np

            x = np.concatenate([x_test[:2000], random_inputs(tuple(model.input_shape[1:]), 500 if quick else N_RANDOM)])
            rows.append(synth_model(model, x, tmp / f"m{n}", label))
    finally:
        if workdir is None:
            shutil.rmtree(tmp, ignore_errors=True)
    return {"models": rows, "total_mismatches": int(sum(r["mismatches"] for r in rows))}


def main(argv: list[str] | None = None) -> int:
    from common import machine, write_json

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", default=None, help="directory for synthesis.json")
    args = p.parse_args(argv)
    res = run(args.quick)
    print(f"total mismatches: {res['total_mismatches']}")
    if args.out:
        write_json(Path(args.out) / "synthesis.json", {"machine": machine(), **res})
    return 0 if res["total_mismatches"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
