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


def test_float_input_takes_the_configured_type_and_a_wrong_type_is_refused_naming_the_key(tmp_path):
    inp = keras.Input((4,), name="x")
    model = keras.Model(inp, QDense(3, name="first_dense", activation="quantized_relu(6,2)", **KQ)(inp))
    with pytest.warns(
        hls4ml_plugin.InputQuantizedWarning,
        match=r"model input 'x' feeds \['first_dense'\] directly: "
        r"its float inputs are quantized to fixed<16,6,TRN,WRAP> on entry",
    ):
        _convert(model, tmp_path)
    config = {
        "Model": {"Precision": "fixed<16,6>", "ReuseFactor": 1, "Strategy": "Latency"},
        "LayerName": {"x": {"Precision": {"result": "fixed<32,16,TRN,SAT>"}}},
    }
    with pytest.raises(
        ValueError,
        match=r"model input 'x' feeds \['first_dense'\] directly.*"
        r"config\['LayerName'\]\['x'\]\['Precision'\]\['result'\] = 'fixed<32,16,TRN,SAT>'.*"
        r"width 32 is outside 1..24",
    ):
        _convert(model, tmp_path / "wide", hls_config=config)


def test_non_fixed_point_quantizer_is_refused(tmp_path):
    inp = keras.Input((4,))
    x = QActivation("quantized_bits(8,3,alpha=1)")(inp)
    x = QDense(
        3, name="scaled", kernel_quantizer="quantized_bits(6,0,alpha=0.3)", bias_quantizer="quantized_bits(6,2,alpha=1)"
    )(x)
    with pytest.raises(NotImplementedError, match=r"scaled.*alpha=0.3.*not exact fixed-point constants"):
        _convert(keras.Model(inp, x), tmp_path)


def test_io_stream_with_per_element_activations_is_refused(tmp_path):
    with quantization_config(mode="hgq"):
        inp = keras.Input((4,))
        x = QActivation("quantized_bits(8,3,alpha=1)", name="in_q")(inp)
        x = QDense(3, name="het", activation="quantized_bits(8,3,alpha=1)", **KQ)(x)
    model = keras.Model(inp, x)
    model.get_layer("het").output_quantizer.assign_bitwidths(fractional=[2.0, 3.0, 4.0])
    with pytest.raises(
        ValueError,
        match=r"layer 'het': its activation quantizer has per-element or per-channel "
        r"precision.*io_type='io_parallel'.*activation_granularity='per-tensor'",
    ):
        _convert(model, tmp_path, io_type="io_stream")


def test_softmax_activation_is_refused(tmp_path):
    inp = keras.Input((4,))
    x = QActivation("quantized_bits(8,3,alpha=1)")(inp)
    x = QDense(3, name="head", activation="softmax", **KQ)(x)
    with pytest.raises((ValueError, NotImplementedError), match=r"head.*softmax.*in software"):
        _convert(keras.Model(inp, x), tmp_path)


def test_keras_softmax_layer_is_refused(tmp_path):
    inp = keras.Input((4,))
    x = QActivation("quantized_bits(8,3,alpha=1)")(inp)
    x = QDense(3, activation="quantized_bits(8,3,alpha=1)", **KQ)(x)
    x = keras.layers.Activation("softmax", name="probs")(x)
    with pytest.raises(ValueError, match=r"probs.*in software"):
        _convert(keras.Model(inp, x), tmp_path)


