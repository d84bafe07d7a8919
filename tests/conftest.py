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


def to_np(x):
    if isinstance(x, keras.Variable):
        x = x.value
    return np.asarray(ops.convert_to_numpy(x))


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)
    yield
