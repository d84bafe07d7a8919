"""QDenseBatchnorm (QKeras master's ``qkeras/qdense_batchnorm.py``; not in QKeras 0.9.0, so no
golden): checked against its defining formula with the quantizers applied by hand."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from hgq_compat import QDenseBatchnorm
from hgq_compat.bn_folding_utils import convert_folded_layer_to_unfolded, unfold_model
from hgq_compat.quantizers import quantized_bits
from tests.conftest import to_np


def test_qdense_batchnorm_computes_the_folded_formula():
    layer = QDenseBatchnorm(
        3,
        kernel_quantizer="quantized_bits(6,0,alpha=1)",
        bias_quantizer="quantized_bits(8,3,alpha=1)",
        activation="quantized_relu(6,2)",
    )
    layer.build((None, 4))
    rng = np.random.default_rng(0)
    kernel, bias = rng.normal(0, 0.5, (4, 3)), rng.normal(0, 0.5, 3)
    gamma, beta, mean, var = (
        rng.uniform(0.5, 2, 3),
        rng.normal(0, 0.3, 3),
        rng.normal(0, 0.3, 3),
        rng.uniform(0.3, 3, 3),
    )
    for v, value in (
        (layer.kernel, kernel),
        (layer.bias, bias),
        (layer.gamma, gamma),
        (layer.bn_beta, beta),
        (layer.moving_mean, mean),
        (layer.moving_variance, var),
    ):
        v.assign(value.astype(np.float32))
    x = rng.normal(0, 2, (64, 4)).astype(np.float32)
    inv = gamma.astype(np.float32) / np.sqrt(var.astype(np.float32) + np.float32(1e-3))
    qk = to_np(quantized_bits(6, 0, alpha=1)(inv * kernel.astype(np.float32)))
    qb = to_np(quantized_bits(8, 3, alpha=1)(inv * (bias - mean).astype(np.float32) + beta.astype(np.float32)))
    want = np.clip(np.round((x @ qk + qb) * 16) / 16, 0, 4 - 1 / 16)  # quantized_relu(6,2): step 1/16
    np.testing.assert_array_equal(to_np(layer(x, training=False)), want)
    # training: moving statistics follow the (biased) batch variance of x @ W + b, as a 2-D BatchNormalization
    y = x @ kernel.astype(np.float32) + bias.astype(np.float32)
    layer(x, training=True)
    np.testing.assert_allclose(to_np(layer.moving_mean), 0.99 * mean + 0.01 * y.mean(0), rtol=1e-5)
    np.testing.assert_allclose(to_np(layer.moving_variance), 0.99 * var + 0.01 * y.var(0), rtol=1e-5)
    # config round trip and unfolding
    clone = QDenseBatchnorm.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    dense = convert_folded_layer_to_unfolded(layer)  # QKeras: one layer, weights set by unfold_model
    assert type(dense).__name__ == "QDense" and dense.units == 3 and dense.use_bias
    inp = keras.Input((x.shape[1],))
    folded_model = keras.Model(inp, layer(inp))
    unfolded = unfold_model(folded_model)
    assert [type(lay).__name__ for lay in unfolded.layers[1:]] == ["QDense"]
    np.testing.assert_array_equal(to_np(unfolded(x, training=False)), to_np(folded_model(x, training=False)))


def test_qdense_batchnorm_refuses_other_axes():
    with pytest.raises(NotImplementedError, match=r"QDenseBatchnorm: axis=0; only the channel axis \(-1 or 1\)"):
        QDenseBatchnorm(3, axis=0)
