"""Activations QKeras users write as strings, and plain Keras activation layers after a quantizer,
convert to an hls4ml C simulation equal to Keras bit for bit (Vivado and Vitis, io_parallel).

One multi-branch model holds them all (2 compiles): QActivation('binary_tanh' | 'binary_sigmoid' |
'hard_tanh' | 'hard_sigmoid' | 'tanh' | bare quantizer names), activation='...' on QDense and
QConv1D, and keras Activation('relu' | 'linear' | 'tanh' | 'sigmoid'), ReLU(), ReLU(max_value),
LeakyReLU and ELU. The refusals need no compile.
"""

from __future__ import annotations

import hls4ml
import keras
import numpy as np
import pytest

import hls4ml_plugin
from hgq_compat import QActivation, QConv1D, QDense
from hgq_compat.quantizers.functions import binary_tanh

from .conftest import assert_bit_exact, compile_all, random_inputs

W = dict(kernel_quantizer="quantized_bits(4,0,alpha=1)", bias_quantizer="quantized_bits(4,0,alpha=1)")
N_ZERO_ROWS = 50
"""Rows of exact zeros appended to the random inputs: binary_tanh(0) = -1 in QKeras (hls4ml's sign gives +1)."""

BRANCHES = {  # branch name -> layer applied to the fixed<8,4> input quantizer's output
    "binary_tanh": lambda: QActivation("binary_tanh", name="binary_tanh"),
    "binary_sigmoid": lambda: QActivation("binary_sigmoid", name="binary_sigmoid"),
    "hard_tanh": lambda: QActivation("hard_tanh", name="hard_tanh"),
    "hard_sigmoid": lambda: QActivation("hard_sigmoid", name="hard_sigmoid"),
    "qa_tanh": lambda: QActivation("tanh", name="qa_tanh"),
    "qa_relu": lambda: QActivation("relu", name="qa_relu"),
    "q_relu_bare": lambda: QActivation("quantized_relu", name="q_relu_bare"),
    "q_hswish": lambda: QActivation("quantized_hswish(8,3)", name="q_hswish"),
    "q_binary_bare": lambda: QActivation("binary", name="q_binary_bare"),
    "q_ternary_bare": lambda: QActivation("ternary", name="q_ternary_bare"),
    "k_relu": lambda: keras.layers.Activation("relu", name="k_relu"),
    "k_tanh": lambda: keras.layers.Activation("tanh", name="k_tanh"),
    "k_sigmoid": lambda: keras.layers.Activation("sigmoid", name="k_sigmoid"),
    "k_ReLU": lambda: keras.layers.ReLU(name="k_ReLU"),
    "k_ReLU6": lambda: keras.layers.ReLU(max_value=6.0, name="k_ReLU6"),
    "k_leaky": lambda: keras.layers.LeakyReLU(negative_slope=0.25, name="k_leaky"),
    "k_elu": lambda: keras.layers.ELU(name="k_elu"),
}
LUT_BRANCHES = (
    "binary_tanh",
    "binary_sigmoid",
    "hard_tanh",
    "hard_sigmoid",
    "qa_tanh",
    "q_hswish",
    "k_tanh",
    "k_sigmoid",
    "k_ReLU6",
    "k_leaky",
    "k_elu",
    "d_binary_tanh_activation",
    "d_q_tanh",
    "d_hard_sigmoid_activation",
    "c_hard_tanh_activation",
)


def activations_model() -> keras.Model:
    inp = keras.Input((8,))
    x = QActivation("quantized_bits(8,4,alpha=1)", name="in_q")(inp)
    outs = [make()(x) for make in BRANCHES.values()]
    outs.append(
        QActivation("quantized_bits(6,2,alpha=1)", name="after_linear")(
            keras.layers.Activation("linear", name="k_linear")(x)
        )
    )
    narrow = QActivation("quantized_bits(5,2,alpha=1)", name="narrow")(x)
    outs.append(QDense(4, activation="binary_tanh", name="d_binary_tanh", **W)(narrow))
    outs.append(QActivation("tanh", name="d_q_tanh")(QDense(4, activation="quantized_bits(8,3,alpha=1)", **W)(narrow)))
    outs.append(QDense(4, activation="hard_sigmoid", name="d_hard_sigmoid", **W)(narrow))
    outs.append(QDense(4, activation="relu", name="d_relu", **W)(narrow))
    conv = QConv1D(2, 3, activation="hard_tanh", name="c_hard_tanh", **W)(keras.layers.Reshape((8, 1))(narrow))
    outs.append(keras.layers.Flatten()(conv))
    return keras.Model(inp, keras.layers.Concatenate()(outs))


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    keras.utils.set_random_seed(7)
    model = activations_model()
    hls = compile_all({"act": model}, tmp_path_factory.mktemp("activations"))
    return model, hls


