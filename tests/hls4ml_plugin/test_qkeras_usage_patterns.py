"""hls4ml's own QKeras usage patterns, written as a QKeras user writes them, through the real flow.

Each model is one that hls4ml's QKeras tests and tutorials convert (hls4ml ``test_qkeras.py``, the
tutorial's QKeras parts): a Sequential model with ``input_shape``, ``config_from_keras_model(model,
granularity='name')``, ``convert_from_keras_model``, inputs rounded to hls4ml's default
``fixed<16,6>`` grid (``np.round(x * 2**10) * 2**-10``) as those tests do. With hgq_compat the
only change is the import, and the C simulation equals ``model.predict`` bit for bit (hls4ml's
own QKeras path compares with a tolerance); what hls4ml only approximates is refused by default,
naming the exact alternative and ``allow_inexact``, and converts under that opt-in with the
difference measured.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import hls4ml
import keras
import numpy as np
import pytest

import hls4ml_plugin
from hgq_compat import (
    QLSTM,
    QActivation,
    QConv2D,
    QConv2DBatchnorm,
    QDense,
    QSeparableConv1D,
    binary,
    convert_qkeras_model,
    quantized_bits,
    quantized_po2,
    quantized_relu,
    swap_softmax,
    ternary,
)

from ..legacy.helpers import PUBLISHED_DIR
from .conftest import N_RANDOM

GRID = 2.0**-10  # hls4ml's tests round inputs to fixed<16,6>'s step


def _grid_inputs(shape: tuple[int, ...], seed: int, n: int = N_RANDOM) -> np.ndarray:
    """Uniform [0, 1) inputs on the fixed<16,6> grid plus signed ones (hls4ml's tests use rand)."""
    rng = np.random.default_rng(seed)
    x = rng.random((n,) + shape) * rng.choice([1.0, -1.0, 4.0], size=(n,) + (1,) * len(shape))
    return (np.round(x / GRID) * GRID).astype(np.float32)


def _set_weights(model: keras.Model, seed: int) -> keras.Model:
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0.0, 0.5, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def _single_quantizer() -> keras.Model:
    """test_quantizer: one QActivation on a (1,) input."""
    return keras.Sequential([keras.Input((1,)), QActivation(activation=quantized_bits(8, 4), name="quantizer")])


def _dense_relu() -> keras.Model:
    """test_single_dense_activation_exact with alpha='auto_po2' (QKeras' per-channel po2 scales)."""
    model = keras.Sequential(
        [
            keras.Input((16,)),
            QDense(
                16,
                name="fc1",
                kernel_quantizer=quantized_bits(4, 0, alpha="auto_po2"),
                bias_quantizer=quantized_bits(4, 0, alpha=1),
                kernel_initializer="lecun_uniform",
            ),
            QActivation(activation=quantized_relu(4, 0), name="relu1"),
        ]
    )
    return _set_weights(model, 1)


def _btnn() -> keras.Model:
    """test_btnn cases 1 and 7: ternary kernel -> 'binary_tanh' (QKeras gives -1 at 0, hls4ml's own
    binary_tanh +1) and binary kernel -> binary() activation, as two heads of one model. The sums of
    float fixed<16,6> inputs are 19 bits wide: the table input saturates to 16 bits, which changes no
    output of these step functions (checked on every 19-bit value)."""
    inp = keras.Input((10,))
    t = QDense(10, kernel_quantizer=ternary(alpha=1), bias_quantizer=quantized_bits(5, 2), name="dense_t")(inp)
    b = QDense(10, kernel_quantizer=binary(), bias_quantizer=quantized_bits(5, 2), name="dense_b")(inp)
    model = _set_weights(
        keras.Model(inp, [QActivation("binary_tanh", name="bt")(t), QActivation(binary(), name="bin")(b)]), 2
    )
    kernel, bias = model.get_layer("dense_t").get_weights()
    bias[:3] = 0.0  # units whose pre-activation is exactly 0 for a zero input (binary_tanh's tie)
    model.get_layer("dense_t").set_weights([kernel, bias])
    return model


def _activation_kwargs() -> keras.Model:
    """test_qactivation_kwarg (activation strings on QDense), quantized_po2 kernels and a relu with a
    negative slope."""
    inp = keras.Input((10,))
    a = QDense(
        10,
        activation="quantized_relu(2, 0)",
        kernel_quantizer="quantized_bits(4, 0, alpha=1)",
        bias_quantizer="quantized_bits(4, 0, alpha=1)",
        name="qdense",
    )(inp)
    p = QDense(6, kernel_quantizer=quantized_po2(4), bias_quantizer=quantized_bits(8, 3, alpha=1), name="po2")(inp)
    # a 23-bit sum; this relu is not constant beyond a 16-bit range, so (as the refusal says) a quantizer first
    p = QActivation("quantized_bits(8,3,alpha=1)", name="pre_leaky")(p)
    p = QActivation(quantized_relu(4, 2, negative_slope=0.25), name="leaky")(p)
    return _set_weights(keras.Model(inp, [a, p]), 3)


def _po2_wide_input() -> keras.Model:
    """test_quantised_po2_bit_width's shape (26 -> 6, quantized_po2 kernel) with a 32-bit default
    precision: float inputs enter as fixed<32,16> (signed WRAP types up to 32 bits are exact)."""
    return _set_weights(
        keras.Sequential(
            [
                keras.Input((26,)),
                QDense(
                    6, name="dense", kernel_quantizer=quantized_po2(4), bias_quantizer="quantized_bits(8,3,alpha=1)"
                ),
            ]
        ),
        6,
    )


def _qconv2dbn() -> keras.Model:
    """test_qconv2dbn: QConv2DBatchnorm with ones kernel, config default precision fixed<24,8>."""
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            QConv2DBatchnorm(
                4,
                kernel_size=(3, 3),
                kernel_quantizer="quantized_bits(8, 0, alpha=1)",
                kernel_initializer="ones",
                bias_quantizer="quantized_bits(8, 0, alpha=1)",
                bias_initializer="zeros",
                activation="quantized_relu(8, 0)",
            ),
        ]
    )


