"""Shared test helpers. Tests run under the backend in KERAS_BACKEND (CI runs TF and JAX)."""

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
        return [t.grad.numpy() for t in tensors]
    pytest.skip(f"no gradient helper for backend {backend}")


def to_np(x):
    return np.asarray(ops.convert_to_numpy(x))


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)
    yield
