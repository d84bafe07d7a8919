"""Private virtual environments for the frameworks that cannot share hgq-compat's environment.

- HGQ2 (``pip install hgq2``) ships its own top-level ``qkeras`` package, so it gets a venv of
  its own, isolated from the system site-packages, with Keras, TensorFlow, JAX and NumPy pinned
  to the versions of the running environment (`running_pins`): both sides of a comparison run
  the same framework versions, and nothing relies on what the system Python happens to have.
- QKeras 0.9.0 needs TensorFlow 2.19 with tf-keras (Keras 2): the venv made by
  ``tests/fixtures/make_qkeras_goldens.py`` (same pins, same path) is reused or created.
- MNIST-1D (``pip install mnist1d``, Apache-2.0) is generated locally by its ``make_dataset``;
  when the current interpreter cannot import it, a small venv gets it.

A venv that cannot be made (no network, a pin that does not install) raises `VenvError`, naming
the venv and the pip error: a comparison that cannot run fails loudly. With ``offline=True``
(``--offline``/``--quick``) a missing venv is not created and None is returned; the caller decides
whether that is an error.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

CACHE = Path(os.environ.get("HGQ_COMPAT_BENCH_CACHE", Path.home() / ".cache" / "hgq-compat"))
REPO = Path(__file__).resolve().parents[1]
HGQ2_PINS = ["hgq2==0.2.0"]
MNIST1D_PINS = ["mnist1d==0.0.2.post1"]
FRAMEWORKS = ("keras", "tensorflow", "tensorflow-cpu", "jax", "jaxlib", "numpy", "h5py")


class VenvError(RuntimeError):
    """A benchmark venv could not be created; the message names it and says why."""


def running_pins(names: tuple[str, ...] = FRAMEWORKS) -> list[str]:
    """``name==version`` of each of ``names`` installed here (the running environment)."""
    from importlib import metadata

    pins = []
    for name in names:
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return pins


STAMP = ".hgq_compat_bench.json"
PIP_TIMEOUT_S = 1800


def log(msg: str) -> None:
    print(f"[venv] {msg}", flush=True)


def python_of(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv(
    venv: Path, pins: list[str], system_site_packages: bool, label: str, stamp_name: str = STAMP, offline: bool = False
) -> Path | None:
    """Create (or reuse) ``venv`` with ``pins`` installed; its python, or None if impossible."""
    py = python_of(venv)
    stamp = venv / stamp_name
    want = {"pins": pins}
    try:
        have = json.loads(stamp.read_text()) if stamp.exists() else None
    except (OSError, ValueError):
        have = None
    if py.exists() and have == want:
        return py
    if offline:
        log(f"SKIPPED {label}: venv {venv} missing and --offline given")
        return None
    try:
        if not py.exists():
            log(f"creating {label} venv at {venv}")
            venv.parent.mkdir(parents=True, exist_ok=True)
            cmd = [sys.executable, "-m", "venv", str(venv)]
            if system_site_packages:
                cmd.insert(3, "--system-site-packages")
            subprocess.run(cmd, check=True, timeout=300)
        log(f"installing {' '.join(pins)} into {venv}")
        subprocess.run(
            [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", *pins],
            check=True,
            timeout=PIP_TIMEOUT_S,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as e:
        raise VenvError(
            f"could not create the {label} venv {venv} with {' '.join(pins)} "
            f"({type(e).__name__}: {e}); no network access? (--no-venvs runs hgq-compat alone)"
        ) from e
    tmp = stamp.with_suffix(".tmp")
    tmp.write_text(json.dumps(want))
    os.replace(tmp, stamp)
    return py


def hgq2_python(offline: bool = False) -> Path | None:
    """Python of the HGQ2 venv: hgq2 with this environment's Keras/TensorFlow/JAX/NumPy versions."""
    return ensure_venv(CACHE / "bench-hgq2-venv-isolated", HGQ2_PINS + running_pins(), False, "HGQ2", offline=offline)


def _goldens_module():
    path = REPO / "tests" / "fixtures" / "make_qkeras_goldens.py"
    spec = importlib.util.spec_from_file_location("_make_qkeras_goldens", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def qkeras_python(offline: bool = False) -> Path | None:
    """Python of QKeras 0.9.0's legacy venv, the one the golden-file script makes (same pins)."""
    g = _goldens_module()
    venv = Path(g.DEFAULT_VENV)
    py = python_of(venv)
    stamp = venv / g.STAMP_NAME
    try:
        if py.exists() and json.loads(stamp.read_text()) == {"pins": g.PINS}:
            return py
    except (OSError, ValueError):
        pass
    return ensure_venv(venv, list(g.PINS), False, "QKeras 0.9.0", stamp_name=g.STAMP_NAME, offline=offline)


def mnist1d_python(offline: bool = False) -> Path | None:
    """A python that can import mnist1d: this one if it can, else a small venv."""
    if importlib.util.find_spec("mnist1d") is not None:
        return Path(sys.executable)
    return ensure_venv(
        CACHE / "bench-mnist1d-venv-isolated",
        MNIST1D_PINS + running_pins(("numpy",)),
        False,
        "MNIST-1D",
        offline=offline,
    )


QKERAS_ENV = {"TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
