"""Seeded, deterministic training on every backend: the same command gives the same numbers on any
machine with the same library versions."""

from __future__ import annotations

import keras


def enable_determinism(seed: int) -> None:
    """Seed Python, NumPy and the backend (``keras.utils.set_random_seed``) and turn on the backend's
    deterministic kernels: ``tf.config.experimental.enable_op_determinism`` on TensorFlow,
    ``torch.use_deterministic_algorithms`` on PyTorch (JAX on CPU is deterministic already).

    Raises:
        ValueError: ``seed`` is not an integer >= 0.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"enable_determinism: seed={seed!r} is not accepted; accepted values: an integer >= 0")
    keras.utils.set_random_seed(seed)
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    elif backend == "torch":
        import torch

        torch.use_deterministic_algorithms(True)


__all__ = ["enable_determinism"]
