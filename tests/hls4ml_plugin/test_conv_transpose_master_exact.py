"""QKeras master's QDepthwiseConv2DTranspose and QSeparableConv2DTranspose: C simulation equals Keras
bit for bit (dense-matrix transposed convolutions, the separable one's depthwise_activation quantizer
and 1x1 pointwise convolution), in QKeras mode and in HGQ mode with per-element bitwidths."""

from __future__ import annotations

import keras

from hgq_compat import QActivation, QDepthwiseConv2DTranspose, QSeparableConv2DTranspose

from .conftest import assert_bit_exact, compile_all, random_inputs
from .test_layers_exact import spread_bitwidths

S8 = "quantized_bits(8,3,alpha=1)"


def transposes() -> keras.Model:
    """Each class once in QKeras mode and once in HGQ mode (per-layer ``mode``), in one model: one compile."""
    inp = keras.Input((3, 3, 4))
    x = QActivation("quantized_bits(6,2,alpha=1)", name="in_q")(inp)
    d = QDepthwiseConv2DTranspose(
        2,
        (3, 3),
        group_size=2,
        strides=(2, 2),
        padding="same",
        depthwise_kernel_quantizer="quantized_bits(5,1,alpha=1)",
        depthwise_activation=S8,
        mode="hgq",
        name="dwt",
    )(x)
    g = QDepthwiseConv2DTranspose(
        2,
        (2, 2),
        strides=(2, 1),
        padding="valid",
        depthwise_kernel_quantizer="quantized_bits(4,0,alpha=1)",
        name="dwt_plain",
    )(x)
    s = QSeparableConv2DTranspose(
        3,
        (2, 3),
        strides=(2, 2),
        padding="same",
        depthwise_kernel_quantizer="quantized_bits(5,1,alpha=1)",
        pointwise_kernel_quantizer="quantized_bits(4,0,alpha=1)",
        bias_quantizer="quantized_bits(6,2,alpha=1)",
        depthwise_activation=S8,
        pointwise_activation="quantized_relu(8,3)",
        mode="hgq",
        name="sept",
    )(x)
    s2 = QSeparableConv2DTranspose(
        2,
        (2, 2),
        strides=(1, 1),
        padding="valid",
        use_bias=False,
        depthwise_kernel_quantizer="quantized_bits(4,0,alpha=1)",
        pointwise_kernel_quantizer="quantized_bits(4,0,alpha=1)",
        depthwise_activation="quantized_bits(6,2,alpha=1)",
        pointwise_activation="quantized_bits(10,4,alpha=1)",
        name="sept_plain",
    )(x)
    out = keras.layers.Concatenate()([keras.layers.Flatten()(t) for t in (d, g, s, s2)])
    return keras.Model(inp, out)


def test_master_transposed_convolutions_bit_exact(tmp_path):
    model = transposes()
    assert spread_bitwidths(model, seed=3) >= 5  # HGQ layers: per-element bitwidths
    x = random_inputs((3, 3, 4), seed=8)
    assert x.shape[0] >= 10_000
    ((hm, seconds),) = compile_all({"transposes": model}, tmp_path, backends={"transposes": ("Vitis",)}).values()
    print(f"compile {seconds:.1f} s")
    assert assert_bit_exact(model, hm, x, "transposes/Vitis") == 0
