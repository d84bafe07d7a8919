"""QDense, QConv1D, QConv2D and QActivation: QKeras numbers, HGQ mode, config scopes, bad input."""

import keras
import numpy as np
import pytest

import hgq_compat as hq
from tests.conftest import to_np


def np_quantized_bits(x, bits, integer, keep_negative=True, symmetric=False):
    """QKeras 0.9.0's formula, written independently with numpy (half-to-even rounding)."""
    k = int(keep_negative)
    m = 2.0 ** (bits - k)
    mi = 2.0**integer
    return mi * np.clip(np.round(x * m / mi), k * (symmetric - m), m - 1) / m


def np_quantized_relu(x, bits, integer):
    m, mi = 2.0**bits, 2.0**integer
    return mi * np.clip(np.round(x * m / mi) / m, 0, 1 - 1 / m)


def test_qdense_matches_qkeras_formula():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 6)).astype(np.float32)
    layer = hq.QDense(
        4,
        kernel_quantizer=hq.quantized_bits(4, 0, alpha=1),
        bias_quantizer="quantized_bits(6,2,alpha=1)",
        activation="quantized_relu(5,2)",
    )
    layer.build((None, 6))
    kernel = rng.normal(scale=0.6, size=(6, 4)).astype(np.float32)
    bias = rng.normal(size=(4,)).astype(np.float32)
    layer.set_weights([kernel, bias])
    y = to_np(layer(x))
    ref = np_quantized_relu(x @ np_quantized_bits(kernel, 4, 0) + np_quantized_bits(bias, 6, 2), 5, 2)
    np.testing.assert_allclose(y, ref, rtol=1e-6, atol=0)
    # outputs sit on the quantized_relu(5,2) grid
    np.testing.assert_array_equal(y * 8, np.round(y * 8))


def test_alpha_none_kernel_becomes_auto_po2_like_qkeras():
    layer = hq.QDense(2, kernel_quantizer="quantized_bits(4,2)")
    assert layer.get_config()["kernel_quantizer"]["config"]["alpha"] == "auto_po2"
    assert str(layer.kernel_quantizer) == "quantized_bits(4,2,1,alpha='auto_po2')"
    # bias quantizers are left alone
    layer = hq.QDense(2, bias_quantizer="quantized_bits(4,2)")
    assert layer.get_config()["bias_quantizer"]["config"]["alpha"] is None


def test_auto_po2_reference_vector_through_qdense():
    x = np.array([[0.23, 2.76, 0.1, 0.33], [0.53, 0.16, 0.3, 1.43]], np.float32)
    layer = hq.QDense(4, kernel_quantizer="quantized_bits(4,2)", use_bias=False)
    layer.build((None, 2))
    layer.set_weights([x])
    np.testing.assert_array_equal(
        to_np(layer.quantized_weight("kernel")), [[0.25, 3, 0.09375, 0.25], [0.4375, 0, 0.21875, 1.5]]
    )


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_qconv2d_matches_float_conv_of_quantized_weights(padding):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 6, 6, 2)).astype(np.float32)
    layer = hq.QConv2D(
        3,
        (3, 3),
        padding=padding,
        kernel_quantizer="quantized_bits(5,0,alpha=1)",
        bias_quantizer="quantized_bits(5,0,alpha=1)",
    )
    layer.build((None, 6, 6, 2))
    kernel = rng.normal(scale=0.3, size=(3, 3, 2, 3)).astype(np.float32)
    bias = rng.normal(scale=0.3, size=(3,)).astype(np.float32)
    layer.set_weights([kernel, bias])
    ref_layer = keras.layers.Conv2D(3, (3, 3), padding=padding)
    ref_layer.build((None, 6, 6, 2))
    ref_layer.set_weights(
        [np_quantized_bits(kernel, 5, 0).astype(np.float32), np_quantized_bits(bias, 5, 0).astype(np.float32)]
    )
    np.testing.assert_allclose(to_np(layer(x)), to_np(ref_layer(x)), rtol=1e-6, atol=1e-6)


def test_qconv1d_with_activation_quantizer():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 10, 3)).astype(np.float32)
    layer = hq.QConv1D(4, 3, kernel_quantizer=hq.quantized_bits(6, 0, alpha=1), activation=hq.quantized_relu(4, 1))
    layer.build((None, 10, 3))
    kernel = rng.normal(scale=0.4, size=(3, 3, 4)).astype(np.float32)
    layer.set_weights([kernel, np.zeros(4, np.float32)])
    ref = keras.layers.Conv1D(4, 3)
    ref.build((None, 10, 3))
    ref.set_weights([np_quantized_bits(kernel, 6, 0).astype(np.float32), np.zeros(4, np.float32)])
    np.testing.assert_allclose(to_np(layer(x)), np_quantized_relu(to_np(ref(x)), 4, 1), rtol=1e-6, atol=1e-6)


