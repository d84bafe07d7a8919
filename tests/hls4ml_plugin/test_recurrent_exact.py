"""Recurrent layers in the hls4ml export: QSimpleRNN and QBidirectional(QSimpleRNN) convert to a C
simulation equal to Keras bit for bit (Vivado and Vitis, io_parallel); QLSTM and QGRU are refused
with the measured reason (hls4ml 1.3's LSTM/GRU cannot be exact, see handlers/recurrent.py).
"""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

import hls4ml_plugin
from hgq_compat import QActivation, QBidirectional, QGRU, QLSTM, QSimpleRNN, quantization_config

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
    a = QSimpleRNN(3, activation="quantized_relu(6,2)", state_quantizer="quantized_bits(8,3)", go_backwards=True,
                   name="rnn_relu", **W)(a)
    b = QBidirectional(QSimpleRNN(3, activation="relu", state_quantizer="quantized_bits(8,3)", return_sequences=True,
                                  **W), name="bi_concat")(x)
    b = QActivation("quantized_bits(6,2,alpha=1)", name="mid")(b)
    b = QBidirectional(QSimpleRNN(2, activation="quantized_relu(6,2)", state_quantizer="quantized_bits(8,3)", **W),
                       merge_mode="sum", name="bi_sum")(b)
    with quantization_config(mode="hgq"):  # trainable per-element weight and state bitwidths
        c = QSimpleRNN(2, activation="quantized_relu(6,2)", state_quantizer="quantized_bits(8,3)", name="rnn_hgq",
                       **W)(x)
    model = keras.Model(inp, keras.layers.Concatenate(name="all")([a, b, c]))
    _randomize(model)
    return model


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    keras.utils.set_random_seed(7)
    model = recurrent_model()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hls = compile_all({"rnn": model}, tmp_path_factory.mktemp("recurrent"))
    float32 = [str(w.message) for w in caught if "float32" in str(w.message)]
    assert not float32, float32  # every sum fits float32: exactness is guaranteed, not just observed
    return model, hls


@pytest.mark.parametrize("backend", ["Vivado", "Vitis"])
def test_simple_rnn_bit_exact(compiled, backend):
    model, hls = compiled
    x = random_inputs((T, N), seed=3)
    assert assert_bit_exact(model, hls[("rnn", backend)][0], x, f"recurrent {backend}") == 0


def _refused(layer: keras.layers.Layer, tmp_path, match: str) -> str:
    inp = keras.Input((T, N))
    model = keras.Model(inp, layer(QActivation(IN)(inp)))
    with pytest.raises((NotImplementedError, ValueError), match=match) as err:
        hls4ml_plugin.convert(model, tmp_path / layer.name, compile=False)
    return str(err.value)


def test_lstm_gru_refused_with_measured_reason(tmp_path):
    for layer in (QLSTM(3, state_quantizer="quantized_bits(8,2)", name="lstm", **W),
                  QGRU(3, state_quantizer="quantized_bits(8,2)", name="gru", **W),
                  QBidirectional(QLSTM(3, **W), name="bi_lstm")):
        message = _refused(layer, tmp_path, "cannot equal Keras bit for bit")
        assert "allow_inexact=True" in message and "QSimpleRNN" in message and "10,000 inputs" in message


def test_simple_rnn_refusals_name_the_fix(tmp_path):
    message = _refused(QSimpleRNN(3, activation="tanh", name="float_tanh", **W), tmp_path, "float_tanh")
    assert "quantized_tanh" in message
    inp = keras.Input((T, N))
    outs = QSimpleRNN(3, activation="quantized_relu(6,2)", return_state=True, name="with_state", **W)(
        QActivation(IN)(inp))
    with pytest.raises(NotImplementedError, match="with_state.*return_state=True"):
        hls4ml_plugin.convert(keras.Model(inp, outs[0]), tmp_path / "state", compile=False)
    message = _refused(QBidirectional(QSimpleRNN(3, activation="quantized_relu(6,2)", **W), merge_mode="mul",
                                      name="bi_mul"), tmp_path, "bi_mul")
    assert "'concat', 'sum'" in message
