"""Depthwise/separable/transposed convolutions, QBatchNormalization, average pooling, folded
batchnorm and QAdaptiveActivation: EBOPs hand counts, HGQ mode, saving, bad arguments."""

import keras
import numpy as np
import pytest

from hgq_compat.layers.adaptive import QAdaptiveActivation
from hgq_compat.layers.conv_extra import QConv2DTranspose, QDepthwiseConv2D, QSeparableConv1D, QSeparableConv2D
from hgq_compat.layers.folded import QConv2DBatchnorm, QDepthwiseConv2DBatchnorm
from hgq_compat.layers.normalization import QBatchNormalization
from hgq_compat.layers.pooling import QAveragePooling2D, QGlobalAveragePooling2D
from tests.conftest import to_np, variable_grads

Q4 = "quantized_bits(4,0,alpha=1)"
Q6B = "quantized_bits(6,2,alpha=1)"

CONFIGS = {
    "depthwise": (
        QDepthwiseConv2D,
        (6, 6, 3),
        dict(
            kernel_size=3,
            depth_multiplier=2,
            padding="same",
            depthwise_quantizer="quantized_bits(4,0)",
            bias_quantizer=Q6B,
            activation="quantized_relu(6,2)",
        ),
    ),
    "separable1d": (
        QSeparableConv1D,
        (10, 3),
        dict(
            filters=4,
            kernel_size=3,
            depthwise_quantizer=Q4,
            pointwise_quantizer="quantized_bits(6,0)",
            bias_quantizer=Q6B,
        ),
    ),
    "separable2d": (
        QSeparableConv2D,
        (6, 6, 2),
        dict(
            filters=3,
            kernel_size=3,
            strides=2,
            padding="same",
            depth_multiplier=2,
            depthwise_quantizer="quantized_bits(4,0)",
            pointwise_quantizer=Q4,
            bias_quantizer=Q6B,
            activation="quantized_relu(4,1)",
        ),
    ),
    "transpose": (
        QConv2DTranspose,
        (4, 4, 2),
        dict(filters=3, kernel_size=3, strides=2, kernel_quantizer="quantized_bits(4,0)", bias_quantizer=Q6B),
    ),
    "batchnorm": (
        QBatchNormalization,
        (5,),
        dict(
            gamma_quantizer=Q6B,
            beta_quantizer=Q6B,
            mean_quantizer=Q6B,
            variance_quantizer="quantized_bits(8,3,alpha=1)",
        ),
    ),
    "avgpool": (
        QAveragePooling2D,
        (6, 6, 2),
        dict(pool_size=3, average_quantizer="quantized_bits(4,0,1)", activation="quantized_bits(8,2,alpha=1)"),
    ),
    "gavgpool": (
        QGlobalAveragePooling2D,
        (5, 5, 3),
        dict(average_quantizer="quantized_bits(6,0,1)", activation="quantized_relu(4,1)"),
    ),
    "conv_bn": (
        QConv2DBatchnorm,
        (6, 6, 3),
        dict(
            filters=4,
            kernel_size=3,
            kernel_quantizer="quantized_bits(4,0)",
            bias_quantizer=Q6B,
            activation="quantized_relu(6,2)",
        ),
    ),
    "conv_bn_batch": (
        QConv2DBatchnorm,
        (5, 5, 2),
        dict(
            filters=3,
            kernel_size=3,
            padding="same",
            kernel_quantizer=Q4,
            bias_quantizer=Q6B,
            folding_mode="batch_stats_folding",
            ema_freeze_delay=10,
        ),
    ),
    "dw_bn": (
        QDepthwiseConv2DBatchnorm,
        (6, 6, 3),
        dict(kernel_size=3, depth_multiplier=2, depthwise_quantizer="quantized_bits(4,0)", bias_quantizer=Q6B),
    ),
}
HGQ_CONFIGS = list(CONFIGS)


def _randomize(layer, seed=0):
    rng = np.random.default_rng(seed)
    for v in layer.weights:
        name = v.path.split("/")[-1]
        if "int" in str(v.dtype) or "_quantizer/" in v.path or name == "ebops_beta" or tuple(v.shape) == ():
            continue
        if name == "moving_variance":
            v.assign(rng.uniform(0.5, 2.0, size=v.shape).astype("float32"))
        else:
            v.assign((rng.normal(size=v.shape) * 0.7).astype("float32"))


def _make(key, **extra):
    cls, shape, kwargs = CONFIGS[key]
    layer = cls(**kwargs, **extra)
    layer.build((None, *shape))
    return layer, shape


def _input(shape, n=4, seed=1):
    return (np.random.default_rng(seed).normal(size=(n, *shape)) * 2).astype("float32")


# ---------------------------------------------------------------- HGQ mode


