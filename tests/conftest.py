"""Shared test helpers. Tests run under the backend in KERAS_BACKEND (CI runs TF, JAX and torch)."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from keras import ops  # noqa: E402


def grad(fn, *values):
    """Gradients of the scalar ``fn(*tensors)`` w.r.t. each value, on the active backend."""
    backend = keras.backend.backend()
    arrays = [np.asarray(v, dtype=np.float32) for v in values]
    if backend == "tensorflow":
        import tensorflow as tf

        tensors = [tf.Variable(a) for a in arrays]
        with tf.GradientTape() as tape:
            out = fn(*tensors)
        return [np.asarray(g) for g in tape.gradient(out, tensors)]
    if backend == "jax":
        import jax

        gs = jax.grad(lambda *a: fn(*a), argnums=tuple(range(len(arrays))))(*arrays)
        return [np.asarray(g) for g in gs]
    if backend == "torch":
        import torch

        tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
        fn(*tensors).backward()
        return [t.grad.detach().numpy() for t in tensors]
    pytest.skip(f"no gradient helper for backend {backend}")


def variable_grads(fn, variables):
    """Gradients of the scalar ``fn()`` w.r.t. the Keras ``variables`` (zeros where unused), on the active
    backend. Other variables ``fn`` reads keep their values."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            out = fn()
        gs = tape.gradient(out, [v.value for v in variables])
    elif backend == "jax":
        import jax

        def f(values):
            with keras.StatelessScope(state_mapping=list(zip(variables, values))):
                return fn()

        gs = jax.grad(f)([v.value for v in variables])
    elif backend == "torch":
        for v in variables:
            v.value.grad = None
        fn().backward()
        gs = [v.value.grad for v in variables]
    else:
        pytest.skip(f"no gradient helper for backend {backend}")
    return [np.zeros(v.shape, np.float32) if g is None else to_np(g) for g, v in zip(gs, variables)]


ULP_DIFFERENCES: dict[str, dict[str, str]] = {
    "jax": {
        "float_scale": (
            "alpha='auto' on JAX: XLA computes the float scale (max * 2 / range) through the reciprocal, 1 ulp "
            "from TensorFlow's, which can move an element across a rounding or clip boundary (a whole step, so "
            "outputs and gradients are not compared there; alpha='auto' is QKeras mode only and refused by the "
            "exact hls4ml export)"
        ),
        "average": (
            "average pooling on JAX: XLA on CPU divides a float32 sum by a constant as a multiplication by its "
            "reciprocal, 1 ulp from TensorFlow's division (before QKeras' `* area * Q(1/area)`)"
        ),
    },
}
"""{backend: {kind of result: why it may be 1 ulp from the goldens (TensorFlow's float32)}}; every other
backend and kind is compared bit for bit. Documented in migration_guide/features.md ('JAX float behaviour')."""


def ulp_reason(kind: str, backend: str | None = None) -> str | None:
    """Why a ``kind`` result ('float_scale', 'average') on ``backend`` (default: the active one) may differ
    from the goldens by 1 ulp, or None where it must be equal bit for bit."""
    if not any(kind in kinds for kinds in ULP_DIFFERENCES.values()):
        raise KeyError(
            f"unknown kind {kind!r}; known: {sorted({k for kinds in ULP_DIFFERENCES.values() for k in kinds})}"
        )
    return ULP_DIFFERENCES.get(backend or keras.backend.backend(), {}).get(kind)


def assert_equal_or_ulp(actual, expected, kind: str, err_msg: str = "") -> None:
    """float32 ``actual == expected`` bit for bit, or within 1 ulp where `ulp_reason` gives a reason for
    the active backend."""
    actual, expected = np.asarray(actual, np.float32), np.asarray(expected, np.float32)
    reason = ulp_reason(kind)
    if reason is None:
        np.testing.assert_array_equal(actual, expected, err_msg=err_msg)
    else:
        try:
            np.testing.assert_array_max_ulp(actual, expected, maxulp=1, dtype=np.float32)
        except AssertionError as exc:
            raise AssertionError(f"{err_msg} more than 1 ulp apart, although {reason}: {exc}") from None


def to_np(x):
    if isinstance(x, keras.Variable):
        x = x.value
    return np.asarray(ops.convert_to_numpy(x))


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)
    yield
