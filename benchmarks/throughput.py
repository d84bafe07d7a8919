#!/usr/bin/env python
"""Training throughput: hgq-compat (float / QKeras mode / HGQ mode) vs HGQ2 vs QKeras 0.9.0.

Usage::

    python benchmarks/throughput.py [--quick] [--backends tensorflow,jax] [--no-venvs] [--out FILE]

Every framework runs in a long-lived worker process (HGQ2 and QKeras in their own venvs, see
`venvs.py`); each worker builds and warms up its models, then waits. The orchestrator then
runs *rounds*: in each round every model trains for one timed epoch of ``steps`` batches,
one model at a time (the others sit idle), in an order that rotates from round to round.
Other load on a shared machine only ever adds time, so a model's figure is its best round
(samples/s = samples per epoch / fastest epoch) and ratios are ratios of best rounds; the
median over rounds of the per-round ratio and the CPU-time ratio are recorded too.

Data are synthetic (shapes of the real inputs, random labels): throughput does not depend on
the values. The models are in `models.py`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

MARK = "@@BENCH "
BATCH = {
    "jet_mlp": int(os.environ.get("BENCH_BATCH_MLP", 1024)),
    "digits_cnn": int(os.environ.get("BENCH_BATCH_CNN", 256)),
}

# worker name -> (python kind, build variant per result key). A key ending in "_xla" compiles with
# jit_compile=True; TensorFlow only (Keras compiles JAX with XLA by default, TensorFlow on CPU not).
WORKERS = {
    "hgq_compat": ("system", {"float": "float", "qkeras": "qkeras", "hgq": "hgq", "hgq_xla": "hgq"}),
    "hgq2": ("hgq2", {"float_hgq2venv": "float", "hgq2": "hgq2"}),
    "qkeras_legacy": ("qkeras", {"float_tfkeras": "float_tfkeras", "qkeras_legacy": "qkeras_legacy"}),
    # --baseline-src DIR: hgq_compat imported from DIR (e.g. an older checkout), for before/after
    "baseline": ("system", {"float_baseline": "float", "qkeras_baseline": "qkeras", "hgq_baseline": "hgq"}),
}


# ============================================================================ worker


def _send(obj: Any) -> None:
    sys.stdout.write(MARK + json.dumps(obj) + "\n")
    sys.stdout.flush()


def worker_keys(worker: str, backend: str) -> dict[str, str]:
    """Result key -> build variant of ``worker`` on ``backend``."""
    keys = WORKERS[worker][1]
    return {k: v for k, v in keys.items() if backend == "tensorflow" or not k.endswith("_xla")}


def worker_main(args: argparse.Namespace) -> int:
    import models
    import numpy as np

    legacy = args.worker == "qkeras_legacy"
    if legacy:
        import tf_keras as keras
    else:
        import keras
    keras.utils.set_random_seed(0)
    variants = worker_keys(args.worker, "tensorflow" if legacy else keras.backend.backend())
    built: dict[str, Any] = {}
    from common import package_versions

    info: dict[str, Any] = {
        "backend": "tensorflow" if legacy else keras.backend.backend(),
        "keras": keras.__version__,
        "python": sys.executable,
        "versions": package_versions(),
    }
    if args.worker in ("hgq_compat", "baseline"):
        import hgq_compat

        info["hgq_compat_path"] = str(Path(hgq_compat.__file__).parent)
    if args.worker == "hgq2":
        import hgq

        info["hgq2"] = getattr(hgq, "__version__", "?")
    if legacy:
        import qkeras

        info["qkeras"] = getattr(qkeras, "__version__", "?")
    data = {}
    for arch in args.archs.split(","):
        rng = np.random.default_rng(0)
        n = BATCH[arch] * args.steps
        x = rng.normal(size=(n,) + models.INPUT_SHAPES[arch]).astype("float32")
        if arch == "digits_cnn":
            x = np.abs(x) / 3.0
        y = rng.integers(0, models.N_CLASSES[arch], n).astype("int64")
        data[arch] = (x, y)
        for key, variant in variants.items():
            model = models.build(arch, variant, beta=1e-6)
            xla = {"jit_compile": True} if key.endswith("_xla") else {}
            model.compile(
                keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True), **xla
            )
            for _ in range(2):  # trace / compile, then one more warm epoch
                model.fit(x, y, batch_size=BATCH[arch], epochs=1, verbose=0, shuffle=False)
            built[f"{arch}/{key}"] = model
            info[f"{arch}/{key}"] = {
                "params": int(model.count_params()),
                "trainable_variables": len(model.trainable_weights),
            }
    _send({"ready": True, "info": info})
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd.get("cmd") != "time":
            break
        model = built[cmd["key"]]
        x, y = data[cmd["key"].split("/")[0]]
        c0, t0 = time.process_time(), time.perf_counter()
        model.fit(x, y, batch_size=BATCH[cmd["key"].split("/")[0]], epochs=1, verbose=0, shuffle=False)
        _send({"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0})
    return 0


# ============================================================================ orchestrator


class Worker:
    def __init__(self, name: str, python: Path, backend: str, archs: str, steps: int, src: str | None = None):
        from common import quiet_env
        from venvs import QKERAS_ENV

        env = quiet_env()
        env["KERAS_BACKEND"] = backend
        if name == "qkeras_legacy":
            env.update(QKERAS_ENV)
        env["PYTHONPATH"] = os.pathsep.join(
            [src or str(Path(__file__).resolve().parents[1]), env.get("PYTHONPATH", "")]
        )
        self.name, self.backend, self.python = name, backend, python
        self.proc = subprocess.Popen(
            [str(python), str(Path(__file__).resolve()), "--worker", name, "--archs", archs, "--steps", str(steps)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.info: dict[str, Any] = {}

    def read(self) -> dict:
        while True:
            line = self.proc.stdout.readline()
            if not line:
                err = self.proc.stderr.read()[-3000:]
                raise RuntimeError(f"worker {self.name}/{self.backend} exited: {err}")
            if line.startswith(MARK):
                return json.loads(line[len(MARK) :])

    def time(self, key: str) -> dict:
        self.proc.stdin.write(json.dumps({"cmd": "time", "key": key}) + "\n")
        self.proc.stdin.flush()
        return self.read()

    def close(self) -> None:
        try:
            self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


RATIOS = [
    # name, numerator key, denominator key, meaning
    ("hgq_speedup_vs_hgq2", "hgq2", "hgq", "HGQ2 time / HGQ-mode time (>= 1.2 wanted)"),
    ("hgq_overhead_vs_float", "hgq", "float", "HGQ-mode time / float Keras time (<= 1.5 wanted)"),
    ("hgq_xla_speedup", "hgq", "hgq_xla", "HGQ mode: default compile time / jit_compile=True time (XLA)"),
    ("hgq_xla_overhead_vs_float", "hgq_xla", "float", "HGQ mode with jit_compile=True / float Keras (default)"),
    ("qkeras_overhead_vs_float", "qkeras", "float", "QKeras-mode time / float Keras time"),
    ("hgq2_overhead_vs_float", "hgq2", "float_hgq2venv", "HGQ2 time / float Keras time (same venv)"),
    (
        "qkeras_mode_speedup_vs_qkeras090",
        "qkeras_legacy",
        "qkeras",
        "QKeras 0.9.0 (tf-keras) time / hgq-compat QKeras-mode time (>= 1.0 wanted)",
    ),
    (
        "qkeras090_overhead_vs_float_tfkeras",
        "qkeras_legacy",
        "float_tfkeras",
        "QKeras 0.9.0 time / float tf-keras time (same venv)",
    ),
    ("hgq_speedup_vs_baseline", "hgq_baseline", "hgq", "HGQ mode: baseline-source time / this source's time"),
    (
        "qkeras_speedup_vs_baseline",
        "qkeras_baseline",
        "qkeras",
        "QKeras mode: baseline-source time / this source's time",
    ),
    (
        "hgq_baseline_overhead_vs_float",
        "hgq_baseline",
        "float_baseline",
        "HGQ mode with the baseline source / float (same process)",
    ),
]


NORMALIZED = [
    # name, (framework, its float), (hgq-compat variant, its float), meaning
    (
        "hgq_speedup_vs_hgq2_normalized",
        ("hgq2", "float_hgq2venv"),
        ("hgq", "float"),
        "(HGQ2 / float, its venv) / (HGQ mode / float): float-normalized speed-up (>= 1.2 wanted)",
    ),
    (
        "hgq_xla_speedup_vs_hgq2_normalized",
        ("hgq2", "float_hgq2venv"),
        ("hgq_xla", "float"),
        "(HGQ2 / float, its venv) / (HGQ mode with jit_compile=True / float): as above, XLA on (TensorFlow)",
    ),
    (
        "qkeras_mode_speedup_vs_qkeras090_normalized",
        ("qkeras_legacy", "float_tfkeras"),
        ("qkeras", "float"),
        "(QKeras 0.9.0 / float tf-keras) / (QKeras mode / float Keras): float-normalized (>= 1.0 wanted)",
    ),
]


def run(
    backends: list[str],
    archs: list[str],
    rounds: int,
    steps: int,
    use_venvs: bool,
    offline: bool,
    baseline_src: str | None = None,
) -> dict:
    import venvs
    from common import machine, median, paired_ratio

    skipped: list[str] = []
    pythons = {"system": Path(sys.executable)}
    if use_venvs:
        pythons["hgq2"] = venvs.hgq2_python(offline)
        pythons["qkeras"] = venvs.qkeras_python(offline)
    else:
        skipped.append("HGQ2 and QKeras 0.9.0 venvs: not requested (--no-venvs)")
    workers: list[Worker] = []
    for backend in backends:
        for name, (kind, _) in WORKERS.items():
            if name == "qkeras_legacy" and backend != "tensorflow":
                continue
            if name == "baseline":
                if baseline_src:
                    print(f"[throughput] starting worker baseline ({backend}) from {baseline_src}", flush=True)
                    workers.append(Worker(name, pythons["system"], backend, ",".join(archs), steps, baseline_src))
                continue
            if kind not in pythons:
                continue  # --no-venvs: said once above
            py = pythons[kind]
            if py is None:
                raise venvs.VenvError(
                    f"{name} on {backend}: its venv is missing and --offline was given; run once "
                    "without --offline to create it, or pass --no-venvs"
                )
            print(f"[throughput] starting worker {name} ({backend})", flush=True)
            workers.append(Worker(name, py, backend, ",".join(archs), steps))
    ready = []
    for w in workers:
        try:
            w.info = w.read()["info"]
            ready.append(w)
        except RuntimeError as e:
            for other in workers:
                other.close()
            raise RuntimeError(
                f"benchmark worker {w.name} ({w.backend}, {w.python}) failed to start: {str(e)[-600:]}"
            ) from e
    jobs = [(w, f"{arch}/{key}") for w in ready for arch in archs for key in worker_keys(w.name, w.backend)]
    times: dict[tuple[str, str], dict[str, list[float]]] = {(w.backend, k): {"wall": [], "cpu": []} for w, k in jobs}
    print(f"[throughput] {len(jobs)} models, {rounds} rounds of {steps} steps each", flush=True)
    t_start = time.perf_counter()
    for r in range(rounds):
        order = jobs[r % len(jobs) :] + jobs[: r % len(jobs)] if jobs else []
        for w, key in order:
            t = w.time(key)
            times[(w.backend, key)]["wall"].append(t["wall"])
            times[(w.backend, key)]["cpu"].append(t["cpu"])
        print(f"[throughput] round {r + 1}/{rounds} done ({time.perf_counter() - t_start:.0f} s)", flush=True)
    for w in ready:
        w.close()

    results: dict[str, Any] = {}
    for (backend, key), t in times.items():
        arch, variant = key.split("/")
        n = BATCH[arch] * steps
        results.setdefault(backend, {}).setdefault(arch, {})[variant] = {
            "samples_per_s": n / min(t["wall"]),
            "samples_per_s_median": n / median(t["wall"]),
            "samples_per_s_cpu": n / min(t["cpu"]),
            "wall_s": t["wall"],
            "cpu_s": t["cpu"],
        }
    ratios: dict[str, Any] = {}
    for backend, per_arch in results.items():
        for arch, r in per_arch.items():
            for name, num, den, meaning in RATIOS:
                if num in r and den in r:
                    ratios.setdefault(backend, {}).setdefault(arch, {})[name] = {
                        "wall": min(r[num]["wall_s"]) / min(r[den]["wall_s"]),
                        "wall_paired_median": paired_ratio(r[num]["wall_s"], r[den]["wall_s"]),
                        "cpu": min(r[num]["cpu_s"]) / min(r[den]["cpu_s"]),
                        "meaning": meaning,
                    }
            # each framework against float Keras in its own process (cancels process-to-process noise)
            for name, (fw, fw_float), (us, us_float), meaning in NORMALIZED:
                if all(k in r for k in (fw, fw_float, us, us_float)):
                    ratios.setdefault(backend, {}).setdefault(arch, {})[name] = {
                        "wall": (min(r[fw]["wall_s"]) / min(r[fw_float]["wall_s"]))
                        / (min(r[us]["wall_s"]) / min(r[us_float]["wall_s"])),
                        "wall_paired_median": paired_ratio(r[fw]["wall_s"], r[fw_float]["wall_s"])
                        / paired_ratio(r[us]["wall_s"], r[us_float]["wall_s"]),
                        "cpu": (min(r[fw]["cpu_s"]) / min(r[fw_float]["cpu_s"]))
                        / (min(r[us]["cpu_s"]) / min(r[us_float]["cpu_s"])),
                        "meaning": meaning,
                    }
    return {
        "config": {
            "backends": backends,
            "archs": archs,
            "rounds": rounds,
            "steps": steps,
            "batch": BATCH,
            "baseline_src": baseline_src,
        },
        "machine": machine(),
        "workers": {f"{w.name}/{w.backend}": w.info for w in ready},
        "results": results,
        "ratios": ratios,
        "skipped": skipped,
    }


def print_summary(res: dict) -> None:
    for backend, per_arch in res["results"].items():
        for arch, r in per_arch.items():
            print(f"\n{backend} / {arch} (batch {BATCH[arch]}):")
            for variant, v in sorted(r.items(), key=lambda kv: -kv[1]["samples_per_s"]):
                print(f"  {variant:16s} {v['samples_per_s']:10.0f} samples/s")
            for name, v in res["ratios"].get(backend, {}).get(arch, {}).items():
                print(
                    f"  {name:38s} {v['wall']:.2f}  (median of paired rounds: {v['wall_paired_median']:.2f}, "
                    f"CPU time: {v['cpu']:.2f})"
                )
    for s in res["skipped"]:
        print(f"SKIPPED: {s}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer rounds and steps (about a minute per backend)")
    p.add_argument("--backends", default=None, help="comma list (default: tensorflow, plus jax if installed)")
    p.add_argument("--archs", default="jet_mlp,digits_cnn")
    p.add_argument("--rounds", type=int, default=None)
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--no-venvs", action="store_true", help="hgq-compat only: no HGQ2 / QKeras 0.9.0 venvs")
    p.add_argument("--offline", action="store_true", help="use existing venvs only, never pip install")
    p.add_argument("--out", default=None, help="JSON output file")
    p.add_argument(
        "--baseline-src",
        default=None,
        help="also time hgq_compat imported from this directory (e.g. an older `git archive`)",
    )
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        args.steps = args.steps or 32
        return worker_main(args)
    from common import write_json

    backends = args.backends.split(",") if args.backends else default_backends()
    rounds = args.rounds or (3 if args.quick else 15)
    steps = args.steps or (8 if args.quick else 16)
    res = run(backends, args.archs.split(","), rounds, steps, not args.no_venvs, args.offline, args.baseline_src)
    print_summary(res)
    if args.out:
        write_json(Path(args.out), res)
    return 0


def default_backends() -> list[str]:
    import importlib.util

    return ["tensorflow"] + (["jax"] if importlib.util.find_spec("jax") is not None else [])


if __name__ == "__main__":
    sys.exit(main())