def test_unquantized_float_weights_are_accepted_with_a_warning_or_refused(tmp_path):
    """A float32 bias is an exact constant for hls4ml (<= 32 fractional bits): accepted, and the
    accumulator it widens beyond float32's 24 bits is warned about, naming the layer. Values
    finer than 2**-32 are refused, naming the layer and the quantizer to add."""
    inp = keras.Input((4,))
    x = QActivation("quantized_bits(8,3,alpha=1)")(inp)
    x = QDense(3, name="nobias", kernel_quantizer="quantized_bits(6,0,alpha=1)", bias_initializer="random_normal")(x)
    model = keras.Model(inp, x)
    bias = model.get_layer("nobias").bias
    bias.assign([0.1, -0.3, 1.7])  # float32 values: 24 significant bits, f = 27, 25, 22
    with pytest.warns(UserWarning, match=r"'nobias': the exact accumulator needs \d+ bits, more than float32's 24"):
        hm = _convert(model, tmp_path)
    assert hm.graph["nobias"].get_weights("bias").data.tolist() == keras.ops.convert_to_numpy(bias).tolist()
    bias.assign([0.1, 2.0**-40, 0.0])
    with pytest.raises(
        ValueError,
        match=r"layer 'nobias': bias has no quantizer and its float values are as small as "
        r"9.094947017729282e-13, finer than the 2\*\*-32 step.*bias_quantizer",
    ):
        _convert(model, tmp_path / "fine")
    bias.assign([2.0**40, -(2.0**-30), 0.0])  # 1 + 41 + 30 bits
    with pytest.raises(ValueError, match=r"'nobias': bias has no quantizer.*needing a 72-bit fixed-point type \(> 64"):
        _convert(model, tmp_path / "wide")


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


# ---------------------------------------------------------------- layers refused with a reason

S8 = "quantized_bits(8,3,alpha=1)"


def _model(shape, layer, in_quantizer=S8):
    inp = keras.Input(shape)
    return keras.Model(inp, layer(QActivation(in_quantizer, name="in_q")(inp)))


@pytest.mark.parametrize("kind", ["QLSTM", "QGRU", "QBidirectional"])
def test_recurrent_float_activations_are_refused(tmp_path, kind):
    import hgq_compat

    rnn = (
        hgq_compat.QBidirectional(hgq_compat.QLSTM(3, recurrent_activation="sigmoid"), name="rnn")
        if kind == "QBidirectional"
        else getattr(hgq_compat, kind)(3, activation="tanh", name="rnn")
    )
    where, act = (
        (r"'forward_qlstm\w*' \(QLSTM\)", "sigmoid") if kind == "QBidirectional" else (rf"'rnn' \({kind}\)", "tanh")
    )
    with pytest.raises(
        (ValueError, NotImplementedError), match=rf"{where}: activation '{act}' is a float function.*allow_inexact"
    ):
        _convert(_model((5, 2), rnn), tmp_path)


def test_adaptive_activation_is_refused(tmp_path):
    from hgq_compat import QAdaptiveActivation

    with pytest.raises(NotImplementedError, match=r"'ada' \(QAdaptiveActivation\).*QActivation\('quantized_relu\(8,"):
        _convert(_model((4,), QAdaptiveActivation("quantized_relu", 8, name="ada")), tmp_path)


def test_batch_normalization_with_rounding_float32_is_refused(tmp_path):
    """QKeras' defaults (epsilon=1e-3): gamma / sqrt(var + eps) has a 24-bit significand, so Keras'
    float32 x * scale rounds; the export proves it and refuses."""
    from hgq_compat import QBatchNormalization

    model = _model((4,), QBatchNormalization(name="qbn"))
    with pytest.raises(ValueError, match=r"'qbn'.*float32.*QConv2DBatchnorm"):
        _convert(model, tmp_path)


def test_non_power_of_two_average_pooling_is_refused(tmp_path):
    from hgq_compat import QAveragePooling2D, QGlobalAveragePooling2D

    with pytest.raises(NotImplementedError, match=r"'avg3' \(QAveragePooling2D\): averages over \[9\] pixels"):
        _convert(_model((6, 6, 1), QAveragePooling2D(3, name="avg3")), tmp_path)
    with pytest.raises(NotImplementedError, match=r"'gavg' \(QGlobalAveragePooling2D\).*power-of-two pool area"):
        _convert(
            _model((3, 3, 1), QGlobalAveragePooling2D(average_quantizer="quantized_bits(8,0,alpha=1)", name="gavg")),
            tmp_path / "g",
        )
    with pytest.raises(ValueError, match=r"'plain_avg' averages over .* pixels.*power of two"):
        _convert(
            _model((5, 5, 1), keras.layers.AveragePooling2D(3, strides=2, padding="same", name="plain_avg")),
            tmp_path / "p",
        )


