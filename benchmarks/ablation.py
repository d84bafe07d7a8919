#!/usr/bin/env python
"""Where HGQ-mode training time goes: the throughput models with parts of HGQ mode switched off.

Usage::

    python benchmarks/ablation.py [--backend tensorflow] [--rounds 15] [--out FILE.md]

One process, one backend; every variant is built and warmed up, then timed in interleaved
rounds (one epoch of 16 batches each, best round kept, as `throughput.py` does). Variants:

- ``float``: plain Keras;
- ``hgq``: HGQ mode as benchmarked (trainable per-element bitwidths, EBOPs in the loss);
- ``hgq, bitwidths frozen``: no bitwidth is trained (no gradient, no optimizer update for them):
  the most that any faster optimizer update of the bitwidth variables could save;
- ``hgq, activation bitwidths frozen``: only the weight quantizers' bitwidths train;
- ``hgq, no EBOPs term``: the EBOPs loss is not computed;
- ``hgq, jit_compile=True``: the training step compiled by XLA (TensorFlow; JAX always compiles).

Prints (and writes with ``--out``) each variant's time per step and its ratio to HGQ mode.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

BATCH = {"jet_mlp": 1024, "digits_cnn": 256}
STEPS = 16
VARIANTS = {
    "float": "float Keras",
    "hgq": "HGQ mode",
    "frozen": "HGQ mode, bitwidths frozen",
    "frozen_act": "HGQ mode, activation bitwidths frozen",
    "no_ebops": "HGQ mode, no EBOPs term",
    "xla": "HGQ mode, jit_compile=True",
}


def _build(arch: str, variant: str) -> Any:
    import keras
    import models

    from hgq_compat.core.quantizer import FixedPointQuantizer
    from hgq_compat.layers import base

    if variant == "float":
        model = models.build(arch, "float")
    else:
        model = models.build(arch, "hgq", beta=1e-6)
    for layer in model._flatten_layers():
        if isinstance(layer, FixedPointQuantizer) and (
            variant == "frozen" or (variant == "frozen_act" and not layer.is_weight)
        ):
            layer.i.trainable = False
            layer.f.trainable = False
    if variant == "no_ebops":
        for layer in model._flatten_layers():
            if isinstance(layer, base.QuantizedLayerMixin):
                layer.has_ebops = False  # an instance attribute: `_add_ebops_loss` skips the layer
    model.compile(
        keras.optimizers.Adam(1e-3),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=True if variant == "xla" else "auto",
    )
    return model


def run(backend: str, rounds: int) -> dict:
    import keras
    import models
    import numpy as np
    from common import machine

    if keras.backend.backend() != backend:
        raise RuntimeError(f"KERAS_BACKEND is {keras.backend.backend()!r}, not {backend!r}")
    variants = [v for v in VARIANTS if not (v == "xla" and backend != "tensorflow")]
    results: dict[str, Any] = {}
    for arch in BATCH:
        rng = np.random.default_rng(0)
        n = BATCH[arch] * STEPS
        x = rng.normal(size=(n,) + models.INPUT_SHAPES[arch]).astype("float32")
        if arch == "digits_cnn":
            x = np.abs(x) / 3.0
        y = rng.integers(0, models.N_CLASSES[arch], n).astype("int64")
        built = {}
        for v in variants:
            keras.utils.set_random_seed(0)
            built[v] = _build(arch, v)
            for _ in range(2):
                built[v].fit(x, y, batch_size=BATCH[arch], epochs=1, verbose=0, shuffle=False)
        best = {v: float("inf") for v in variants}
        for r in range(rounds):
            order = variants[r % len(variants) :] + variants[: r % len(variants)]
            for v in order:
                t = time.perf_counter()
                built[v].fit(x, y, batch_size=BATCH[arch], epochs=1, verbose=0, shuffle=False)
                best[v] = min(best[v], time.perf_counter() - t)
        results[arch] = {v: {"ms_per_step": 1000 * best[v] / STEPS, "vs_hgq": best[v] / best["hgq"]} for v in variants}
    return {"backend": backend, "rounds": rounds, "batch": BATCH, "machine": machine(), "results": results}


def markdown(res: dict) -> str:
    archs = list(res["results"])
    m = res["machine"]
    lines = [
        f"### {res['backend']}",
        "",
        f"Best of {res['rounds']} interleaved rounds of {STEPS} steps (batch "
        + ", ".join(f"{b} for {a}" for a, b in res["batch"].items())
        + f"); {m.get('cpu', '?')}, {m.get('cpu_count')} cores; hgq-compat commit {m.get('git_commit', '?')}.",
        "",
        "| variant | " + " | ".join(f"{a}: ms/step | {a}: / HGQ mode" for a in archs) + " |",
        "|---|" + "---:|---:|" * len(archs),
    ]
    for v, name in VARIANTS.items():
        if v not in res["results"][archs[0]]:
            continue
        cells = [f"{res['results'][a][v]['ms_per_step']:.2f} | {res['results'][a][v]['vs_hgq']:.2f}" for a in archs]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", default=os.environ.get("KERAS_BACKEND", "tensorflow"))
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--out", default=None, help="markdown file to write (atomically)")
    args = p.parse_args(argv)
    os.environ["KERAS_BACKEND"] = args.backend
    res = run(args.backend, args.rounds)
    text = markdown(res)
    print(text)
    if args.out:
        out = Path(args.out)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