@pytest.mark.parametrize("key", HGQ_CONFIGS)
def test_hgq_mode_equals_qkeras_mode_before_training(key):
    ref, shape = _make(key)
    _randomize(ref)
    hgq, _ = _make(key, mode="hgq", beta=1e-5)
    by_path = {v.path.split("/", 1)[-1]: v for v in ref.weights}
    copied = 0
    for v in hgq.weights:
        src = by_path.get(v.path.split("/", 1)[-1])
        if src is not None and tuple(src.shape) == tuple(v.shape):
            v.assign(src)
            copied += 1
    assert copied == len(ref.weights)
    hgq.reinitialize_bitwidths()
    x = _input(shape)
    np.testing.assert_array_equal(to_np(hgq(x, training=False)), to_np(ref(x, training=False)))
    trainable_bits = [v for v in hgq.trainable_weights if v.path.split("/")[-1] in ("f", "i")]
    if key not in ("avgpool", "gavgpool"):
        assert trainable_bits, [v.path for v in hgq.trainable_weights]


@pytest.mark.parametrize("key", ["depthwise", "separable1d", "transpose", "batchnorm", "conv_bn", "dw_bn"])
def test_ebops_are_differentiable_wrt_bitwidths(key):
    layer, shape = _make(key, mode="hgq", beta=1e-5)
    _randomize(layer)
    layer.reinitialize_bitwidths()
    bits = [v for v in layer.trainable_weights if v.path.split("/")[-1] == "f"]
    assert bits
    grads = variable_grads(layer.compute_ebops, bits)
    assert any(float(np.abs(g).sum()) > 0 for g in grads)
    # the training call adds beta * EBOPs to the layer's losses
    layer(_input(shape), training=True)
    assert len(layer.losses) == 1
    np.testing.assert_allclose(to_np(layer.losses[0]), 1e-5 * to_np(layer.compute_ebops()), rtol=1e-5)


# ---------------------------------------------------------------- EBOPs hand counts


def _fill(layer, **values):
    for role, value in values.items():
        var = getattr(layer, role)
        var.assign(np.full(var.shape, value, "float32"))


def test_ebops_depthwise_hand_count():
    layer = QDepthwiseConv2D(2, depthwise_quantizer=Q4, bias_quantizer=Q6B, default_input_bits=8)
    layer.build((None, 3, 3, 2))
    _fill(layer, kernel=0.5, bias=1.0)
    # 2x2 positions x 2 channels x 4 taps x 8 x 4 bits + bias: 2 channels x 6 bits x 4 positions
    assert float(to_np(layer.compute_ebops())) == 4 * 2 * 4 * 8 * 4 + 2 * 6 * 4


def test_ebops_zero_weights_cost_nothing():
    layer = QDepthwiseConv2D(2, depthwise_quantizer=Q4, use_bias=False, default_input_bits=8)
    layer.build((None, 3, 3, 2))
    k = np.full((2, 2, 2, 1), 0.5, "float32")
    k[0, 0, 0, 0] = 0.0
    layer.kernel.assign(k)
    assert float(to_np(layer.compute_ebops())) == 4 * 2 * 4 * 8 * 4 - 4 * 8 * 4


def test_ebops_separable_hand_count():
    layer = QSeparableConv1D(
        3,
        3,
        depthwise_quantizer=Q4,
        pointwise_quantizer="quantized_bits(6,0,alpha=1)",
        use_bias=False,
        default_input_bits=8,
    )
    layer.build((None, 5, 2))
    _fill(layer, depthwise_kernel=0.5, pointwise_kernel=0.5)
    depthwise = 3 * 2 * 3 * 8 * 4  # positions x channels x taps x bits(x) x bits(w)
    pointwise = 3 * 2 * 3 * (8 + 4) * 6  # positions x mid channels x filters x (8+4-bit products) x 6
    assert float(to_np(layer.compute_ebops())) == depthwise + pointwise


def test_ebops_transpose_hand_count():
    layer = QConv2DTranspose(3, 2, strides=2, kernel_quantizer=Q4, use_bias=False, default_input_bits=8)
    layer.build((None, 2, 2, 1))
    _fill(layer, kernel=0.5)
    # every input element multiplies all 2x2x3 kernel elements
    assert float(to_np(layer.compute_ebops())) == 4 * 12 * 8 * 4


def test_ebops_pooling_hand_count():
    layer = QAveragePooling2D(2, average_quantizer="quantized_bits(4,0,1)", default_input_bits=8)
    layer.build((None, 4, 4, 1))
    assert float(to_np(layer.compute_ebops())) == 4 * 4 * 8  # 4 windows of 4 adds of 8 bits
    layer = QGlobalAveragePooling2D(default_input_bits=8)
    layer.build((None, 3, 3, 2))
    assert float(to_np(layer.compute_ebops())) == 18 * 8


