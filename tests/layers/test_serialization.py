"""`.keras` round trips are bit-exact, with no custom_objects."""

import os

import keras
import numpy as np
import pytest

import hgq_compat as hq
from tests.conftest import to_np


def _model(mode):
    with hq.quantization_config(mode=mode, beta=1e-5, granularity="per-element"):
        inp = keras.Input((6, 6, 1))
        x = hq.QActivation("quantized_bits(8,2)")(inp)
        x = hq.QConv2D(
            3,
            (3, 3),
            kernel_quantizer="quantized_bits(6,0)",
            bias_quantizer="quantized_bits(6,2,alpha=1)",
            activation="quantized_relu(6,2)",
        )(x)
        x = keras.layers.Flatten()(x)
        x = hq.QDense(
            4, kernel_quantizer=hq.quantized_bits(5, 0, alpha=1), bias_quantizer="quantized_bits(6,2,alpha=1)"
        )(x)
        x = hq.QActivation(hq.quantized_relu(4, 1))(x)
        c = hq.QConv1D(2, 2, kernel_quantizer="quantized_bits(4,0,alpha=1)")(keras.layers.Reshape((4, 1))(x))
        out = keras.layers.Flatten()(c)
        return keras.Model(inp, out)


@pytest.mark.parametrize("mode", ["qkeras", "hgq"])
def test_keras_round_trip_is_exact(mode, tmp_path):
    model = _model(mode)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6, 6, 1)).astype(np.float32)
    if mode == "hgq":  # move the bitwidths away from their initial values first
        model.compile(keras.optimizers.Adam(0.05), "mse")
        model.fit(x, rng.normal(size=(64, 6)).astype(np.float32), epochs=2, verbose=0)
    path = os.path.join(tmp_path, "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(to_np(loaded(x)), to_np(model(x)))
    for a, b in zip(model.weights, loaded.weights):
        assert a.path == b.path
        np.testing.assert_array_equal(to_np(a), to_np(b))
    assert hq.model_ebops(loaded) == hq.model_ebops(model)
    if mode == "hgq":
        f = to_np(model.layers[2].kernel_quantizer_internal.f)
        assert not np.all(f == np.round(f)), "training should have moved the bitwidths"
