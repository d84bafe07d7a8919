"""What cannot be exact is refused with a message naming the layer and the change to make."""

from __future__ import annotations

import hls4ml
import keras
import pytest

import hls4ml_plugin
from hgq_compat import QActivation, QDense, quantization_config

KQ = dict(kernel_quantizer="quantized_bits(6,0,alpha=1)", bias_quantizer="quantized_bits(6,2,alpha=1)")


def _convert(model, tmp_path, **kw):
    return hls4ml_plugin.convert(model, tmp_path / "prj", compile=False, **kw)


def test_float_input_is_refused(tmp_path):
    inp = keras.Input((4,))
    model = keras.Model(inp, QDense(3, name="first_dense", activation="quantized_relu(6,2)", **KQ)(inp))
    with pytest.raises(ValueError, match=r"first_dense.*QActivation"):
        _convert(model, tmp_path)


def test_non_fixed_point_quantizer_is_refused(tmp_path):
    inp = keras.Input((4,))
    x = QActivation("quantized_bits(8,3,alpha=1)")(inp)
    x = QDense(3, name="scaled", kernel_quantizer="quantized_bits(6,0,alpha=0.3)",
               bias_quantizer="quantized_bits(6,2,alpha=1)")(x)
    with pytest.raises(NotImplementedError, match=r"scaled.*alpha=0.3.*not exact fixed-point constants"):
        _convert(keras.Model(inp, x), tmp_path)


def test_io_stream_with_per_element_activations_is_refused(tmp_path):
    with quantization_config(mode="hgq"):
        inp = keras.Input((4,))
        x = QActivation("quantized_bits(8,3,alpha=1)", name="in_q")(inp)
        x = QDense(3, name="het", activation="quantized_bits(8,3,alpha=1)", **KQ)(x)
    model = keras.Model(inp, x)
    model.get_layer("het").output_quantizer.assign_bitwidths(fractional=[2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match=r"het.*io_type='io_parallel'"):
        _convert(model, tmp_path, io_type="io_stream")


def test_softmax_activation_is_refused(tmp_path):
    inp = keras.Input((4,))
    x = QActivation("quantized_bits(8,3,alpha=1)")(inp)
    x = QDense(3, name="head", activation="softmax", **KQ)(x)
    with pytest.raises(ValueError, match=r"head.*softmax.*in software"):
        _convert(keras.Model(inp, x), tmp_path)


def test_keras_softmax_layer_is_refused(tmp_path):
    inp = keras.Input((4,))
    x = QActivation("quantized_bits(8,3,alpha=1)")(inp)
    x = QDense(3, activation="quantized_bits(8,3,alpha=1)", **KQ)(x)
    x = keras.layers.Activation("softmax", name="probs")(x)
    with pytest.raises(ValueError, match=r"probs.*in software"):
        _convert(keras.Model(inp, x), tmp_path)


def test_unquantized_float_weights_are_refused(tmp_path):
    inp = keras.Input((4,))
    x = QActivation("quantized_bits(8,3,alpha=1)")(inp)
    x = QDense(3, name="nobias", kernel_quantizer="quantized_bits(6,0,alpha=1)", bias_initializer="random_normal")(x)
    with pytest.raises(ValueError, match=r"nobias.*bias_quantizer"):
        _convert(keras.Model(inp, x), tmp_path)


def test_config_from_keras_model_and_plain_keras_models(tmp_path):
    inp = keras.Input((4,))
    x = QActivation("quantized_bits(8,3,alpha=1)", name="in_q")(inp)
    x = QDense(3, name="d", activation="quantized_relu(6,2)", **KQ)(x)
    model = keras.Model(inp, x)
    config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis")
    assert {"in_q", "d"} <= set(config["LayerName"])
    hm = _convert(model, tmp_path, hls_config=config)
    assert [n.class_name for n in hm.graph.values()][0] == "Input"
    # models without hgq_compat layers are untouched by the plugin's checks
    plain_in = keras.Input((4,))
    plain = keras.Model(plain_in, keras.layers.Dense(3, activation="softmax")(plain_in))
    hls4ml.converters.convert_from_keras_model(plain, output_dir=str(tmp_path / "plain"), backend="Vitis")
