"""qkeras.estimate's operation table and accumulator analysis against real QKeras master
(tests/fixtures/qkeras_goldens/master_estimate.json, section 'master_estimate' of make_qkeras_goldens.py)."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

import hgq_compat
from tests import golden

NAME = "master_estimate"
MODEL_IDS = [c["id"] for c in golden.load(NAME)[0] if c["id"].startswith("model/")]
MODE_IDS = [c["id"] for c in golden.load(NAME)[0] if c["id"].startswith("get_quant_mode/")]


def _case(cid: str) -> dict:
    return next(c for c in golden.load(NAME)[0] if c["id"] == cid)


def _build(spec: list) -> keras.Model:
    """The golden script's `build_estimate_model`, with hgq_compat's layers."""
    shape, layers, sequential = spec
    objs = []
    for i, (cls, kw, _) in enumerate(layers):
        mod = keras.layers if cls in ("Flatten", "Add") else hgq_compat
        objs.append(getattr(mod, cls)(**kw, name=f"l{i}_{cls.lower()}"))
    if sequential:
        return keras.Sequential([keras.Input(shape=tuple(shape), name="inp"), *objs], name="est_seq")
    inp = keras.Input(shape=tuple(shape), name="inp")
    outs = []
    for obj, (_, _, ins) in zip(objs, layers):
        args = [inp if j < 0 else outs[j] for j in ins]
        outs.append(obj(args if len(args) > 1 else args[0]))
    return keras.Model(inp, outs[-1], name="est_model")


@pytest.fixture(scope="module")
def models() -> dict:
    out = {}
    for cid in MODEL_IDS:
        case = _case(cid)
        model = _build(case["spec"])
        for name, keys in case["weights"].items():
            model.get_layer(name).set_weights([golden.array(NAME, k) for k in keys])
        out[cid] = (model, case, golden.array(NAME, case["x"]))
    return out


def _plain(obj: object) -> object:
    """Tuples as lists and numpy numbers as Python numbers, as the goldens are stored."""
    return json.loads(json.dumps(obj, default=lambda o: o.item() if hasattr(o, "item") else str(o)))


def _check(case: dict, key: str, fn) -> None:
    if key + "_error" in case:
        expected = case[key + "_error"].split(":")[0]
        with pytest.raises(Exception) as info:
            fn()
        assert type(info.value).__name__ == expected
    else:
        assert _plain(fn()) == case[key]


@pytest.mark.parametrize("cid", MODEL_IDS)
def test_extract_model_operations(models, cid):
    model, case, _ = models[cid]
    _check(case, "operations", lambda: hgq_compat.extract_model_operations(model))


@pytest.mark.parametrize("cid", MODEL_IDS)
def test_analyze_accumulator(models, cid):
    model, case, x = models[cid]
    ranges = {k: tuple(v) for k, v in case["ranges"].items()}
    _check(case, "accumulator", lambda: hgq_compat.analyze_accumulator(model, ranges))
    _check(
        case, "accumulator_conservative", lambda: hgq_compat.analyze_accumulator_from_sample(model, x, "conservative")
    )
    _check(case, "accumulator_sampled", lambda: hgq_compat.analyze_accumulator_from_sample(model, x, "sampled"))


@pytest.mark.parametrize("cid", MODE_IDS)
def test_get_quant_mode(cid):
    case = _case(cid)
    if "error" in case:  # QKeras fails on these (no `integer`, not in its table, a bad constructor call)
        with pytest.raises(Exception):
            hgq_compat.get_quant_mode(hgq_compat.get_quantizer(case["quantizer"]))
        return
    assert list(hgq_compat.get_quant_mode(hgq_compat.get_quantizer(case["quantizer"]))) == case["mode"]


def test_float_and_linear_modes():
    assert hgq_compat.get_quant_mode(None) == (5, 32, 1)
    assert hgq_compat.get_quant_mode(keras.activations.linear) == (5, 32, 1)


def test_activation_cache_keys_are_the_model_tensors(models):
    model, _, _ = models["model/branches"]
    cache = hgq_compat.create_activation_cache(model)
    assert str(cache[model.get_layer("l0_qactivation").output]) == "quantized_bits(6,2,1)"
    assert str(cache[model.get_layer("l3_add").output]) == "quantized_relu(4,2)"  # the first input leads
    op = hgq_compat.get_operation_type(model.get_layer("l4_qdense"), cache)
    assert op == ("mult", (0, 0), (8, 4), (1, 0))


def test_bad_mode_is_refused():
    model = keras.Sequential([keras.Input((4,)), hgq_compat.QDense(2, kernel_quantizer="quantized_bits(4,0,1)")])
    with pytest.raises(ValueError, match="'conservative', 'sampled'"):
        hgq_compat.analyze_accumulator_from_sample(model, np.zeros((1, 4), np.float32), mode="exact")


SIGNATURE_IDS = [c["id"] for c in golden.load(NAME)[0] if c["id"].startswith("signature/") and "class" in c]
# hgq_compat keeps the parsed quantizer in QDense/QConv2D ``kernel_quantizer`` (QKeras: the argument as given);
# the recurrent cells keep the argument, as QKeras
KNOWN_DIFFERENCES = {("QDense", "kernel_quantizer"), ("QConv2D", "kernel_quantizer")}


def _attrs(layer: object, names: list) -> dict:
    import re

    return {
        a: re.sub(r" at 0x[0-9a-fA-F]+", "", str(getattr(layer, a))) if hasattr(layer, a) else "<missing>"
        for a in names
    }


@pytest.mark.parametrize("cid", SIGNATURE_IDS)
def test_qkeras_master_attributes(cid):
    """str() of the attributes QKeras master code reads (cells' *_quantizer_internal, QAdaptiveActivation's
    quantizer, pooling's average_quantizer_internal, layer.activation), before and after build."""
    case = _case(cid)
    names = [a for a in case["before"] if (case["class"], a) not in KNOWN_DIFFERENCES]
    expected = {
        k: {a: __import__("re").sub(r" at 0x[0-9a-fA-F]+", "", case[k][a]) for a in names} for k in ("before", "built")
    }
    layer = getattr(hgq_compat, case["class"])(**case["kwargs"])
    assert _attrs(layer, names) == expected["before"]
    if case["class"].endswith("Cell"):
        keras.layers.RNN(layer)(keras.Input(shape=tuple([2] + case["shape"])))
    else:
        layer(keras.Input(shape=tuple(case["shape"])))
    assert _attrs(layer, names) == expected["built"]


def test_qbidirectional_layer_attributes():
    case = _case("signature/QBidirectional")
    bi = hgq_compat.QBidirectional(hgq_compat.QLSTM(3, kernel_quantizer="binary", activation="quantized_tanh(4)"))
    assert str(bi.layer.kernel_quantizer) == case["layer_kernel_quantizer"]
    assert str(bi.layer.kernel_quantizer_internal) == case["layer_kernel_quantizer_internal"]
    assert bi.forward_layer.kernel_quantizer["class_name"] == case["forward_kernel_quantizer_class"]
    assert bi.backward_layer.kernel_quantizer["class_name"] == case["backward_kernel_quantizer_class"]
    assert str(bi.forward_layer.activation) == case["activation"]
