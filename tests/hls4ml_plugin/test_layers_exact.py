"""Every exportable hgq_compat layer, and the plain Keras layers used between them, convert to an
hls4ml C simulation equal to Keras bit for bit (g++ only, Vivado and Vitis backends).

Several layers share one model (its output concatenates every branch, so every element is
compared) to keep the number of compiles small.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

import hgq_compat
from hgq_compat import (
    QActivation,
    QAveragePooling2D,
    QBatchNormalization,
    QConv2DBatchnorm,
    QConv2DTranspose,
    QDense,
    QDepthwiseConv2D,
    QDepthwiseConv2DBatchnorm,
    QGlobalAveragePooling2D,
    QSeparableConv1D,
    QSeparableConv2D,
    quantization_config,
)
from hgq_compat.core.quantizer import FixedPointQuantizer

from .conftest import assert_bit_exact, compile_all, random_inputs

K6 = "quantized_bits(6,0,alpha=1)"
B6 = "quantized_bits(6,2,alpha=1)"
S8 = "quantized_bits(8,3,alpha=1)"
R6 = "quantized_relu(6,2)"
W = dict(kernel_quantizer=K6, bias_quantizer=B6)
DW = dict(depthwise_quantizer=K6, bias_quantizer=B6)
SEP = dict(depthwise_quantizer=K6, pointwise_quantizer=K6, bias_quantizer=B6)


def randomize_batchnorm(model: keras.Model, seed: int = 0) -> None:
    """Non-trivial moving statistics for the folded layers (as after training)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if hasattr(layer, "folding_mode"):
            n = layer.moving_mean.shape[0]
            layer.gamma.assign(rng.uniform(0.5, 1.5, n))
            layer.bn_beta.assign(rng.normal(0, 0.3, n))
            layer.moving_mean.assign(rng.normal(0, 0.3, n))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, n))


def spread_bitwidths(model: keras.Model, seed: int = 0) -> int:
    """HGQ mode: move every per-element fractional bitwidth by -1, 0 or +1 (as training does).
    Returns the number of quantizers changed."""
    rng = np.random.default_rng(seed)
    changed = 0
    for layer in model.layers:
        for q in vars(layer).values():
            if isinstance(q, FixedPointQuantizer) and q.built:
                f = np.round(np.asarray(q.f))
                q.assign_bitwidths(fractional=f + rng.integers(-1, 2, f.shape))
                changed += 1
    return changed


def conv_family(hgq: bool) -> keras.Model:
    """Depthwise (depth multiplier 1 and 2), separable, folded and transposed convolutions, average
    pooling with and without a quantizer, plus ZeroPadding2D, MaxPooling2D (valid, and 'same' on
    signed data), GlobalMaxPooling2D, GlobalAveragePooling2D, Flatten, Dropout and a seven-input
    Concatenate."""
    with quantization_config(mode="hgq" if hgq else "qkeras"):
        inp = keras.Input((8, 8, 2))
        x = QActivation(S8, name="in_q")(inp)
        x = keras.layers.ZeroPadding2D(1)(x)
        x = QDepthwiseConv2D(3, activation=S8, name="dw", **DW)(x)
        x = QSeparableConv2D(4, 3, padding="same", depth_multiplier=2, activation=R6, name="sep", **SEP)(x)
        x = keras.layers.MaxPooling2D(2)(x)
        c = QConv2DBatchnorm(4, 3, padding="same", activation=S8, name="conv_bn", **W)(x)
        m = keras.layers.MaxPooling2D(3, strides=2, padding="same")(c)
        a = QAveragePooling2D(2, activation=S8, name="avg")(c)
        g = QGlobalAveragePooling2D(average_quantizer="quantized_bits(8,0,alpha=1)", activation=S8, name="gavg")(c)
        t = QConv2DTranspose(2, 3, strides=2, activation=R6, name="transpose", **W)(a)
        d = QDepthwiseConv2DBatchnorm(2, depth_multiplier=2, activation=S8, name="dw_bn", **DW)(t)
        d = keras.layers.Dropout(0.25)(d)
        e = QAveragePooling2D(2, padding="same", activation=S8, name="avg_same")(t)  # windows of 4, 2 and 1
        parts = [
            keras.layers.Flatten()(m),
            g,
            keras.layers.GlobalMaxPooling2D()(d),
            keras.layers.GlobalAveragePooling2D()(d),
            keras.layers.Flatten()(a),
            keras.layers.Flatten()(t),
            keras.layers.Flatten()(e),
        ]
        out = keras.layers.Concatenate()(parts)
    model = keras.Model(inp, out)
    randomize_batchnorm(model)
    if hgq:
        assert spread_bitwidths(model, seed=5) >= 15
    return model