def test_qactivation_forms():
    x = np.array([[-3, 0, 2.5625, 3.3671875, 1.5625, 1.046875, 0.054688]], np.float32)
    expected = [[0, 0, 2.5625, 3.375, 1.5625, 1.0625, 0.0625]]
    np.testing.assert_array_equal(to_np(hq.QActivation("quantized_relu(6,2)")(x)), expected)
    np.testing.assert_array_equal(to_np(hq.QActivation(hq.quantized_relu(6, 2))(x)), expected)
    np.testing.assert_array_equal(to_np(hq.QActivation("relu")(x)), np.maximum(x, 0))
    assert isinstance(hq.QActivation("quantized_relu").quantizer, hq.quantized_relu)


def _mlp(**kw):
    return keras.Sequential(
        [
            keras.Input((8,)),
            hq.QActivation("quantized_bits(6,2)", **kw),
            hq.QDense(
                6,
                kernel_quantizer="quantized_bits(4,0)",
                bias_quantizer="quantized_bits(6,2,alpha=1)",
                activation="quantized_relu(6,2)",
                **kw,
            ),
            hq.QDense(3, kernel_quantizer="quantized_bits(5,0,alpha=1)", **kw),
        ]
    )


def test_hgq_mode_starts_at_qkeras_numbers():
    x = np.random.default_rng(3).normal(size=(256, 8)).astype(np.float32) * 2
    ref = _mlp()
    hgq = _mlp(mode="hgq")
    for a, b in zip(ref.layers, hgq.layers):
        n = len(a.weights)
        for va, vb in zip(a.weights, b.weights[:n]):
            vb.assign(va)
        if hasattr(b, "reinitialize_bitwidths"):
            b.reinitialize_bitwidths()
    np.testing.assert_array_equal(to_np(hgq(x)), to_np(ref(x)))
    kq = hgq.layers[1].kernel_quantizer_internal
    assert kq.f.trainable and tuple(kq.f.shape) == (8, 6)  # per-element, trainable
    assert hgq.layers[1].output_quantizer.f.trainable


def test_config_scope_and_per_layer_override():
    with hq.quantization_config(mode="hgq", granularity="per-channel", beta=2e-5):
        a = hq.QDense(3, kernel_quantizer="quantized_bits(4,0,alpha=1)")
        b = hq.QDense(3, kernel_quantizer="quantized_bits(4,0,alpha=1)", mode="qkeras")
        with hq.quantization_config(beta=1e-3):
            c = hq.QDense(3, kernel_quantizer="quantized_bits(4,0,alpha=1)")
    d = hq.QDense(3, kernel_quantizer="quantized_bits(4,0,alpha=1)")
    for layer in (a, b, c, d):
        layer.build((None, 4))
    assert a.mode == "hgq" and tuple(a.kernel_quantizer_internal.f.shape) == (1, 3)
    assert float(to_np(a.beta)) == pytest.approx(2e-5)
    assert b.mode == "qkeras" and not b.get_weights()[2:]
    assert float(to_np(c.beta)) == pytest.approx(1e-3) and c.mode == "hgq"
    assert d.mode == "qkeras"
    assert a.get_config()["granularity"] == "per-channel"


def test_set_beta_for_whole_model():
    model = _mlp(mode="hgq")
    hq.set_beta(model, 3e-4)
    assert all(float(to_np(l.beta)) == pytest.approx(3e-4) for l in model.layers if hasattr(l, "beta"))
    with pytest.raises(ValueError, match="beta=-1"):
        hq.set_beta(model, -1)


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: hq.QDense(3, kernel_quantizer="quantized_bits(4,0"), ["quantized_bits(4,0", "expected"]),
        (
            lambda: hq.QDense(3, kernel_quantizer="quantised_bits(4,0)"),
            ["unknown quantizer 'quantised_bits'", "quantized_relu"],
        ),
        (
            lambda: hq.QDense(3, kernel_quantizer="quantized_bits(4,0,alpah=1)"),
            ["unknown keyword", "alpah", "accepted keywords"],
        ),
        (
            lambda: hq.QDense(3, kernel_quantizer=hq.quantized_bits(-2, 0)),
            ["quantized_bits: bits=-2", "an integer from 0 to 32"],
        ),
        (lambda: hq.QActivation("quantized_relu(-1)"), ["bits=-1"]),
        (
            lambda: hq.QDense(3, kernel_quantizer="quantized_bits(4,0,alpha=1)", mode="hgq", granularity=(2,)),
            ["granularity=(2,)", "rank 2", "accepted axes"],
        ),
        (lambda: hq.QDense(3, mode="fast"), ["mode='fast'", "'qkeras', 'hgq'"]),
        (lambda: hq.QDense(3, mode="hgq", granularity="per-neuron"), ["granularity='per-neuron'", "per-element"]),
        (lambda: hq.QuantSpec(round_mode="NEAREST"), ["round_mode='NEAREST'", "RND_CONV"]),
        (lambda: hq.QuantSpec(overflow="saturate"), ["overflow='saturate'", "SAT_SYM"]),
    ],
)
def test_bad_input_raises_value_error_at_construction(make, words):
    with pytest.raises(ValueError) as err:
        make()
    for w in words:
        assert w in str(err.value), str(err.value)


def test_hgq_mode_refuses_non_fixed_point_quantizer():
    with pytest.raises(NotImplementedError, match="not a fixed-point quantizer"):
        hq.QDense(3, kernel_quantizer="quantized_bits(4,0,alpha=0.5)", mode="hgq")