def _tutorial_cnn() -> keras.Model:
    """The tutorial's QConv2D -> BatchNormalization -> QActivation block with a dense head."""
    inp = keras.Input((8, 8, 1))
    x = QConv2D(
        4,
        (3, 3),
        kernel_quantizer="quantized_bits(6,0,alpha=1)",
        bias_quantizer="quantized_bits(6,0,alpha=1)",
        use_bias=True,
        name="conv1",
    )(inp)
    x = keras.layers.BatchNormalization(name="bn1")(x)
    x = QActivation("quantized_relu(6)", name="relu1")(x)
    x = keras.layers.Flatten()(x)
    x = QDense(
        3, kernel_quantizer="quantized_bits(6,0,alpha=1)", bias_quantizer="quantized_bits(6,0,alpha=1)", name="out"
    )(x)
    model = keras.Model(inp, x)
    rng = np.random.default_rng(4)
    bn = model.get_layer("bn1")
    bn.set_weights([rng.uniform(0.5, 1.5, 4), rng.normal(0, 0.2, 4), rng.normal(0, 0.2, 4), rng.uniform(0.5, 2.0, 4)])
    for name in ("conv1", "out"):
        layer = model.get_layer(name)
        layer.set_weights([rng.normal(0.0, 0.5, w.shape).astype(np.float32) for w in layer.get_weights()])
    return model


def _separable() -> keras.Model:
    """test_qseparableconv1d: input named 'input_layer', config Precision on the input and 'dw_output'."""
    x_in = keras.Input((13, 20), name="input_layer")
    x = QSeparableConv1D(
        5,
        3,
        depthwise_quantizer=quantized_bits(8, 3, alpha=1),
        pointwise_quantizer=quantized_bits(8, 3, alpha=1),
        bias_quantizer=quantized_bits(8, 3, alpha=1),
        name="qsepconv_1",
    )(x_in)
    return _set_weights(keras.Model(x_in, x), 5)


def _jet_tagger() -> keras.Model:
    """The published QKeras jet tagger (hls4ml's example model) with its softmax head."""
    return convert_qkeras_model(
        PUBLISHED_DIR / "qkeras_3layer.json", weights=PUBLISHED_DIR / "qkeras_3layer_weights.h5"
    )


def _config(model: keras.Model, **kwargs) -> dict:
    return hls4ml.utils.config_from_keras_model(model, granularity="name", **kwargs)


def _separable_config(model: keras.Model) -> dict:
    config = _config(model, default_precision="fixed<23,7>")
    config["LayerName"]["input_layer"]["Precision"]["result"] = "fixed<8,1>"
    config["LayerName"]["qsepconv_1"]["Precision"]["dw_output"] = "fixed<15,4>"
    return config