def one_d_and_merges() -> keras.Model:
    """QSeparableConv1D (depth multiplier 2, and 1 with stride 2), QDense, QBatchNormalization
    (epsilon=0 with power-of-two statistics: scale and shift are exact binary numbers),
    ZeroPadding1D + MaxPooling1D, AveragePooling1D, GlobalAveragePooling1D, GlobalMaxPooling1D,
    Reshape, Add of three inputs, Subtract, Activation relu/linear, Dropout, Concatenate."""
    inp = keras.Input((12, 3))
    x = QActivation(S8, name="in_q")(inp)
    s = QSeparableConv1D(4, 3, padding="same", depth_multiplier=2, activation=R6, name="sep1d", **SEP)(x)
    s1 = QSeparableConv1D(3, 3, strides=2, padding="same", activation=S8, name="sep1d_dm1", **SEP)(x)
    p = keras.layers.MaxPooling1D(2)(keras.layers.ZeroPadding1D(1)(s))
    ap = keras.layers.AveragePooling1D(2)(s)
    r = keras.layers.Flatten()(p)
    a = QDense(8, activation=S8, name="da", **W)(r)
    b = QDense(8, activation=R6, name="db", **W)(r)
    added = keras.layers.Activation("linear")(keras.layers.Add()([a, b, a]))
    diff = keras.layers.Activation("relu")(keras.layers.Subtract()([a, b]))
    bn = QBatchNormalization(epsilon=0.0, name="bn")(a)
    bn = QActivation("quantized_bits(10,4,alpha=1)", name="bn_q")(bn)
    rs = keras.layers.Reshape((2, 4))(keras.layers.Dropout(0.5)(b))
    gap = keras.layers.GlobalAveragePooling1D()(keras.layers.MaxPooling1D(3)(s))  # 4 steps
    gmp = keras.layers.GlobalMaxPooling1D()(s)
    out = keras.layers.Concatenate()(
        [added, diff, bn, keras.layers.Flatten()(rs), keras.layers.Flatten()(ap), gap, gmp, keras.layers.Flatten()(s1)]
    )
    model = keras.Model(inp, out)
    rng = np.random.default_rng(2)
    layer = model.get_layer("bn")
    layer.gamma.assign(2.0 ** rng.integers(-1, 2, 8))
    layer.moving_variance.assign(exact_rsqrt_variance(2.0 ** -rng.integers(-1, 3, 8)))
    layer.moving_mean.assign(rng.choice([-1, 1], 8) * 2.0 ** rng.integers(-2, 2, 8))
    layer.beta.assign(rng.choice([-1, 1], 8) * 2.0 ** rng.integers(-2, 2, 8))
    return model


def exact_rsqrt_variance(inv: np.ndarray) -> np.ndarray:
    """float32 variances whose ``keras.ops.rsqrt`` is exactly ``inv`` (powers of two) on this machine.

    TensorFlow's rsqrt is an approximation refined by a Newton step whose last bit depends on the
    CPU, so ``rsqrt(4.0**k)`` is not ``2.0**-k`` everywhere; among the float32 numbers next to
    ``inv**-2``, the one nearest that rsqrt maps exactly onto ``inv`` is taken."""
    from keras import ops

    inv = np.asarray(inv, np.float32)
    out = np.empty_like(inv)
    offsets = np.arange(-512, 513, dtype=np.int32)
    for j, target in enumerate(inv):
        start = np.float32(1.0) / (target * target)
        candidates = (start.view(np.int32) + offsets).view(np.float32)
        hits = np.nonzero(np.asarray(ops.convert_to_numpy(ops.rsqrt(candidates))) == target)[0]
        assert hits.size, f"no float32 near {start} has rsqrt exactly {target}"
        out[j] = candidates[hits[np.argmin(np.abs(offsets[hits]))]]
    return out


