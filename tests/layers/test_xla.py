"""Quantized layers compiled with XLA (``model.compile(jit_compile=True)``, the default on JAX):
the compiled forward pass gives the eager outputs bit for bit, and HGQ-mode training runs."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import hgq_compat as hq


def _model(mode: str, beta: float = 0.0) -> keras.Model:
    with hq.quantization_config(mode=mode, beta=beta):
        return keras.Sequential(
            [
                keras.Input((8, 8, 1)),
                hq.QActivation("quantized_bits(8,2,alpha=1)"),
                hq.QConv2D(
                    4,
                    3,
                    kernel_quantizer="quantized_bits(6,0,alpha=1)",
                    bias_quantizer="quantized_bits(8,2,alpha=1)",
                    activation="quantized_relu(6,2)",
                ),
                keras.layers.Flatten(),
                hq.QDense(
                    5, kernel_quantizer="quantized_bits(6,0,alpha=1)", bias_quantizer="quantized_bits(8,2,alpha=1)"
                ),
            ]
        )


@pytest.mark.parametrize("mode", ["qkeras", "hgq"])
def test_xla_forward_is_exact(mode):
    keras.utils.set_random_seed(3)
    model = _model(mode)
    x = np.random.default_rng(3).normal(scale=2.0, size=(64, 8, 8, 1)).astype("float32")
    x[0, 0, 0, 0] = 1e6  # saturates
    x[1, 1, 1, 0] = 0.0625 * 3 + 2**-12  # next to a rounding step
    eager = keras.ops.convert_to_numpy(model(x, training=False))
    model.compile(loss="mse", jit_compile=True)
    compiled = model.predict(x, batch_size=64, verbose=0)
    assert np.isfinite(eager).all()
    np.testing.assert_array_equal(compiled, eager)


def test_xla_hgq_training_lowers_ebops():
    keras.utils.set_random_seed(4)
    model = _model("hgq", beta=1e-3)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(256, 8, 8, 1)).astype("float32")
    y = rng.integers(0, 5, 256)
    before = float(hq.training.model_ebops(model))
    model.compile(
        keras.optimizers.Adam(0.05),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=keras.backend.backend() != "torch",
    )
    history = model.fit(x, y, batch_size=64, epochs=4, verbose=0)
    after = float(hq.training.model_ebops(model))
    assert np.isfinite(history.history["loss"]).all()
    assert after < 0.8 * before  # beta = 1e-3 per EBOP outweighs the data loss on random labels