def test_activations_bit_exact(compiled):
    model, hls = compiled
    x = random_inputs((8,), seed=3)
    x = np.concatenate([x, np.zeros((N_ZERO_ROWS, 8), np.float32)])
    for (name, backend), (hm, seconds) in hls.items():
        luts = {n.name for n in hm.graph.values() if n.class_name == "UnaryLUT"}
        assert set(LUT_BRANCHES) <= luts, f"missing lookup tables: {sorted(set(LUT_BRANCHES) - luts)}"
        assert_bit_exact(model, hm, x, f"{name}/{backend} ({seconds:.0f} s compile)")
        y = np.asarray(hm.predict(np.ascontiguousarray(x[-N_ZERO_ROWS:]))).reshape(N_ZERO_ROWS, -1)
        np.testing.assert_array_equal(y[:, :8], -1.0)  # binary_tanh (first branch) at exactly 0: QKeras' -1


def test_binary_tanh_is_qkeras():
    """QKeras' definition 2 * round(clip(0.5 x + 0.5, 0, 1)) - 1 with round half to even, on every
    value of the fixed<8,4> grid the model feeds it."""
    from keras import ops

    grid = np.arange(-128, 128, dtype=np.float32) / 16
    expected = 2 * np.round(np.clip(0.5 * grid.astype(np.float64) + 0.5, 0, 1)) - 1
    got = np.asarray(ops.convert_to_numpy(binary_tanh(ops.convert_to_tensor(grid))))
    np.testing.assert_array_equal(got, expected)
    assert got[grid == 0] == -1 and got[grid == 1 / 16] == 1


def _model(layer: keras.layers.Layer, before: keras.layers.Layer | None = None) -> keras.Model:
    inp = keras.Input((6,))
    x = QActivation("quantized_bits(8,3,alpha=1)", name="in_q")(inp)
    if before is not None:
        x = before(x)
    return keras.Model(inp, layer(x))


@pytest.mark.parametrize(
    "layer",
    [
        lambda: keras.layers.Activation("softmax", name="sm"),
        lambda: keras.layers.Softmax(name="sm"),
        lambda: QDense(4, activation="softmax", name="sm", **W),
        lambda: QActivation("softmax", name="sm"),
    ],
    ids=["Activation", "Softmax", "QDense", "QActivation"],
)
def test_float_softmax_refusal_names_alternatives(tmp_path, layer):
    with pytest.raises((ValueError, NotImplementedError), match="sm") as info:
        hls4ml_plugin.convert(_model(layer()), tmp_path / "p", compile=False)
    assert "swap_softmax" in str(info.value) and "allow_inexact=True" in str(info.value)


def test_wide_sigmoid_refused(tmp_path):
    """sigmoid on [-32, 32): its float32 outputs (down to 1.3e-14) need a > 64-bit table."""
    inp = keras.Input((6,))
    x = QActivation("quantized_bits(12,5,alpha=1)", name="wide")(inp)
    model = keras.Model(inp, keras.layers.Activation("sigmoid", name="sig")(x))
    with pytest.raises(NotImplementedError, match="'sig'.*sigmoid.*-bit fixed-point table"):
        hls4ml_plugin.convert(model, tmp_path / "p", compile=False)


@pytest.mark.parametrize(
    "fused",
    [
        lambda: (QDense(4, activation="tanh", name="fused", **W), None),
        lambda: (keras.layers.Activation("sigmoid", name="fused"), QDense(4, name="acc", **W)),
    ],
    ids=["QDense-activation", "Activation-after-accumulator"],
)
def test_transcendental_on_accumulator_refused(tmp_path, fused):
    """TensorFlow (oneDNN) fuses tanh/sigmoid into the matrix product with another implementation."""
    layer, before = fused()
    with pytest.raises(NotImplementedError, match="'fused'.*no quantizer rounded.*QActivation"):
        hls4ml_plugin.convert(_model(layer, before), tmp_path / "p", compile=False)


def test_plain_keras_model_keeps_hls4ml_conversion(tmp_path):
    """Without hgq_compat layers, hls4ml's own converters handle Keras activations as before."""
    inp = keras.Input((6,))
    x = keras.layers.Dense(4, name="dense")(inp)
    x = keras.layers.Activation("tanh", name="act")(x)
    hm = hls4ml.converters.convert_from_keras_model(
        keras.Model(inp, x), output_dir=str(tmp_path / "p"), backend="Vitis"
    )
    node = hm.graph["act"]
    assert (node.class_name, node.get_attr("activation")) == ("Activation", "tanh")  # not a lookup table