def _check(models: dict, inputs: dict, tmp_path) -> None:
    compiled = compile_all(models, tmp_path)
    for (name, backend), (hm, seconds) in compiled.items():
        print(f"{name}/{backend}: compile {seconds:.1f} s")
        assert assert_bit_exact(models[name], hm, inputs[name], f"{name}/{backend}") == 0


def test_one_d_and_merges_bit_exact(tmp_path):
    model = one_d_and_merges()
    scale, shift = (np.asarray(v, np.float64) for v in model.get_layer("bn").inference_scale_shift())
    assert len(set(scale.tolist())) > 1  # a real scale, not the identity
    assert np.all(np.log2(scale) == np.round(np.log2(scale)))  # powers of two: float32 x * scale + shift is exact
    assert np.all(shift * 16 == np.round(shift * 16))
    _check({"one_d": model}, {"one_d": random_inputs((12, 3), seed=3)}, tmp_path)


@pytest.mark.slow
def test_conv_family_qkeras_bit_exact(tmp_path):
    model = conv_family(hgq=False)
    folded = model.get_layer("conv_bn").folded_weights()["folded_kernel"]
    plain = model.get_layer("conv_bn").quantized_weight("kernel")
    assert not np.array_equal(np.asarray(folded), np.asarray(plain))  # the batch norm is really folded
    _check({"conv_qkeras": model}, {"conv_qkeras": random_inputs((8, 8, 2), seed=4)}, tmp_path)


@pytest.mark.slow
def test_conv_family_hgq_bit_exact(tmp_path):
    model = conv_family(hgq=True)
    kif = model.get_layer("sep").pointwise_kernel_quantizer_internal.kif()
    assert np.unique(kif[2]).size > 1  # heterogeneous per-element weight bitwidths
    _check({"conv_hgq": model}, {"conv_hgq": random_inputs((8, 8, 2), seed=5)}, tmp_path)


def test_every_layer_is_handled_or_refused():
    """Each hgq_compat layer class has a handler under its defining module's name (hls4ml looks
    handlers up by ``layer.__module__ + '.' + class name``, without the MRO)."""
    from hls4ml.converters.keras_v3._base import registry

    from hls4ml_plugin.handlers import HANDLED, REFUSED

    layers = [
        cls
        for name in hgq_compat.layers.__all__
        if isinstance(cls := getattr(hgq_compat.layers, name), type) and issubclass(cls, keras.layers.Layer)
    ]
    assert len(layers) >= 20
    for cls in layers:
        key = f"{cls.__module__}.{cls.__name__}"
        assert key in registry, f"no hls4ml handler for {key}"
        assert key in HANDLED or key in REFUSED, key
    assert set(HANDLED).isdisjoint(REFUSED)


def redundant_quantizers() -> keras.Model:
    """HGQ mode: q2 is wider than q1 in every element and d_wide's output quantizer keeps every bit
    its Dense can produce (both no-ops); q3 and d_narrow's quantizer really round."""
    with quantization_config(mode="hgq"):
        inp = keras.Input((8,))
        x = QActivation(S8, name="in_q")(inp)
        q1 = QActivation("quantized_bits(6,2,alpha=1)", name="q1")(x)
        q2 = QActivation("quantized_bits(10,4,alpha=1)", name="q2")(q1)
        q3 = QActivation("quantized_bits(4,1,alpha=1)", name="q3")(q1)
        wide = QDense(6, activation="quantized_bits(20,8,alpha=1)", name="d_wide", **W)(q2)
        narrow = QDense(6, activation=B6, name="d_narrow", **W)(q2)
        out = keras.layers.Concatenate()([q3, wide, narrow])
    model = keras.Model(inp, out)
    spread_bitwidths(model, seed=1)
    return model


def test_redundant_quantizers_are_removed_and_exact(tmp_path):
    model = redundant_quantizers()
    compiled = compile_all({"redundant": model}, tmp_path)
    x = random_inputs((8,), seed=6)
    for (name, backend), (hm, seconds) in compiled.items():
        nodes = set(hm.graph)
        assert {"q2", "d_wide_quantizer"}.isdisjoint(nodes), nodes  # removed: they change no value
        assert {"in_q", "q1", "q3", "d_narrow_quantizer"} <= nodes, nodes  # kept: they round or saturate
        print(f"{name}/{backend}: compile {seconds:.1f} s")
        assert assert_bit_exact(model, hm, x, f"{name}/{backend}") == 0
