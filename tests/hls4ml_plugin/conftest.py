"""Shared helpers of the hls4ml plugin tests: model builders, inputs and parallel compiles."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import keras
import numpy as np
import pytest

import hls4ml_plugin

BACKENDS = ("Vivado", "Vitis")
N_RANDOM = 10_000


def random_inputs(shape: tuple[int, ...], n: int = N_RANDOM, seed: int = 0) -> np.ndarray:
    """Inputs that hit every regime: small values near rounding ties, typical values and values
    far beyond the input quantizer's range (saturation)."""
    rng = np.random.default_rng(seed)
    scale = rng.choice([0.05, 1.0, 4.0, 50.0], size=(n,) + (1,) * len(shape))
    x = rng.normal(0.0, 1.0, (n,) + shape) * scale
    ties = np.round(rng.normal(0.0, 4.0, (n // 10,) + shape) * 32) / 32 + 1 / 64  # exact half steps
    x[: n // 10] = ties
    return x.astype(np.float32)


def compile_all(models: dict, tmp_path, workers: int = 2, backends: dict | None = None, **convert_kwargs) -> dict:
    """Convert every (name, backend) model, then compile the C simulations in parallel.

    Returns {(name, backend): (hls_model, compile_seconds)}. Conversion and writing stay in the
    calling thread; only g++ runs in the workers. ``backends``: {name: backends} (default: both
    for every model). ``convert_kwargs`` go to `hls4ml_plugin.convert`.
    """
    hls_models = {}
    for name, model in models.items():
        for backend in (backends or {}).get(name, BACKENDS):
            hm = hls4ml_plugin.convert(
                model, tmp_path / f"{name}_{backend}", backend=backend, compile=False, **convert_kwargs
            )
            hm.write()
            hls_models[(name, backend)] = hm

    def build(hm):
        t0 = time.perf_counter()
        hm._compile()
        return time.perf_counter() - t0

    with ThreadPoolExecutor(workers) as pool:
        times = list(pool.map(build, hls_models.values()))
    return {key: (hm, t) for (key, hm), t in zip(hls_models.items(), times)}


def assert_bit_exact(model: keras.Model, hls_model, x: np.ndarray, label: str) -> int:
    y_keras = np.asarray(model.predict(x, verbose=0, batch_size=2048))
    y_hls = np.asarray(hls_model.predict(np.ascontiguousarray(x))).reshape(y_keras.shape)
    mismatches = int(np.sum(y_keras != y_hls))
    print(
        f"{label}: {x.shape[0]} inputs, {y_keras.size} outputs, {mismatches} mismatches, "
        f"{np.count_nonzero(y_keras)} nonzero"
    )
    assert np.count_nonzero(y_keras) > y_keras.size // 10, f"{label}: degenerate model (outputs mostly zero)"
    assert np.array_equal(y_keras, y_hls), f"{label}: {mismatches} of {y_keras.size} outputs differ"
    return mismatches


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)
