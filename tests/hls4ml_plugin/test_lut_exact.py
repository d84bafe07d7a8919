"""Non-linear activation quantizers become lookup tables whose C simulation equals Keras bit for bit.

Two QKeras-mode models put every table-based quantizer both right after a quantizer and right
after a Dense accumulator, and feed their outputs into Dense layers; each is compiled for Vivado
and Vitis (4 compiles, two at a time). The refusals need no compile.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

import hls4ml_plugin
from hgq_compat import QActivation, QDense
from hgq_compat.core.quantizer import FixedPointQuantizer
from hgq_compat.core.spec import QuantSpec

from .conftest import assert_bit_exact, compile_all, random_inputs

Q4 = dict(kernel_quantizer="quantized_bits(4,0,alpha=1)", bias_quantizer="quantized_bits(4,0,alpha=1)")
Q3 = dict(kernel_quantizer="quantized_bits(3,0,alpha=1)", bias_quantizer="quantized_bits(4,0,alpha=1)")
OUT = "quantized_bits(10,4,alpha=1)"


def lut_model_a() -> keras.Model:
    """tanh / po2 after quantizers, relu_po2 / sigmoid / binary after Dense accumulators. The tanh
    input comes from a per-element quantizer that also feeds a WRAP quantizer, so bit_exact gives
    it a sign bit it does not produce and the table is rebuilt for that type."""
    inp = keras.Input((16,))
    x = QActivation("quantized_bits(8,3,alpha=1)", name="in_q")(inp)
    r = QActivation("quantized_relu(6,2)", mode="hgq", name="relu_het")(x)
    t = QActivation("quantized_tanh(4)", name="tanh_act")(r)
    w = FixedPointQuantizer(
        QuantSpec(keep_negative=1, integer=1, fractional=3, overflow="WRAP", round_mode="TRN"), name="wrap_q"
    )(r)
    x = keras.layers.Concatenate()([t, w])
    x = QDense(12, activation="quantized_relu_po2(3,4)", name="d_relu_po2", **Q4)(x)
    x = QDense(12, activation="quantized_sigmoid(4)", name="d_sigmoid", **Q3)(x)
    x = QActivation("quantized_po2(4)", name="po2_act")(x)
    x = QDense(12, activation="binary()", name="d_binary", **Q4)(x)
    x = QDense(6, activation=OUT, name="out", **Q4)(x)
    model = keras.Model(inp, x)
    model.get_layer("relu_het").output_quantizer.assign_bitwidths(fractional=np.arange(16) % 4)
    return model


def lut_model_b() -> keras.Model:
    """ternary after a quantizer; binary with alpha, quantized_bits with a non-power-of-two alpha
    and a leaky quantized_relu after Dense accumulators; an HGQ-mode quantized_tanh (per tensor)."""
    inp = keras.Input((16,))
    x = QActivation("quantized_bits(8,3,alpha=1)", name="in_q")(inp)
    x = QActivation("ternary()", name="ternary_act")(x)
    x = QDense(12, activation="binary(alpha=0.5)", name="d_binary_alpha", **Q4)(x)
    x = QDense(12, activation="quantized_bits(4,1,alpha=0.75)", name="d_alpha", **Q4)(x)
    x = QDense(12, activation="quantized_relu(4,2,negative_slope=0.25)", name="d_leaky", **Q3)(x)
    x = QActivation("quantized_tanh(4)", mode="hgq", activation_granularity="per-tensor", name="hgq_tanh")(x)
    x = QDense(6, activation=OUT, name="out", **Q4)(x)
    return keras.Model(inp, x)


LUT_LAYERS = {
    "lut_a": ("tanh_act", "d_relu_po2_quantizer", "d_sigmoid_quantizer", "po2_act", "d_binary_quantizer"),
    "lut_b": ("ternary_act", "d_binary_alpha_quantizer", "d_alpha_quantizer", "d_leaky_quantizer", "hgq_tanh"),
}


def test_lut_activations_bit_exact(tmp_path):
    models = {"lut_a": lut_model_a(), "lut_b": lut_model_b()}
    compiled = compile_all(models, tmp_path)
    for (name, backend), (hm, seconds) in compiled.items():
        luts = {n.name: n for n in hm.graph.values() if n.class_name == "UnaryLUT"}
        assert set(LUT_LAYERS[name]) <= set(luts), f"{name}: LUT nodes {sorted(luts)}"
        for node in luts.values():
            width, _, signed = node.attributes["hgq_compat_lut_for"]
            assert node.attributes["table_size"] == 2**width == node.attributes["table"].data.size
            assert node.get_input_variable().type.precision.width == width
        if name == "lut_a":  # produced unsigned, rebuilt for the signed type of a WRAP consumer's request
            assert luts["tanh_act"].attributes["hgq_compat_lut_for"][2]
        print(
            f"{name}/{backend}: compile {seconds:.1f} s, tables "
            + ", ".join(f"{n}:{luts[n].attributes['table_size']}" for n in LUT_LAYERS[name])
        )
        x = random_inputs((16,), seed={"lut_a": 1, "lut_b": 2}[name])
        assert_bit_exact(models[name], hm, x, f"{name}/{backend}")


def _act_model(quantizer: str, **kwargs) -> keras.Model:
    inp = keras.Input((4,))
    x = QActivation("quantized_bits(8,3,alpha=1)", name="in_q")(inp)
    return keras.Model(inp, QActivation(quantizer, name="the_act", **kwargs)(x))


def _convert(model, tmp_path):
    return hls4ml_plugin.convert(model, tmp_path / "prj", compile=False)


def test_too_wide_lut_input_is_refused(tmp_path):
    """A table input wider than 24 bits (too wide to check a saturation to 16 bits value by value;
    an 18-bit input of this saturating quantized_tanh converts, see test_qkeras_usage_patterns)."""
    inp = keras.Input((16,))
    x = QActivation("quantized_bits(16,3,alpha=1)")(inp)
    x = QDense(
        4,
        kernel_quantizer="quantized_bits(12,0,alpha=1)",
        bias_quantizer="quantized_bits(8,0,alpha=1)",
        activation="quantized_tanh(4)",
        name="wide_dense",
    )(x)
    message = r"wide_dense.*quantized_tanh\(4\).*3\d bits.*quantizer with fewer bits"
    with pytest.raises(NotImplementedError, match=message):
        _convert(keras.Model(inp, x), tmp_path)


@pytest.mark.parametrize(
    "quantizer, message",
    [
        ("quantized_ulaw(8,0)", r"24 significant bits, not an exact fixed-point number"),
        ("quantized_bits(4,0,alpha=0.3,use_ste=False)", r"24 significant bits, not an exact fixed-point number"),
        ("quantized_po2(8)", r"finer than the 2\*\*-32 step"),
        ("stochastic_binary(alpha='auto')", r"from the values of each batch"),  # stochastic_binary(): exact, see
        # test_inexact_and_folding (random only while training)
        ("binary(alpha='auto_po2')", r"from the values of each batch"),
    ],
)
def test_inexact_or_non_elementwise_quantizers_are_refused(tmp_path, quantizer, message):
    with pytest.raises(NotImplementedError, match=r"the_act.*" + message):
        _convert(_act_model(quantizer), tmp_path)


def test_per_element_hgq_pre_function_is_refused(tmp_path):
    model = _act_model("quantized_tanh(4)", mode="hgq")
    model.get_layer("the_act").output_quantizer.assign_bitwidths(fractional=[1, 2, 3, 2])
    message = r"the_act.*per-element bitwidths.*activation_granularity='per-tensor'"
    with pytest.raises(NotImplementedError, match=message):
        _convert(model, tmp_path)