def test_ebops_batchnorm_hand_count():
    layer = QBatchNormalization(
        gamma_quantizer=Q6B, beta_quantizer=Q6B, mean_quantizer=None, variance_quantizer=None, default_input_bits=8
    )
    layer.build((None, 4))
    _fill(layer, gamma=1.5, beta=1.0)
    assert float(to_np(layer.compute_ebops())) == 4 * 8 * 6 + 4 * 6


def test_ebops_folded_conv_hand_count():
    layer = QConv2DBatchnorm(2, 2, kernel_quantizer=Q4, bias_quantizer=Q6B, default_input_bits=8)
    layer.build((None, 3, 3, 1))
    _fill(layer, kernel=0.5, bn_beta=1.0)
    assert float(to_np(layer.compute_ebops())) == 4 * 4 * 2 * 8 * 4 + 2 * 6 * 4


# ---------------------------------------------------------------- numbers


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_conv2d_transpose_equals_float_keras_with_quantized_kernel(padding):
    layer = QConv2DTranspose(
        3,
        3,
        strides=2,
        padding=padding,
        kernel_quantizer="quantized_bits(4,0)",
        bias_quantizer=Q6B,
        activation="quantized_relu(6,2)",
    )
    layer.build((None, 4, 4, 2))
    _randomize(layer)
    ref = keras.layers.Conv2DTranspose(3, 3, strides=2, padding=padding)
    ref.build((None, 4, 4, 2))
    kq, bq = to_np(layer.quantized_weight("kernel")), to_np(layer.quantized_weight("bias"))
    ref.set_weights([kq, bq])
    x = _input((4, 4, 2))
    y = to_np(ref(x))
    want = 4 * np.clip(np.round(y * 64 / 4) / 64, 0, 1 - 1 / 64)
    np.testing.assert_allclose(to_np(layer(x)), want, rtol=1e-6, atol=1e-6)
    # the kernel went through auto_po2 (QKeras' hidden default) and sits on a 4-bit grid per channel
    assert layer.get_config()["kernel_quantizer"]["config"]["alpha"] == "auto_po2"


def test_folded_conv_inference_equals_conv_then_batchnorm_up_to_quantization():
    layer = QConv2DBatchnorm(
        3, 3, kernel_quantizer="quantized_bits(16,2,alpha=1)", bias_quantizer="quantized_bits(16,4,alpha=1)"
    )
    layer.build((None, 5, 5, 2))
    _randomize(layer)
    x = _input((5, 5, 2))
    conv = keras.layers.Conv2D(3, 3)
    conv.build((None, 5, 5, 2))
    conv.set_weights([to_np(layer.kernel), to_np(layer.bias)])
    bn = keras.layers.BatchNormalization(epsilon=layer.epsilon)
    bn.build((None, 3, 3, 3))
    bn.set_weights([to_np(layer.gamma), to_np(layer.bn_beta), to_np(layer.moving_mean), to_np(layer.moving_variance)])
    np.testing.assert_allclose(to_np(layer(x)), to_np(bn(conv(x))), atol=2e-3)


def test_adaptive_activation_tracks_range():
    layer = QAdaptiveActivation("quantized_relu", 6, current_step=10, ema_decay=0.0)
    x = np.linspace(-1, 3, 40, dtype="float32").reshape(4, 10)
    layer.build((None, 10))
    assert float(to_np(layer.quantizer_integer)[0]) == 0
    layer(x, training=True)
    # EMA max 3 -> ceil(log2 3) = 2 integer bits
    assert float(to_np(layer.ema_max)[0]) == pytest.approx(3.0)
    assert float(to_np(layer.quantizer_integer)[0]) == 2
    assert layer.quantizer_string() == "quantized_relu(6,2)"
    y = to_np(layer(x, training=False))
    np.testing.assert_array_equal(y, 4 * np.clip(np.round(x * 16) / 64, 0, 1 - 1 / 64))


# ---------------------------------------------------------------- saving


ROUND_TRIP = [(k, {}) for k in CONFIGS] + [
    (k, {"mode": "hgq", "beta": 1e-5})
    for k in ("depthwise", "separable2d", "transpose", "batchnorm", "conv_bn", "avgpool")
]


