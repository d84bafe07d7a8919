"""dialects: Keras 2.0-2.4, tf-keras 2.13+ and Keras 3 configs normalised for hgq_compat classes."""

from __future__ import annotations

import pytest

from hgq_compat.constraints import Clip, QInitializer
from hgq_compat.legacy import dialects
from hgq_compat.legacy.dialects import Context
from hgq_compat.legacy.reader import LegacyConversionError, LegacyNotImplementedError

CTX = Context("model.json", "fc1", "QDense")
QB = {
    "bits": 6,
    "integer": 0,
    "symmetric": 0,
    "alpha": 1,
    "keep_negative": True,
    "use_stochastic_rounding": False,
    "qnoise_factor": 1.0,
}


def test_keras24_passive_serialization_and_batch_input_shape():
    cfg = {
        "name": "fc1",
        "batch_input_shape": [None, 16],
        "dtype": "float32",
        "units": 4,
        "kernel_initializer": {
            "class_name": "QInitializer",
            "config": {
                "initializer": {
                    "class_name": "LecunUniform",
                    "config": {"seed": None},
                    "__passive_serialization__": True,
                },
                "use_scale": True,
                "quantizer": {"class_name": "quantized_bits", "config": QB, "__passive_serialization__": True},
            },
        },
        "kernel_constraint": {"class_name": "Clip", "config": {"min_value": -1, "max_value": 1}},
        "kernel_quantizer": {"class_name": "quantized_bits", "config": QB, "__passive_serialization__": True},
    }
    out = dialects.normalize_layer_config("QDense", cfg, CTX, True)
    assert "batch_input_shape" not in out
    assert isinstance(out["kernel_initializer"], QInitializer)
    assert str(out["kernel_initializer"].quantizer) == "quantized_bits(6,0,0,alpha=1)"
    assert isinstance(out["kernel_constraint"], Clip) and out["kernel_constraint"].max_value == 1
    assert out["kernel_quantizer"] == {"class_name": "quantized_bits", "config": QB}
    assert dialects.batch_shape_of(cfg) == [None, 16]


def test_tf_keras_213_metadata_and_qkeras_v3_keys():
    q = {
        "module": "qkeras.quantizers",
        "class_name": "quantized_bits",
        "config": dict(QB, post_training_scale=None),
        "registered_name": "qkeras>quantized_bits",
        "shared_object_id": 1,
    }
    cfg = {
        "name": "fc1",
        "dtype": {
            "module": "keras",
            "class_name": "DTypePolicy",
            "config": {"name": "float32"},
            "registered_name": None,
        },
        "units": 4,
        "quantization_config": None,
        "kernel_quantizer": q,
        "kernel_regularizer": {
            "module": "keras.regularizers",
            "class_name": "L1",
            "config": {"l1": 1e-4},
            "registered_name": None,
        },
    }
    out = dialects.normalize_layer_config("QDense", cfg, CTX, True)
    assert out["dtype"] == "float32"
    assert out["kernel_quantizer"] == {"class_name": "quantized_bits", "config": QB}
    assert out["kernel_regularizer"] == {"class_name": "L1", "config": {"l1": 1e-4}}
    assert "quantization_config" not in out


def test_unknown_non_neutral_quantizer_argument_refused():
    q = {"class_name": "quantized_bits", "config": dict(QB, elements_per_scale=4)}
    with pytest.raises(LegacyNotImplementedError, match="model.json: layer 'fc1'.*elements_per_scale"):
        dialects.normalize_quantizer(q, CTX, "kernel_quantizer")


def test_post_training_scale_is_kept_when_set():
    """QKeras master's post_training_scale is supported by quantized_bits: kept when set, dropped when None."""
    cfg = dict(QB, alpha="auto_po2", post_training_scale=[[0.5, 1.0]])
    out = dialects.normalize_quantizer({"class_name": "quantized_bits", "config": cfg}, CTX, "kernel_quantizer")
    assert out["config"]["post_training_scale"] == [[0.5, 1.0]]


def test_quantizer_strings_kept_and_checked():
    assert dialects.normalize_quantizer("quantized_relu(3,1)", CTX, "activation") == "quantized_relu(3,1)"
    assert dialects.normalize_quantizer("softmax", CTX, "activation") == "softmax"
    with pytest.raises(LegacyConversionError, match="cannot parse"):
        dialects.normalize_quantizer("quantized_bits(4,", CTX, "kernel_quantizer")


def test_missing_quantizer_is_not_implemented(monkeypatch):
    from hgq_compat import quantizers

    monkeypatch.delitem(quantizers.QUANTIZERS, "quantized_relu")
    with pytest.raises(NotImplementedError, match="layer 'fc1'.*quantized_relu"):
        dialects.normalize_quantizer("quantized_relu(4)", CTX, "activation")
    with pytest.raises(NotImplementedError, match="quantized_relu"):
        dialects.normalize_quantizer({"class_name": "quantized_relu", "config": {"bits": 4}}, CTX, "activation")


def test_batchnorm_axis_list():
    out = dialects.normalize_layer_config("BatchNormalization", {"name": "bn", "axis": [3]}, CTX, False)
    assert out["axis"] == 3


def test_inbound_nodes_keras2_and_keras3():
    k2 = {"inbound_nodes": [[["a", 0, 0, {}], ["b", 1, 0, {}]]]}
    assert dialects.inbound_calls(k2, CTX) == [([("a", 0, 0), ("b", 1, 0)], {}, True)]
    k3 = {
        "inbound_nodes": [
            {
                "args": [
                    [
                        {
                            "class_name": "__keras_tensor__",
                            "config": {"shape": [None, 4], "keras_history": ["a", 0, 0]},
                        },
                        {
                            "class_name": "__keras_tensor__",
                            "config": {"shape": [None, 4], "keras_history": ["b", 0, 0]},
                        },
                    ]
                ],
                "kwargs": {},
            }
        ]
    }
    assert dialects.inbound_calls(k3, CTX) == [([("a", 0, 0), ("b", 0, 0)], {}, True)]
    assert dialects.tensor_refs(["x", 0, 0]) == [("x", 0, 0)]
    assert dialects.tensor_refs([["x", 0, 0], ["y", 0, 0]]) == [("x", 0, 0), ("y", 0, 0)]


def test_input_layer_args():
    assert dialects.input_layer_args(
        {"batch_input_shape": [None, 8], "dtype": "float32", "name": "i", "sparse": False, "ragged": False}
    ) == {"batch_shape": (None, 8), "name": "i", "dtype": "float32"}
    assert dialects.input_layer_args({"batch_shape": [None, 3], "name": "j"})["batch_shape"] == (None, 3)
