"""converter: fidelity against real QKeras 0.9.0 goldens, published models, qkeras-v3 archive, HGQ mode,
config dialects and mixed plain-Keras functional graphs."""

from __future__ import annotations

import copy
import json
import warnings

import keras
import numpy as np
import pytest

import hgq_compat
from hgq_compat.legacy import convert, convert_qkeras_model
from hgq_compat.legacy.converter import saved_variables

from .helpers import (
    MODELS_DIR,
    PUBLISHED_DIR,
    V3_ARCHIVE,
    arr,
    model_case,
    model_names,
    published_case,
    published_names,
    write_keras2_weights,
)

FORMATS = ["h5", "json"]


def _convert_golden(name: str, fmt: str, **kw) -> keras.Model:
    case = model_case(name)
    if fmt == "h5":
        return convert_qkeras_model(MODELS_DIR.parent / case["h5"], **kw)
    return convert_qkeras_model(MODELS_DIR.parent / case["json"], MODELS_DIR.parent / case["weights_h5"], **kw)


def _layer_outputs(model: keras.Model, names: list[str], x: np.ndarray) -> dict[str, np.ndarray]:
    probe = keras.Model(model.inputs, [model.get_layer(n).output for n in names])
    outs = probe.predict(x, verbose=0)
    if len(names) == 1:
        outs = [outs]
    return {n: np.asarray(o) for n, o in zip(names, outs)}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", model_names())
def test_golden_model(name, fmt):
    """Every golden model in every file format: QActivation outputs exact, float outputs to 1e-5."""
    case = model_case(name)
    model = _convert_golden(name, fmt)
    x = arr("models", case["input"])
    y = np.asarray(model.predict(x, verbose=0))
    np.testing.assert_allclose(y, arr("models", case["output"]), rtol=1e-5, atol=1e-7)
    names = list(case["layer_outputs"])
    outs = _layer_outputs(model, names, x)
    for lname in names:
        ref = arr("models", case["layer_outputs"][lname])
        if lname in case["qactivation_layers"]:
            np.testing.assert_array_equal(outs[lname], ref, err_msg=f"{name}: QActivation {lname}")
        else:
            np.testing.assert_allclose(outs[lname], ref, rtol=1e-5, atol=1e-6, err_msg=f"{name}: layer {lname}")


@pytest.mark.parametrize("name", model_names())
def test_golden_model_hgq_equals_plain(name):
    """--hgq: per-element trainable bitwidths initialised so outputs equal the plain conversion."""
    case = model_case(name)
    plain = _convert_golden(name, "h5")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hgq = _convert_golden(name, "h5", hgq=True)
    x = arr("models", case["input"])
    np.testing.assert_array_equal(np.asarray(hgq.predict(x, verbose=0)), np.asarray(plain.predict(x, verbose=0)))
    from hgq_compat.core.quantizer import FixedPointQuantizer

    fpqs = [l for l in hgq._flatten_layers(recursive=True) if isinstance(l, FixedPointQuantizer)]
    assert fpqs and all(q.spec.trainable_f for q in fpqs)
    assert any(tuple(q.f.shape) not in ((), (1,)) for q in fpqs)  # per-element
    kept = [l for l in hgq._flatten_layers(recursive=True) if hasattr(l, "qconfig") and not l.hgq]
    for layer in kept:  # only layers with a quantizer that is not fixed point stay in QKeras mode
        kinds = [q.to_spec().kind for q in layer.quantizers if q is not None and hasattr(q, "to_spec")]
        assert any(k != "fixed" for k in kinds), layer.name
        assert any(
            f"layer {layer.name!r}" in str(w.message) and "kept in QKeras mode" in str(w.message) for w in caught
        )