@pytest.mark.parametrize("key,extra", ROUND_TRIP, ids=[f"{k}-{e.get('mode', 'qkeras')}" for k, e in ROUND_TRIP])
def test_keras_file_round_trip_is_exact(key, extra, tmp_path):
    cls, shape, kwargs = CONFIGS[key]
    layer = cls(**kwargs, **extra)
    model = keras.Sequential([keras.Input(shape), layer])
    _randomize(layer)
    if hasattr(layer, "reinitialize_bitwidths"):
        layer.reinitialize_bitwidths()
    x = _input(shape)
    if extra:  # move the HGQ bitwidths off their initial values
        for v in layer.trainable_weights:
            if v.path.split("/")[-1] == "f":
                v.assign(v + np.random.default_rng(2).uniform(-0.4, 0.4, size=v.shape).astype("float32"))
    y = to_np(model(x, training=False))
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded.layers[0]) is cls
    np.testing.assert_array_equal(to_np(loaded(x, training=False)), y)
    assert loaded.layers[0].get_config() == layer.get_config()
    for a, b in zip(layer.weights, loaded.layers[0].weights):
        np.testing.assert_array_equal(to_np(a), to_np(b))


def test_adaptive_activation_round_trip(tmp_path):
    layer = QAdaptiveActivation("quantized_bits", 8, current_step=0, ema_decay=0.5, per_channel=True)
    model = keras.Sequential([keras.Input((6,)), layer])
    x = _input((6,))
    layer(x, training=True)
    y = to_np(model(x, training=False))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(to_np(loaded.layers[0].quantizer_integer), to_np(layer.quantizer_integer))
    np.testing.assert_array_equal(to_np(loaded(x, training=False)), y)


# ---------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    "make,exc,words",
    [
        (
            lambda: QDepthwiseConv2D(3, data_format="channels_first"),
            NotImplementedError,
            ["QDepthwiseConv2D", "data_format"],
        ),
        (
            lambda: QSeparableConv2D(2, 3, data_format="channels_first"),
            NotImplementedError,
            ["QSeparableConv2D", "data_format"],
        ),
        (
            lambda: QSeparableConv1D(2, 3, data_format="channels_first"),
            NotImplementedError,
            ["QSeparableConv1D", "data_format"],
        ),
        (
            lambda: QConv2DTranspose(2, 3, data_format="channels_first"),
            NotImplementedError,
            ["QConv2DTranspose", "data_format"],
        ),
        (lambda: QConv2DBatchnorm(2, 3, folding_mode="tflite"), ValueError, ["QConv2DBatchnorm", "folding_mode"]),
        (
            lambda: QDepthwiseConv2DBatchnorm(3, renorm=True),
            NotImplementedError,
            ["QDepthwiseConv2DBatchnorm", "renorm"],
        ),
        (lambda: QConv2DBatchnorm(2, 3, axis=1), NotImplementedError, ["QConv2DBatchnorm", "axis"]),
        (lambda: QAdaptiveActivation("relu", 4), ValueError, ["QAdaptiveActivation", "activation"]),
        (
            lambda: QAdaptiveActivation("quantized_relu", 4, mode="hgq"),
            NotImplementedError,
            ["QAdaptiveActivation", "mode"],
        ),
        (lambda: QBatchNormalization(mode="hgq"), NotImplementedError, ["QBatchNormalization", "gamma_quantizer"]),
        (lambda: QSeparableConv2D(2, 3, pointwise_quantizer="quantized_nothing(4)"), ValueError, ["quantized_nothing"]),
        (lambda: QAveragePooling2D(average_quantizer="quantized_nothing(4)"), ValueError, ["quantized_nothing"]),
        (
            lambda: QDepthwiseConv2D(3, depthwise_quantizer="quantized_bits(4,0,alpha=0.5)", mode="hgq"),
            NotImplementedError,
            ["QDepthwiseConv2D", "depthwise_kernel_quantizer"],
        ),
    ],
)
def test_bad_arguments_raise_naming_layer_and_argument(make, exc, words):
    with pytest.raises(exc) as info:
        make()
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_adaptive_activation_ema_freeze():
    layer = QAdaptiveActivation("quantized_relu", 6, current_step=3, ema_decay=0.0, ema_freeze_delay=2)
    layer.build((None, 10))
    layer(np.linspace(-1, 3, 40, dtype="float32").reshape(4, 10), training=True)
    # step 3 > ema_freeze_delay 2: the EMA stays frozen
    assert float(to_np(layer.ema_max)[0]) == 0.0


def test_folded_ema_freeze_delay_stops_moving_statistics():
    layer = QConv2DBatchnorm(2, 2, kernel_quantizer=Q4, ema_freeze_delay=0)
    layer.build((None, 3, 3, 1))
    x = _input((3, 3, 1))
    layer(x, training=True)  # iteration -1 <= 0: statistics move
    moved = to_np(layer.moving_mean).copy()
    assert not np.array_equal(moved, np.zeros(2))
    layer(x, training=True)  # iteration 0 <= 0: still moving
    layer(x, training=True)  # iteration 1 > 0: frozen
    frozen = to_np(layer.moving_mean).copy()
    layer(x, training=True)
    np.testing.assert_array_equal(to_np(layer.moving_mean), frozen)
    assert int(to_np(layer.iteration)) == 3
