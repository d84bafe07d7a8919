"""Tiny HGQ models and data for the training-tool tests (seconds, not minutes)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from hgq_compat import QActivation, QDense, quantization_config


def tiny_model(mode: str = "hgq", beta: float = 0.0, hidden: int = 8, name: str = "tiny") -> keras.Model:
    """8 inputs -> QDense(hidden, relu) -> QDense(3) -> softmax. Only SAT quantizers (no range
    tracking), so EBOPs change only when weights or bitwidths do."""
    with quantization_config(mode=mode, beta=beta):
        return keras.Sequential(
            [
                keras.Input((8,)),
                QActivation("quantized_bits(6,0,keep_negative=False)", name="in_q"),
                QDense(
                    hidden,
                    kernel_quantizer="quantized_bits(6,0,alpha=1)",
                    bias_quantizer="quantized_bits(6,2,alpha=1)",
                    activation="relu",
                    name="d1",
                ),
                QDense(
                    3,
                    kernel_quantizer="quantized_bits(6,0,alpha=1)",
                    bias_quantizer="quantized_bits(6,2,alpha=1)",
                    name="d2",
                ),
                keras.layers.Activation("softmax", name="softmax"),
            ],
            name=name,
        )


def tiny_data(n: int = 96, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three linearly separable-ish classes in [0, 1)^8."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.uniform(0, 0.5, (n, 8)).astype("float32")
    x[np.arange(n), y] += 0.45
    return x, y.astype("int64")


@pytest.fixture
def data():
    return tiny_data()
