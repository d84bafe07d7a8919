"""Depthwise/separable/transposed convolutions, batch normalization, pooling, folded
batchnorm and adaptive activation against real QKeras 0.9.0 goldens."""

import importlib

import keras
import numpy as np
import pytest

from tests import golden
from tests.conftest import grad, to_np

MODULES = {
    "QDepthwiseConv2D": "conv_extra",
    "QSeparableConv1D": "conv_extra",
    "QSeparableConv2D": "conv_extra",
    "QConv2DTranspose": "conv_extra",
    "QBatchNormalization": "normalization",
    "QAveragePooling2D": "pooling",
    "QGlobalAveragePooling2D": "pooling",
    "QConv2DBatchnorm": "folded",
    "QDepthwiseConv2DBatchnorm": "folded",
    "QAdaptiveActivation": "adaptive",
}
CASES = [c for cls in MODULES for c in golden.cases("layers", **{"class": cls})]


def layer_class(name):
    return getattr(importlib.import_module(f"hgq_compat.layers.{MODULES[name]}"), name)


def build_layer(case, **extra):
    layer = layer_class(case["class"])(**case["kwargs"], **extra)
    layer.build((None, *case["input_shape"]))
    weights = [golden.array("layers", w["key"]) for w in case["weights"]]
    if weights and case["get_weights_len"]:
        # QKeras' scalar `iteration` counter is stored with shape (1,)
        layer.set_weights([np.reshape(w, tuple(v.shape)) for w, v in zip(weights, layer.weights)])
    return layer


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_layer_output_matches_qkeras(case):
    layer = build_layer(case)
    x = golden.array("layers", case["input"])
    y = to_np(layer(x, training=False))
    np.testing.assert_allclose(y, golden.array("layers", case["output"]), rtol=1e-6, atol=1e-6)
    for qw in case.get("quantized_weights", []):
        got = to_np(layer.quantized_weight(qw["name"]))
        np.testing.assert_array_equal(got, golden.array("layers", qw["key"]), err_msg=qw["name"])


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_layer_training_matches_qkeras(case):
    layer = build_layer(case)
    x = golden.array("layers", case["input"])
    g = golden.array("layers", case["g"])
    (gx,) = grad(lambda xx: keras.ops.sum(keras.ops.multiply(layer(xx, training=True), g)), x)
    np.testing.assert_allclose(gx, golden.array("layers", case["train_grads"]["input"]), rtol=1e-5, atol=1e-5)
    layer = build_layer(case)
    y = to_np(layer(x, training=True))
    np.testing.assert_allclose(y, golden.array("layers", case["train_output"]), rtol=1e-6, atol=1e-6)


STATEFUL = [c for c in CASES if c.get("weights_after_train_call")]


def _variable(layer, qkeras_name):
    short = qkeras_name.split("/")[-1].split(":")[0]
    matches = [v for v in layer.weights if v.path.split("/")[-1] == short]
    assert len(matches) == 1, (qkeras_name, [v.path for v in layer.weights])
    return matches[0]


@pytest.mark.parametrize("case", STATEFUL, ids=[c["id"] for c in STATEFUL])
def test_state_after_training_call_matches_qkeras(case):
    """Moving statistics / EMA / iteration after one training call, and the next output."""
    layer = build_layer(case)
    x = golden.array("layers", case["input"])
    layer(x, training=True)
    for name, key in case["weights_after_train_call"].items():
        got = to_np(_variable(layer, name))
        want = golden.array("layers", key)
        np.testing.assert_allclose(got.reshape(want.shape), want, rtol=1e-6, atol=1e-7, err_msg=name)
    if case.get("post_train_output"):
        y = to_np(layer(x, training=False))
        np.testing.assert_allclose(y, golden.array("layers", case["post_train_output"]), rtol=1e-6, atol=1e-6)
    state = case.get("post_train_state")
    if state:
        np.testing.assert_array_equal(to_np(layer.quantizer_integer), np.asarray(state["quantizer_integer"], "float32"))
