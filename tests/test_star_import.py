"""``from hgq_compat import *`` gives the names ``from qkeras import *`` gives (QKeras 0.9.0, recorded in
tests/fixtures/qkeras_star_names.json by make_qkeras_star_names.py), as Keras 3 objects."""

import importlib.util
import json
from pathlib import Path

import keras
import numpy as np
import pytest

import hgq_compat
from hgq_compat import _star

ROOT = Path(__file__).resolve().parents[1]
RECORDED = json.loads((ROOT / "tests" / "fixtures" / "qkeras_star_names.json").read_text())["names"]


def _star_namespace() -> dict:
    namespace: dict = {}
    exec("from hgq_compat import *", namespace)  # a fixed import statement
    namespace.pop("__builtins__")
    return namespace


def test_recorded_list_is_qkeras_0_9_0():
    assert len(RECORDED) == 147
    assert {"np", "tf", "K", "keras", "Dense", "Model", "QDense", "quantized_bits"} <= set(RECORDED)


def test_every_qkeras_name_but_the_documented_ones():
    names = set(_star_namespace())
    assert set(_star.UNAVAILABLE) <= set(RECORDED)  # no stale entries
    expected = set(RECORDED) - set(_star.UNAVAILABLE)
    if importlib.util.find_spec("tensorflow") is None:
        expected -= {n for n, path in _star.TF_NAMES.items() if path.startswith("tensorflow")}
    assert sorted(expected - names) == []
    assert sorted(names & set(_star.UNAVAILABLE)) == []
    assert (
        len(expected) == 147 - 8
    )  # 8 documented in _star.UNAVAILABLE (safe_eval, b2t, qtools, qoctave, estimate ported since)
    assert not {"core", "layers", "legacy", "parsing", "training"} & names  # internal subpackages stay out


def test_keras3_equivalents():
    ns = _star_namespace()
    assert ns["np"] is np and ns["keras"] is keras and ns["K"] is keras.backend and ns["ops"] is keras.ops
    for name, origin in RECORDED.items():
        if origin.startswith("type tf_keras.src.layers") or origin.startswith("type tf_keras.src.engine.input"):
            assert ns[name] is getattr(keras.layers, name), name
        if origin.startswith("module qkeras."):
            if name not in _star.UNAVAILABLE:
                assert ns[name] is importlib.import_module(f"hgq_compat.{name}"), name
        elif origin.endswith(" qkeras.quantizers") or origin.endswith(" qkeras.qlayers"):
            assert ns[name] is getattr(hgq_compat.quantizers, name, None) or ns[name] is getattr(
                hgq_compat.qlayers, name
            )
    assert ns["Model"] is keras.Model and ns["to_categorical"] is keras.utils.to_categorical
    assert np.array_equal(ns["to_categorical"]([0, 2], 3), [[1, 0, 0], [0, 0, 1]])


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="tensorflow not installed")
def test_tf_is_tensorflow():
    import tensorflow

    ns = _star_namespace()
    assert ns["tf"] is tensorflow
    assert float(ns["tf"].reduce_sum(ns["tf"].constant([1.0, 2.5]))) == 3.5


@pytest.mark.parametrize("name", sorted(_star.UNAVAILABLE))
def test_unavailable_names_explain_and_are_documented(name):
    with pytest.raises(AttributeError, match="QKeras 0.9.0 exports it"):
        getattr(hgq_compat, name)
    guide = (ROOT / "migration_guide" / "README.md").read_text()
    assert f"`{name}`" in guide, f"{name} is not listed in migration_guide/README.md"


def test_script_relying_on_leaked_names_runs():
    """A QKeras-style script body that uses np, Dense, Model, Input-free Keras and QKeras names
    after only ``from hgq_compat import *``; the quantized output is checked by hand."""
    script = """
from hgq_compat import *
x_in = keras.Input((2,))
h = QDense(1, kernel_quantizer=quantized_bits(4, 0, alpha=1), bias_quantizer=quantized_bits(4, 0, alpha=1),
           name="qd")(x_in)
y = Dense(1, use_bias=False, kernel_initializer="ones", name="d")(h)
model = Model(x_in, y)
model.get_layer("qd").set_weights([np.array([[0.3], [-0.55]], dtype="float32"), np.array([0.1], dtype="float32")])
out = model.predict(np.array([[1.0, 2.0]], dtype="float32"), verbose=0)
"""
    ns: dict = {}
    exec(script, ns)
    # quantized_bits(4,0,alpha=1): step 1/8, half to even: 0.3 -> 0.25, -0.55 -> -0.5, 0.1 -> 0.125
    assert ns["out"].tolist() == [[0.25 * 1.0 - 0.5 * 2.0 + 0.125]]


def test_qkeras_helper_functions():
    ns = _star_namespace()
    init = ns["get_quantized_initializer"]("he_normal", 0.5)
    assert init.get_config() == keras.initializers.VarianceScaling(1.0, "fan_in", "normal").get_config()
    assert init.scale == 1.0
    init = ns["get_quantized_initializer"]("random_uniform", 0.25)
    assert (init.minval, init.maxval) == (-0.25, 0.25)
    assert ns["get_quantized_initializer"]("zeros", 0.25) == "zeros"
    q = ns["quantized_bits"](4, 2, alpha="auto_po2")
    assert ns["get_weight_scale"](q) == 1.0  # not called yet
    q(np.array([[0.23, 2.76, 0.1, 0.33], [0.53, 0.16, 0.3, 1.43]], dtype="float32"))  # NOTES.md reference vector
    assert np.asarray(ns["get_weight_scale"](q)).tolist() == [[0.125, 1.0, 0.0625, 0.5]]
    assert ns["get_initializer"](None) is None
    assert isinstance(ns["get_initializer"]("zeros"), keras.initializers.Zeros)
    assert ns["get_initializer"](np.ones) is np.ones
    with pytest.raises(ValueError, match="initializer identifier"):
        ns["get_initializer"](3)