def _softmax_config(model: keras.Model) -> dict:
    config = _config(model)
    config["LayerName"]["softmax"]["exp_table_t"] = "ap_fixed<18,8>"
    config["LayerName"]["softmax"]["inv_table_t"] = "ap_fixed<18,4>"
    return config


# name: (model builder, config builder, backend, io_type, input shape)
CASES = {
    "single_quantizer": (_single_quantizer, _config, "Vivado", "io_stream", (1,)),
    "dense_relu_auto_po2": (_dense_relu, _config, "Vitis", "io_parallel", (16,)),
    "btnn": (_btnn, _config, "Vivado", "io_parallel", (10,)),
    "activation_kwargs": (_activation_kwargs, _config, "Vitis", "io_parallel", (10,)),
    "po2_wide_input": (
        _po2_wide_input,
        lambda m: _config(m, default_precision="fixed<32,16>"),
        "Vivado",
        "io_parallel",
        (26,),
    ),
    "qconv2dbn": (_qconv2dbn, lambda m: _config(m, default_precision="fixed<24,8>"), "Vivado", "io_stream", (8, 8, 1)),
    "separable": (_separable, _separable_config, "Vitis", "io_stream", (13, 20)),
}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """Every pattern converted with plain hls4ml calls (the plugin is loaded by ``import hls4ml``),
    then compiled two at a time."""
    keras.utils.set_random_seed(7)
    root = tmp_path_factory.mktemp("patterns")
    built = {}
    for name, (build, config, backend, io_type, _) in CASES.items():
        model = build()
        hm = hls4ml.converters.convert_from_keras_model(
            model, hls_config=config(model), backend=backend, io_type=io_type, output_dir=str(root / name)
        )
        hm.write()
        built[name] = (model, hm)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda mh: mh[1]._compile(), built.values()))
    return built


@pytest.mark.parametrize("name", sorted(CASES))
def test_pattern_is_bit_exact(compiled, name):
    model, hm = compiled[name]
    shape = CASES[name][4]
    x = _grid_inputs(shape, seed=len(name))
    if name == "separable":  # the test's data: quantized_bits(8,0,alpha=1) of rand, on the fixed<8,1> input grid
        x = np.asarray(keras.ops.convert_to_numpy(quantized_bits(8, 0, alpha=1)(x / 4.0)), np.float32)
    y_keras = model.predict(x, verbose=0, batch_size=2048)
    y_keras = [np.asarray(y) for y in y_keras] if len(model.outputs) > 1 else [np.asarray(y_keras)]
    y_hls = hm.predict(np.ascontiguousarray(x))
    y_hls = y_hls if isinstance(y_hls, list) else [y_hls]
    assert len(y_hls) == len(y_keras)
    for yk, yh in zip(y_keras, y_hls):
        yh = np.asarray(yh).reshape(yk.shape)
        assert np.count_nonzero(yk) > yk.size // 20, f"{name}: degenerate outputs"
        assert np.array_equal(yk, yh), f"{name}: {int(np.sum(yk != yh))} of {yk.size} outputs differ"


def test_binary_tanh_of_zero_is_minus_one(compiled):
    """QKeras' binary_tanh(0) = -1 (hls4ml's own binary_tanh gives +1): for a zero input the first
    three units (zero bias) sit exactly on the tie, in Keras and in the C simulation."""
    model, hm = compiled["btnn"]
    x = np.zeros((4, 10), np.float32)
    y_keras = model.predict(x, verbose=0)[0]
    y_hls = np.asarray(hm.predict(x)[0]).reshape(y_keras.shape)
    assert np.all(y_keras[:, :3] == -1.0) and np.all(y_hls[:, :3] == -1.0)
    np.testing.assert_array_equal(y_hls, y_keras)


def test_btnn_table_inputs_saturate_to_16_bits(compiled):
    """The 19-bit sums feeding binary_tanh / binary() saturate to a 16-bit type in the producer."""
    _, hm = compiled["btnn"]
    for name in ("dense_t", "dense_b"):
        precision = hm.graph[name].get_output_variable().type.precision
        assert precision.width == 16 and "SAT" in str(precision), (name, str(precision))


def test_separable_config_keys_are_accepted(compiled):
    """The LayerName keys the hls4ml test sets exist and the input type is the configured one."""
    _, hm = compiled["separable"]
    assert str(hm.graph["input_layer"].get_output_variable().type.precision).startswith("fixed<8,1")


