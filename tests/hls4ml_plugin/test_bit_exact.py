"""hls4ml C simulation equals Keras bit for bit (g++ only, no Vivado).

Each model is converted for both backends and compiled once; compiles run two at a time.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from hgq_compat import QActivation, QConv1D, QConv2D, QDense, quantization_config

from .conftest import assert_bit_exact, compile_all, random_inputs

B6 = "quantized_bits(6,2,alpha=1)"


def digits():
    from sklearn.datasets import load_digits

    data = load_digits()
    return (data.data / 4.0).astype(np.float32), data.target  # 0..4, exercises the input range


def qkeras_mlp() -> keras.Model:
    inp = keras.Input((64,))
    x = QActivation("quantized_bits(8,3,alpha=1)", name="in_q")(inp)
    x = QDense(
        24,
        kernel_quantizer="quantized_bits(6,0,alpha=1)",
        bias_quantizer=B6,
        activation="quantized_relu(6,2)",
        name="d1",
    )(x)
    x = QDense(
        16,
        kernel_quantizer="quantized_bits(4,0)",
        bias_quantizer=B6,  # alpha=None -> auto_po2
        activation="quantized_relu(5,1)",
        name="d2",
    )(x)
    x = QDense(10, kernel_quantizer="quantized_bits(6,1,1,alpha=1)", bias_quantizer=B6, name="d3")(x)
    x = QActivation("quantized_bits(10,4,alpha=1)", name="out_q")(x)
    model = keras.Model(inp, x)
    xd, yd = digits()
    model.compile(keras.optimizers.Adam(3e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(xd, yd, epochs=2, batch_size=64, verbose=0)  # trained weights: realistic ties and ranges
    return model


def hgq_mlp() -> keras.Model:
    with quantization_config(mode="hgq", beta=1e-4):
        inp = keras.Input((64,))
        x = QActivation("quantized_bits(8,3,alpha=1)", name="in_q")(inp)
        x = QDense(
            24,
            kernel_quantizer="quantized_bits(8,0,alpha=1)",
            bias_quantizer="quantized_bits(8,2,alpha=1)",
            activation="quantized_relu(8,3)",
            name="d1",
        )(x)
        x = QDense(
            10,
            kernel_quantizer="quantized_bits(8,0,alpha=1)",
            bias_quantizer="quantized_bits(8,2,alpha=1)",
            activation="quantized_bits(10,4,alpha=1)",
            name="d2",
        )(x)
    model = keras.Model(inp, x)
    xd, yd = digits()
    model.compile(keras.optimizers.Adam(3e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(xd, yd, epochs=6, batch_size=64, verbose=0)
    # Training makes the weight bitwidths heterogeneous; the activation bitwidths move together in
    # a few epochs, so spread them by +-1 bit per element to exercise per-element activation masks.
    rng = np.random.default_rng(7)
    for name in ("in_q", "d1"):
        q = model.get_layer(name).output_quantizer
        q.assign_bitwidths(fractional=np.round(np.asarray(q.f)) + rng.integers(-1, 2, q.f.shape))
    return model


def qconv2d_net() -> keras.Model:
    inp = keras.Input((8, 8, 1))
    x = QActivation("quantized_bits(8,3,alpha=1)", name="in_q")(inp)
    x = QConv2D(
        4,
        3,
        kernel_quantizer="quantized_bits(6,0,alpha=1)",
        bias_quantizer=B6,
        activation="quantized_relu(6,2)",
        name="c1",
    )(x)
    x = QConv2D(
        4,
        3,
        strides=2,
        padding="same",
        kernel_quantizer="quantized_bits(5,0)",
        bias_quantizer=B6,
        activation="quantized_relu(6,2)",
        name="c2",
    )(x)
    x = keras.layers.Flatten()(x)
    x = QDense(
        10,
        kernel_quantizer="quantized_bits(6,0,alpha=1)",
        bias_quantizer=B6,
        activation="quantized_bits(10,4,alpha=1)",
        name="d",
    )(x)
    return keras.Model(inp, x)


def qconv1d_net() -> keras.Model:
    with quantization_config(mode="hgq"):
        inp = keras.Input((16, 2))
        x = QActivation("quantized_bits(8,3,alpha=1)", name="in_q")(inp)
        x = QConv1D(
            4,
            3,
            kernel_quantizer="quantized_bits(6,0,alpha=1)",
            bias_quantizer=B6,
            activation="quantized_relu(6,2)",
            name="c1",
        )(x)
        x = keras.layers.Flatten()(x)
        x = QDense(
            4,
            kernel_quantizer="quantized_bits(6,0,alpha=1)",
            bias_quantizer=B6,
            activation="quantized_bits(10,4,alpha=1)",
            name="d",
        )(x)
    model = keras.Model(inp, x)
    rng = np.random.default_rng(3)
    for layer in model.layers:  # heterogeneous per-element bitwidths without training
        q = getattr(layer, "output_quantizer", None)
        if q is not None and hasattr(q, "assign_bitwidths"):
            q.assign_bitwidths(fractional=rng.integers(0, 5, q.f.shape))
    return model


def _check(models: dict, inputs: dict, tmp_path) -> None:
    compiled = compile_all(models, tmp_path)
    for (name, backend), (hm, seconds) in compiled.items():
        print(f"{name}/{backend}: compile {seconds:.1f} s")
        assert_bit_exact(models[name], hm, inputs[name], f"{name}/{backend}")


def test_mlps_bit_exact(tmp_path):
    """QKeras-mode MLP (alpha=1 and auto_po2 kernels, quantized_relu) and an HGQ-mode MLP
    trained with beta > 0, on 10,000 random inputs plus the digits data set."""
    qkeras, hgq = qkeras_mlp(), hgq_mlp()
    for name in ("d1", "d2"):
        assert np.unique(hgq.get_layer(name).kernel_quantizer_internal.kif()[2]).size > 1, "homogeneous weights"
    xd, _ = digits()
    x = np.concatenate([random_inputs((64,)), xd])
    _check({"qkeras_mlp": qkeras, "hgq_mlp": hgq}, {"qkeras_mlp": x, "hgq_mlp": x}, tmp_path)


@pytest.mark.slow
def test_convs_bit_exact(tmp_path):
    """QConv2D (QKeras mode, valid and same padding, stride 2, auto_po2) and QConv1D (HGQ mode,
    per-element activation bitwidths)."""
    models = {"qconv2d": qconv2d_net(), "qconv1d": qconv1d_net()}
    inputs = {"qconv2d": random_inputs((8, 8, 1)), "qconv1d": random_inputs((16, 2), seed=1)}
    _check(models, inputs, tmp_path)
