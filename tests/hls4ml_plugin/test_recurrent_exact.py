"""Recurrent layers in the hls4ml export: QSimpleRNN, QLSTM, QGRU and QBidirectional of them convert
to a C simulation equal to Keras bit for bit (io_parallel), unrolled over time (hls4ml 1.3's own
recurrent layers cannot be exact, see handlers/recurrent.py).

Two models, one compile each (unrolled recurrent graphs compile slowly): the QSimpleRNN model on
Vivado, the QLSTM/QGRU model on Vitis (the two backends generate the same io_parallel code).
"""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

import hls4ml_plugin
from hgq_compat import QGRU, QLSTM, QActivation, QBidirectional, QSimpleRNN, quantization_config

from .conftest import assert_bit_exact, compile_all, random_inputs

T, N = 3, 3
K = "quantized_bits(6,1,alpha=1)"
W = dict(kernel_quantizer=K, recurrent_quantizer=K, bias_quantizer="quantized_bits(6,2,alpha=1)")
IN = "quantized_bits(6,2,alpha=1)"


def _randomize(model: keras.Model, seed: int = 0) -> None:
    """Biases away from zero (as after training), so every activation regime is reached."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        for inner in getattr(layer, "forward_layer", None), getattr(layer, "backward_layer", None), layer:
            cell = getattr(inner, "cell", None)
            if cell is not None and cell.use_bias:
                cell.bias.assign(rng.normal(0, 0.5, cell.bias.shape))


def recurrent_model() -> keras.Model:
    """Three branches, concatenated (one compile per backend):
    - quantized_tanh (a lookup table) with return_sequences and no state quantizer (the state is
      the quantized tanh output), then quantized_relu going backwards with a state quantizer;
    - QBidirectional (concat, sequences) of relu cells with a state quantizer, then one (sum) of
      quantized_relu cells;
    - an HGQ-mode QSimpleRNN."""
    inp = keras.Input((T, N))
    x = QActivation(IN, name="qin")(inp)
    a = QSimpleRNN(4, activation="quantized_tanh(6)", return_sequences=True, name="rnn_tanh", **W)(x)
    a = QSimpleRNN(
        3,
        activation="quantized_relu(6,2)",
        state_quantizer="quantized_bits(8,3)",
        go_backwards=True,
        name="rnn_relu",
        **W,
    )(a)
    b = QBidirectional(
        QSimpleRNN(3, activation="relu", state_quantizer="quantized_bits(8,3)", return_sequences=True, **W),
        name="bi_concat",
    )(x)
    b = QActivation("quantized_bits(6,2,alpha=1)", name="mid")(b)
    b = QBidirectional(
        QSimpleRNN(2, activation="quantized_relu(6,2)", state_quantizer="quantized_bits(8,3)", **W),
        merge_mode="sum",
        name="bi_sum",
    )(b)
    with quantization_config(mode="hgq"):  # trainable per-element weight and state bitwidths
        c = QSimpleRNN(2, activation="quantized_relu(6,2)", state_quantizer="quantized_bits(8,3)", name="rnn_hgq", **W)(
            x
        )
    model = keras.Model(inp, keras.layers.Concatenate(name="all")([a, b, c]))
    _randomize(model)
    return model


def gated_model() -> keras.Model:
    """QLSTM (quantized_sigmoid gates, quantized_tanh), QGRU (QKeras' float hard_sigmoid, sequences,
    going backwards), QGRU reset_after=True with relu, and QBidirectional of a 2-unit QLSTM and a
    3-unit QGRU."""
    w = dict(
        kernel_quantizer="quantized_bits(4,1,alpha=1)",
        recurrent_quantizer="quantized_bits(4,1,alpha=1)",
        bias_quantizer="quantized_bits(4,1,alpha=1)",
    )
    state = "quantized_bits(6,2)"
    inp = keras.Input((2, 2))  # two steps: the first and one recurrent step (compile time)
    x = QActivation("quantized_bits(4,2,alpha=1)", name="qin")(inp)
    a = QLSTM(
        2,
        activation="quantized_tanh(4)",
        recurrent_activation="quantized_sigmoid(4)",
        state_quantizer=state,
        name="lstm",
        **w,
    )(x)
    b = QGRU(
        2,
        activation="quantized_tanh(4)",
        state_quantizer=state,
        return_sequences=True,
        go_backwards=True,
        name="gru",
        **w,
    )(x)
    c = QGRU(
        2,
        activation="relu",
        recurrent_activation="quantized_sigmoid(4)",
        state_quantizer=state,
        reset_after=True,
        name="gru_after",
        **w,
    )(x)
    sig = "quantized_sigmoid(4)"
    d = QBidirectional(
        QLSTM(2, activation="quantized_relu(4,1)", recurrent_activation=sig, state_quantizer=state, **w),
        backward_layer=QGRU(
            3, activation="quantized_tanh(4)", recurrent_activation=sig, state_quantizer=state, go_backwards=True, **w
        ),
        name="bi_gated",
    )(x)
    model = keras.Model(inp, keras.layers.Concatenate(name="all")([a, keras.layers.Flatten(name="flat")(b), c, d]))
    _randomize(model, 2)
    return model


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    keras.utils.set_random_seed(7)
    models = {"rnn": recurrent_model(), "gated": gated_model()}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hls = compile_all(
            models, tmp_path_factory.mktemp("recurrent"), backends={"rnn": ("Vivado",), "gated": ("Vitis",)}
        )
    float32 = [str(w.message) for w in caught if "float32" in str(w.message)]
    assert not float32, float32  # every sum fits float32: exactness is guaranteed, not just observed
    return models, hls


@pytest.mark.parametrize("name, backend", [("rnn", "Vivado"), ("gated", "Vitis")])
def test_recurrent_bit_exact(compiled, name, backend):
    models, hls = compiled
    x = random_inputs(tuple(models[name].input_shape[1:]), seed=3)
    assert assert_bit_exact(models[name], hls[(name, backend)][0], x, f"{name} {backend}") == 0


def _refused(layer: keras.layers.Layer, tmp_path, match: str) -> str:
    inp = keras.Input((T, N))
    model = keras.Model(inp, layer(QActivation(IN)(inp)))
    with pytest.raises((NotImplementedError, ValueError), match=match) as err:
        hls4ml_plugin.convert(model, tmp_path / layer.name, compile=False)
    return str(err.value)


def test_recurrent_refusals_name_the_fix(tmp_path):
    message = _refused(QSimpleRNN(3, activation="tanh", name="float_tanh", **W), tmp_path, "float_tanh")
    assert "quantized_tanh" in message and "allow_inexact=True" in message
    message = _refused(QLSTM(3, recurrent_activation="sigmoid", name="float_sigmoid", **W), tmp_path, "float_sigmoid")
    assert "quantized_sigmoid" in message
    inp = keras.Input((T, N))
    outs = QSimpleRNN(3, activation="quantized_relu(6,2)", return_state=True, name="with_state", **W)(
        QActivation(IN)(inp)
    )
    with pytest.raises(NotImplementedError, match="with_state.*return_state=True"):
        hls4ml_plugin.convert(keras.Model(inp, outs[0]), tmp_path / "state", compile=False)
    message = _refused(
        QBidirectional(QSimpleRNN(3, activation="quantized_relu(6,2)", **W), merge_mode="mul", name="bi_mul"),
        tmp_path,
        "bi_mul",
    )
    assert "'concat', 'sum'" in message