def test_softmax_head_refused_then_exact_swapped_or_inexact(tmp_path):
    """The jet tagger with hls4ml's softmax table settings: refused as is (naming swap_softmax and
    allow_inexact); swap_softmax gives an exact model; allow_inexact converts hls4ml's own softmax
    (with the test's ap_fixed<18,8>/<18,4> tables, probabilities move by up to ~0.2 while the
    predicted class mostly stays)."""
    model = _jet_tagger()
    with pytest.raises((ValueError, NotImplementedError), match="softmax.*swap_softmax.*allow_inexact"):
        hls4ml.converters.convert_from_keras_model(
            model, hls_config=_softmax_config(model), backend="Vitis", output_dir=str(tmp_path / "refused")
        )
    x = _grid_inputs((16,), seed=11)
    swapped, report = swap_softmax(model, x)
    assert report.swapped == ("softmax",) and report.argmax_agreement > 0.95
    exact = hls4ml.converters.convert_from_keras_model(
        swapped, hls_config=_config(swapped), backend="Vitis", output_dir=str(tmp_path / "exact")
    )
    config = _softmax_config(model)
    config["Model"]["AllowInexact"] = True
    inexact = hls4ml.converters.convert_from_keras_model(
        model, hls_config=config, backend="Vivado", output_dir=str(tmp_path / "inexact")
    )
    assert "softmax" in inexact.hgq_compat_inexact
    t0 = time.perf_counter()
    for hm in (exact, inexact):
        hm.write()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda hm: hm._compile(), (exact, inexact)))
    print(f"compiled in {time.perf_counter() - t0:.0f} s")
    y_swapped = swapped.predict(x, verbose=0, batch_size=2048)
    assert np.array_equal(y_swapped, np.asarray(exact.predict(x)).reshape(y_swapped.shape))
    y_keras = model.predict(x, verbose=0, batch_size=2048)
    y_inexact = np.asarray(inexact.predict(x)).reshape(y_keras.shape)
    diff = np.abs(y_keras - y_inexact)
    print(f"allow_inexact softmax: max abs diff {diff.max():.3g}, {np.mean(diff > 0):.1%} of outputs differ")
    assert diff.max() > 0  # hls4ml's tables approximate the float softmax: not exact, as reported
    assert np.mean(np.argmax(y_keras, 1) == np.argmax(y_inexact, 1)) > 0.9


def test_tutorial_cnn_batchnorm_refused_then_exact_folded(tmp_path):
    """QConv2D -> BatchNormalization -> QActivation: refused naming folding and allow_inexact;
    ``fold_batchnorm=True`` exports the folded model bit for bit."""
    model = _tutorial_cnn()
    with pytest.raises((ValueError, NotImplementedError), match="bn1.*fold.*allow_inexact"):
        hls4ml.converters.convert_from_keras_model(
            model, hls_config=_config(model), backend="Vivado", output_dir=str(tmp_path / "refused")
        )
    hm = hls4ml_plugin.convert(
        model, tmp_path / "folded", backend="Vitis", hls_config=_config(model), fold_batchnorm=True
    )
    assert hm.hgq_compat_folded == ["conv1"]
    reference = hm.hgq_compat_keras_model  # the folded model, inputs quantized to fixed<16,6> on entry
    x = _grid_inputs((8, 8, 1), seed=12)
    y = reference.predict(x, verbose=0, batch_size=2048)
    assert np.count_nonzero(y) > y.size // 4
    assert np.array_equal(y, np.asarray(hm.predict(x)).reshape(y.shape))


def test_qlstm_with_float_activations_refused_naming_the_fix(tmp_path):
    """test_qlstm's QLSTM (float tanh / sigmoid, 8-bit quantizers): refused by default, naming the
    quantizer activations that make it exact and allow_inexact."""
    model = keras.Sequential(
        [
            keras.Input((5, 2)),
            QLSTM(
                4,
                kernel_quantizer="quantized_bits(8, 0, alpha=1)",
                recurrent_quantizer="quantized_bits(8, 0, alpha=1)",
                bias_quantizer="quantized_bits(8, 0, alpha=1)",
                state_quantizer="quantized_bits(8, 0, alpha=1)",
                activation="tanh",
                recurrent_activation="sigmoid",
            ),
        ]
    )
    config = _config(model, default_precision="ap_fixed<8,1>")
    with pytest.raises(
        (ValueError, NotImplementedError),
        match=r"\(QLSTM\): activation '(tanh|sigmoid)' is a float function.*quantized_tanh.*allow_inexact",
    ):
        hls4ml.converters.convert_from_keras_model(
            model, hls_config=config, backend="Vivado", output_dir=str(tmp_path / "lstm")
        )
