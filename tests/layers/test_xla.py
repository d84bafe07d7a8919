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


def _recurrent_configs() -> dict:
    q = "quantized_bits(6,0,alpha=1)"
    common = dict(kernel_quantizer=q, recurrent_quantizer=q, bias_quantizer=q, state_quantizer=q)
    return {
        "lstm": (hq.QLSTM, (5, 3), dict(units=4, **common)),
        "gru": (hq.QGRU, (5, 3), dict(units=4, **common)),
        "simple_rnn": (hq.QSimpleRNN, (5, 3), dict(units=4, activation="quantized_tanh(6)", **common)),
    }


def _xla_configs() -> dict:
    from tests.layers.test_extra_layers import CONFIGS

    configs = dict(CONFIGS)
    configs.update(_recurrent_configs())
    configs["stochastic_activation"] = (
        hq.QActivation,
        (6,),
        dict(activation="quantized_bits(6,2,alpha=1,use_stochastic_rounding=True)"),
    )
    return configs


@pytest.mark.skipif(keras.backend.backend() == "torch", reason="Keras has no XLA compilation on PyTorch")
@pytest.mark.parametrize("key", sorted(_xla_configs()))
def test_xla_every_layer_trains_and_predicts(key):
    """Each layer family in a model compiled with jit_compile=True: one epoch of training runs
    and the compiled prediction is the eager call's up to float round-off (the float Dense and the
    layers' unquantized sums may accumulate in another order under XLA)."""
    cls, shape, kwargs = _xla_configs()[key]
    keras.utils.set_random_seed(5)
    with hq.quantization_config(mode="hgq", beta=1e-6):  # HGQ mode runs every op of QKeras mode and more
        model = keras.Sequential([keras.Input(shape), cls(**kwargs), keras.layers.Flatten(), keras.layers.Dense(3)])
    rng = np.random.default_rng(5)
    x = rng.normal(size=(32, *shape)).astype("float32")
    y = rng.integers(0, 3, 32)
    model.compile(
        keras.optimizers.Adam(1e-3),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=True,
    )
    history = model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    np.testing.assert_allclose(
        model.predict(x, batch_size=32, verbose=0),
        keras.ops.convert_to_numpy(model(x, training=False)),
        rtol=1e-5,
        atol=1e-6,
    )
