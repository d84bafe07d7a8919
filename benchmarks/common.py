"""Helpers shared by the benchmark scripts: machine description, JSON output, statistics."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpu_count": os.cpu_count(),
    }
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as fh:
            info["memory_gib"] = round(int(fh.readline().split()[1]) / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    try:
        info["load_average"] = [round(v, 2) for v in os.getloadavg()]
    except OSError:
        pass
    info["versions"] = package_versions()
    try:
        git = lambda *a: subprocess.run(
            ["git", *a],
            cwd=REPO,
            capture_output=True,
            text=True,  # noqa: E731
            timeout=10,
        ).stdout.strip()
        info["git_commit"] = git("rev-parse", "HEAD")
        info["git_dirty"] = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.TimeoutExpired):
        pass
    return info


PACKAGES = (
    "hgq-compat",
    "keras",
    "tensorflow",
    "tensorflow-cpu",
    "tf-keras",
    "jax",
    "jaxlib",
    "torch",
    "numpy",
    "hls4ml",
    "hgq2",
    "qkeras",
    "h5py",
)


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """Installed distribution versions of the packages a result depends on (absent ones left out)."""
    from importlib import metadata

    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def paired_ratio(num: list[float], den: list[float]) -> float:
    """Median over rounds of num[r] / den[r] (both measured in the same round)."""
    return median([a / b for a, b in zip(num, den)])


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=_default))
    os.replace(tmp, path)


def _default(o: Any) -> Any:
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:
        pass
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serializable: {type(o)}")


def quiet_env(env: dict | None = None) -> dict:
    """Environment for child processes: less TensorFlow logging."""
    e = dict(os.environ if env is None else env)
    e.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    e.setdefault("PYTHONWARNINGS", "ignore")
    return e
