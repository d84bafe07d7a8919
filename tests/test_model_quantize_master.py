"""model_quantize of ReLU / LeakyReLU / recurrent / Bidirectional layers and prefer_qadaptiveactivation against
goldens from real QKeras master (QKeras 0.9.0's model_quantize cannot run under tf-keras 2.19: it fails to locate
its own classes)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from hgq_compat import get_quantizer
from hgq_compat.utils import model_quantize
from tests import golden

L = keras.layers


def _case(cid: str) -> dict:
    return next(c for c in golden.load("master")[0] if c["id"] == cid)


def _acts(name: str) -> tuple:
    return {
        "relu": (L.ReLU(name="act1"), L.ReLU(negative_slope=0.125, name="act2")),
        "leakyrelu": (L.ReLU(name="act1"), L.LeakyReLU(negative_slope=0.125, name="act2")),
        "relu_string": (L.ReLU(name="act1"), L.Activation("relu", name="act2")),
        "adaptive": (L.Activation("relu", name="act1"), L.Activation("relu", name="act2")),
        "adaptive_backup": (L.Activation("relu", name="act1"), L.Activation("relu", name="act2")),
    }[name]


def _quantized(name: str) -> tuple[keras.Model, dict]:
    case = _case(f"model_quantize/{name}")
    a1, a2 = _acts(name)
    m = keras.Sequential([keras.Input(shape=(6,)), L.Dense(5, name="fc1"), a1, L.Dense(4, name="fc2"), a2])
    m.set_weights([golden.array("master", k) for k in case["weights"]])
    return model_quantize(
        m, case["quantizer_config"], case["activation_bits"], transfer_weights=True, **case["kwargs"]
    ), case


@pytest.mark.parametrize("name", ["relu", "relu_string", "adaptive", "adaptive_backup"])
def test_model_quantize_matches_qkeras_master(name):
    qm, case = _quantized(name)
    assert [[l.name, type(l).__name__] for l in qm.layers] == case["layers"]
    for lname, cfg in case["configs"].items():
        layer = qm.get_layer(lname)
        if type(layer).__name__ == "QActivation":
            assert layer.quantizer.get_config() == get_quantizer(cfg["activation"]).get_config(), lname
        else:
            mine = layer.get_config()
            assert (mine["activation"], mine["total_bits"]) == (cfg["activation"], cfg["total_bits"]), lname
    x = golden.array("master", _case("model_quantize/input")["x"])
    y = keras.ops.convert_to_numpy(qm(x, training=False))
    np.testing.assert_array_equal(y, golden.array("master", case["output"]))


def test_model_quantize_leakyrelu_equals_relu_with_slope():
    """QKeras master raises KeyError('max_value') for a LeakyReLU layer; hgq_compat quantizes it with the
    'leakyrelu' entry, giving QKeras' numbers for the equivalent ReLU(negative_slope=0.125) model."""
    assert _case("model_quantize/leakyrelu")["error"].startswith("KeyError")
    qm, _ = _quantized("leakyrelu")
    assert type(qm.get_layer("act2")).__name__ == "QActivation"
    x = golden.array("master", _case("model_quantize/input")["x"])
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(qm(x, training=False)),
        golden.array("master", _case("model_quantize/relu")["output"]),
    )


def test_model_quantize_refuses_adaptive_quantizer_with_integer_bits():
    m = keras.Sequential([keras.Input(shape=(3,)), L.Activation("relu", name="a")])
    with pytest.raises(ValueError, match="'a'.*QAdaptiveActivation.*total bits only"):
        model_quantize(m, {"QAdaptiveActivation": {"relu": "quantized_relu(6,2)"}}, 4, prefer_qadaptiveactivation=True)


def test_model_quantize_recurrent_and_bidirectional():
    case = _case("model_quantize_rnn/rnn")
    m = keras.Sequential(
        [
            keras.Input(shape=(5, 3)),
            L.SimpleRNN(3, return_sequences=True, name="srnn"),
            L.LSTM(3, return_sequences=True, name="lstm"),
            L.Bidirectional(L.GRU(2, name="gru"), name="bigru"),
            L.Dense(2, name="fc"),
        ]
    )
    m.set_weights([golden.array("master", k) for k in case["weights"]])
    qm = model_quantize(m, case["quantizer_config"], case["activation_bits"], transfer_weights=True)
    assert [[l.name, type(l).__name__] for l in qm.layers] == case["layers"]
    x = golden.array("master", _case("model_quantize_rnn/input")["x"])
    y = keras.ops.convert_to_numpy(qm(x, training=False))
    # the recurrences accumulate in float32 (in QKeras too): float32 tolerance
    np.testing.assert_allclose(y, golden.array("master", case["output"]), rtol=1e-5, atol=1e-6)