def test_nested_inner_layer_outputs():
    case = model_case("nested")
    model = _convert_golden("nested", "h5")
    inner = model.get_layer("inner")
    assert isinstance(inner, keras.Sequential)
    x = arr("models", case["input"])
    q_in = _layer_outputs(model, ["q_in"], x)["q_in"]
    fc = keras.Model(inner.inputs, inner.get_layer("inner_fc").output).predict(q_in, verbose=0)
    np.testing.assert_allclose(
        fc, arr("models", case["inner_layer_outputs"]["inner"]["inner_fc"]), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("name", published_names())
def test_published_model(name):
    case = published_case(name)
    model = convert_qkeras_model(PUBLISHED_DIR / case["json"], PUBLISHED_DIR / case["weights"])
    x = arr("published", case["input"])
    np.testing.assert_allclose(
        np.asarray(model.predict(x, verbose=0)), arr("published", case["output"]), rtol=1e-5, atol=1e-7
    )
    classes = {l["name"] if "name" in l else l["config"]["name"]: l.get("class_name") for l in case["layers"]}
    n = case["layer_outputs_samples"]
    names = list(case["layer_outputs"])
    outs = _layer_outputs(model, names, x[:n])
    for lname in names:
        ref = arr("published", case["layer_outputs"][lname])
        if classes.get(lname) == "QActivation":
            np.testing.assert_array_equal(outs[lname], ref, err_msg=f"{name}: {lname}")
        else:
            np.testing.assert_allclose(outs[lname], ref, rtol=1e-5, atol=1e-6, err_msg=f"{name}: {lname}")
    for key, qkey in case["quantized_weights"].items():
        lname, role = key.split("/")
        q = keras.ops.convert_to_numpy(model.get_layer(lname).quantized_weight(role))
        ref = arr("published", qkey if isinstance(qkey, str) else qkey["key"])
        np.testing.assert_array_equal(q, ref, err_msg=key)


def test_qkeras_v3_archive_matches_published_3layer():
    """The qkeras-v3 archive holds the same jet tagger as qkeras_3layer: same outputs as real QKeras."""
    case = published_case("qkeras_3layer")
    model = convert_qkeras_model(V3_ARCHIVE)
    assert isinstance(model.get_layer("fc1"), hgq_compat.QDense)
    assert isinstance(model.get_layer("relu1"), hgq_compat.QActivation)
    x = arr("published", case["input"])
    np.testing.assert_allclose(
        np.asarray(model.predict(x, verbose=0)), arr("published", case["output"]), rtol=1e-5, atol=1e-7
    )
    hgq = convert_qkeras_model(V3_ARCHIVE, hgq=True)
    np.testing.assert_array_equal(np.asarray(hgq.predict(x, verbose=0)), np.asarray(model.predict(x, verbose=0)))


def test_report_rows():
    result = convert(PUBLISHED_DIR / "qkeras_3layer.json", PUBLISHED_DIR / "qkeras_3layer_weights.h5")
    rows = {r.layer: r for r in result.rows}
    assert rows["fc1"].params == 16 * 64 + 64
    assert "quantized_bits(6,0,0,alpha=1)" in rows["fc1"].qkeras_quantizers
    assert "kernel" in rows["fc1"].hgq_compat_quantizers and "6" in rows["fc1"].bits
    assert rows["relu1"].qkeras_quantizers.startswith("activation=quantized_relu(6,0)")
    assert rows["softmax"].qkeras_quantizers == "-"


# ------------------------------------------------------------------ dialects on a real model


def _3layer_config() -> dict:
    return json.loads((PUBLISHED_DIR / "qkeras_3layer.json").read_text())


def _to_keras20(cfg: dict) -> dict:
    """Keras 2.0-2.2: Sequential config is the bare list of layers, no InputLayer, quantizer strings."""
    layers = [l for l in cfg["config"]["layers"] if l["class_name"] != "InputLayer"]
    for l in layers:
        for k in ("kernel_quantizer", "bias_quantizer"):
            if k in l["config"]:
                l["config"][k] = "quantized_bits(6,0,alpha=1)"
    return {"class_name": "Sequential", "config": layers, "keras_version": "2.1.6"}


def _to_tf_keras_213(cfg: dict) -> dict:
    """tf-keras 2.13+: module / registered_name / build_config everywhere, InputLayer batch_shape."""

    def tag(obj):
        if isinstance(obj, dict):
            obj = {k: tag(v) for k, v in obj.items() if k != "__passive_serialization__"}
            if "class_name" in obj:
                obj.setdefault("module", "qkeras.qlayers" if obj["class_name"].startswith("Q") else "keras.layers")
                obj.setdefault("registered_name", obj["class_name"])
            return obj
        if isinstance(obj, list):
            return [tag(v) for v in obj]
        return obj

    out = tag(copy.deepcopy(cfg))
    for l in out["config"]["layers"]:
        l["build_config"] = {"input_shape": [None, 16]}
    out["keras_version"] = "2.15.0"
    return out


@pytest.mark.parametrize("dialect", [_to_keras20, _to_tf_keras_213])
def test_dialects_same_numbers(tmp_path, dialect):
    case = published_case("qkeras_3layer")
    p = tmp_path / "m.json"
    p.write_text(json.dumps(dialect(_3layer_config())))
    model = convert_qkeras_model(p, PUBLISHED_DIR / "qkeras_3layer_weights.h5")
    x = arr("published", case["input"])
    np.testing.assert_allclose(
        np.asarray(model.predict(x, verbose=0)), arr("published", case["output"]), rtol=1e-5, atol=1e-7
    )


# ------------------------------------------------------------------ plain Keras layers in a functional graph


def _mixed_functional(tmp_path):
    """Functional, Keras 2.4 dialect: Dense (plain) -> Reshape -> Conv1D (plain) -> Flatten -> BN ->
    QDense / Dropout branch -> Concatenate -> QActivation -> Activation."""

    def L(cls, name, inbound, **cfg):
        return {
            "class_name": cls,
            "name": name,
            "config": dict(name=name, trainable=True, dtype="float32", **cfg),
            "inbound_nodes": [[[n, 0, 0, {}] for n in inbound]] if inbound else [],
        }

    qb = {
        "class_name": "quantized_bits",
        "config": {"bits": 8, "integer": 1, "symmetric": 0, "alpha": 1, "keep_negative": True},
    }
    layers = [
        L("InputLayer", "inp", [], batch_input_shape=[None, 6], sparse=False, ragged=False),
        L("Dense", "d0", ["inp"], units=8, activation="relu", use_bias=True),
        L("Reshape", "rs", ["d0"], target_shape=[4, 2]),
        L(
            "Conv1D",
            "c0",
            ["rs"],
            filters=3,
            kernel_size=[2],
            strides=[1],
            padding="valid",
            data_format="channels_last",
            dilation_rate=[1],
            groups=1,
            activation="linear",
            use_bias=True,
        ),
        L("Flatten", "fl", ["c0"], data_format="channels_last"),
        L("BatchNormalization", "bn", ["fl"], axis=[1], momentum=0.99, epsilon=0.001, center=True, scale=True),
        L(
            "QDense",
            "qd",
            ["bn"],
            units=5,
            activation="linear",
            use_bias=True,
            kernel_quantizer=qb,
            bias_quantizer="quantized_bits(8,1,alpha=1)",
            kernel_range=None,
            bias_range=None,
        ),
        L("Dropout", "dr", ["bn"], rate=0.5, noise_shape=None, seed=None),
        L("Concatenate", "cat", ["qd", "dr"], axis=-1),
        L("QActivation", "qa", ["cat"], activation="quantized_relu(6,2)"),
        L("Activation", "sm", ["qa"], activation="softmax"),
    ]
    cfg = {
        "class_name": "Functional",
        "keras_version": "2.4.0",
        "backend": "tensorflow",
        "config": {"name": "mixed", "layers": layers, "input_layers": [["inp", 0, 0]], "output_layers": [["sm", 0, 0]]},
    }
    rng = np.random.default_rng(0)
    w = {
        "d0": [("d0/kernel:0", rng.normal(size=(6, 8))), ("d0/bias:0", rng.normal(size=8))],
        "c0": [("c0/kernel:0", rng.normal(size=(2, 2, 3))), ("c0/bias:0", rng.normal(size=3))],
        "bn": [
            ("bn/gamma:0", rng.uniform(0.5, 2, 9)),
            ("bn/beta:0", rng.normal(size=9)),
            ("bn/moving_mean:0", rng.normal(size=9)),
            ("bn/moving_variance:0", rng.uniform(0.5, 2, 9)),
        ],
        "qd": [("qd/kernel:0", rng.normal(size=(9, 5)) / 3), ("qd/bias:0", rng.normal(size=5) / 3)],
    }
    weights = {n: w.get(n, []) for n in [l["name"] for l in layers]}
    (tmp_path / "mixed.json").write_text(json.dumps(cfg))
    write_keras2_weights(tmp_path / "mixed_weights.h5", weights)
    write_keras2_weights(tmp_path / "mixed.h5", weights, model_config=cfg)
    return cfg, w


def _reference_mixed(w):
    inp = keras.Input((6,))
    d0 = keras.layers.Dense(8, activation="relu")
    c0 = keras.layers.Conv1D(3, 2)
    bn = keras.layers.BatchNormalization()
    qd = hgq_compat.QDense(
        5, kernel_quantizer="quantized_bits(8,1,alpha=1)", bias_quantizer="quantized_bits(8,1,alpha=1)"
    )
    h = bn(keras.layers.Flatten()(c0(keras.layers.Reshape((4, 2))(d0(inp)))))
    out = keras.layers.Activation("softmax")(
        hgq_compat.QActivation("quantized_relu(6,2)")(keras.layers.Concatenate()([qd(h), keras.layers.Dropout(0.5)(h)]))
    )
    model = keras.Model(inp, out)
    for layer, name in ((d0, "d0"), (c0, "c0"), (bn, "bn"), (qd, "qd")):
        layer.set_weights([np.asarray(v, np.float32) for _, v in w[name]])
    return model


@pytest.mark.parametrize("form", ["h5", "json"])
def test_mixed_functional_plain_keras_layers(tmp_path, form):
    _, w = _mixed_functional(tmp_path)
    if form == "h5":
        model = convert_qkeras_model(tmp_path / "mixed.h5")
    else:
        model = convert_qkeras_model(tmp_path / "mixed.json", tmp_path / "mixed_weights.h5")
    assert isinstance(model.get_layer("d0"), keras.layers.Dense)
    assert isinstance(model.get_layer("bn"), keras.layers.BatchNormalization)
    x = np.random.default_rng(1).normal(size=(16, 6)).astype(np.float32)
    ref = _reference_mixed(w).predict(x, verbose=0)
    np.testing.assert_allclose(model.predict(x, verbose=0), ref, rtol=1e-5, atol=1e-7)


def test_saved_variables_skip_hgq_state():
    model = convert_qkeras_model(V3_ARCHIVE, hgq=True)
    names = [v.name for v in saved_variables(model.get_layer("fc1"))]
    assert names == ["kernel", "bias"]


def test_converted_model_saves_and_reloads(tmp_path):
    model = convert_qkeras_model(V3_ARCHIVE)
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    x = arr("published", published_case("qkeras_3layer")["input"])
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