def test_channels_first_average_pooling_is_refused(tmp_path):
    from hgq_compat import QAveragePooling2D

    with pytest.raises(NotImplementedError, match=r"'avg_cf' \(QAveragePooling2D\): data_format='channels_first'"):
        _convert(_model((2, 4, 4), QAveragePooling2D(2, data_format="channels_first", name="avg_cf")), tmp_path)


def test_non_binary_conv_mask_is_refused(tmp_path):
    import numpy as np

    from hgq_compat import QConv2D

    conv = QConv2D(2, 3, mask=np.full((3, 3), 0.3), name="masked", **KQ)
    with pytest.raises(NotImplementedError, match=r"'masked': a kernel mask with values other than 0 and 1"):
        _convert(_model((5, 5, 1), conv), tmp_path)


def test_padded_max_pooling_of_unsigned_values_is_refused(tmp_path):
    model = _model((5, 5, 2), keras.layers.MaxPooling2D(2, padding="same", name="mp"), "quantized_relu(6,2)")
    with pytest.raises(ValueError, match=r"'mp'.*unsigned.*ZeroPadding2D"):
        _convert(model, tmp_path)
    signed = _model((5, 5, 2), keras.layers.MaxPooling2D(2, padding="same", name="mp"))
    assert "mp" in _convert(signed, tmp_path / "signed").graph  # signed inputs are padded correctly


def test_conv_settings_without_hls4ml_counterpart_are_refused(tmp_path):
    from hgq_compat import QConv2DBatchnorm, QConv2DTranspose, QDepthwiseConv2D

    with pytest.raises(NotImplementedError, match=r"'dil' \(QDepthwiseConv2D\): dilation_rate"):
        _convert(
            _model(
                (8, 8, 1),
                QDepthwiseConv2D(3, dilation_rate=2, name="dil", depthwise_quantizer="quantized_bits(6,0,alpha=1)"),
            ),
            tmp_path,
        )
    with pytest.raises(NotImplementedError, match=r"'big' \(QConv2DTranspose\).*dense 1024x4096 matrix"):
        _convert(
            _model((16, 16, 4), QConv2DTranspose(4, 3, strides=2, padding="same", name="big", **KQ)), tmp_path / "t"
        )
    # an unquantized folded kernel is accepted where hls4ml holds it exactly (warned: float32 sums), else refused
    fold = _model((6, 6, 1), QConv2DBatchnorm(2, 3, name="fold", bias_quantizer="quantized_bits(8,3,alpha=1)"))
    with pytest.warns(UserWarning, match=r"layer 'fold': the exact accumulator needs \d+ bits, more than float32's 24"):
        _convert(fold, tmp_path / "f")
    kernel = fold.get_layer("fold").kernel
    tiny = keras.ops.convert_to_numpy(kernel).copy()
    tiny.flat[0] = 2.0**-40
    kernel.assign(tiny)
    with pytest.raises(
        NotImplementedError,
        match=r"'fold' \(QConv2DBatchnorm\): the folded kernel is not quantized.*"
        r"finer than the 2\*\*-32 step",
    ):
        _convert(fold, tmp_path / "f2")


@pytest.mark.parametrize("cls", ["QDepthwiseConv2DTranspose", "QSeparableConv2DTranspose"])
def test_qkeras_master_transposed_convolution_with_a_float_activation_is_refused(tmp_path, cls):
    import hgq_compat

    layer = getattr(hgq_compat, cls)(
        2,
        (2, 2),
        strides=(2, 2),
        depthwise_activation="relu",
        name="tconv",
        depthwise_kernel_quantizer="quantized_bits(4,0,1,alpha=1)",
    )
    with pytest.raises(NotImplementedError, match=rf"'tconv' \({cls}\): depthwise_activation='relu' is a float"):
        _convert(_model((3, 3, 2), layer), tmp_path)
