"""Model inputs and hls4ml's conventions, through the real hls4ml flow (g++ C simulation).

- a model that starts with (or is only) a quantizer hls4ml fuses into the input compiles and is
  exact, with both backends and both io types;
- float inputs (a first QDense) take hls4ml's configured input type, as hls4ml does: the C
  simulation equals the Keras model with its inputs quantized to that type, also through plain
  ``hls4ml.converters.convert_from_keras_model``;
- ``config['LayerName'][keras_name]`` settings take effect (ReuseFactor, Strategy), Precision on
  inferred types is ignored with a warning, a layer named 'input' converts.
"""

from __future__ import annotations

import re
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import hls4ml
import keras
import numpy as np
import pytest

import hls4ml_plugin
from hgq_compat import QActivation, QDense, QSeparableConv2D, quantization_config
from hls4ml_plugin.inputs import grid_inputs, parse_input_precision, quantize_inputs

from .conftest import N_RANDOM, random_inputs

KQ = dict(kernel_quantizer="quantized_bits(6,0,alpha=1)", bias_quantizer="quantized_bits(6,2,alpha=1)")
CUSTOM_INPUT = "fixed<12,4,RND_CONV,SAT>"


def _quantizer_only(quantizer: str) -> keras.Model:
    inp = keras.Input((6,), name="x")
    return keras.Model(inp, QActivation(quantizer, name="q")(inp))


def _two_inputs() -> keras.Model:
    """Two inputs straight into quantizers, Add and Concatenate, a QDense; the first quantizer is
    also a model output (it is fused into its input)."""
    a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
    qa = QActivation("quantized_bits(8,2)", name="qa")(a)
    qb = QActivation("quantized_relu(4,1)", name="qb")(b)
    s = keras.layers.Add(name="add")([qa, qb])
    c = keras.layers.Concatenate(name="cat")([s, qb])
    return keras.Model([a, b], [QDense(3, name="fc", **KQ)(c), qa])


def _float_mlp() -> keras.Model:
    """QKeras-style MLP: the first QDense takes the float input."""
    inp = keras.Input((8,), name="features")
    h = QDense(8, name="fc1", activation="quantized_relu(6,2)", **KQ)(inp)
    return keras.Model(inp, QDense(3, name="fc2", **KQ)(h))


def _conventions_model() -> keras.Model:
    """An input named 'input' (reserved by hls4ml), a separable convolution (two hls4ml nodes)."""
    inp = keras.Input((6, 6, 2), name="input")
    x = QActivation("quantized_bits(8,2)", name="q_in")(inp)
    q4 = "quantized_bits(4,0,alpha=1)"
    x = QSeparableConv2D(
        4,
        3,
        name="sep",
        depthwise_quantizer=q4,
        pointwise_quantizer=q4,
        bias_quantizer=q4,
        activation="quantized_relu(6,2)",
    )(x)
    x = keras.layers.Flatten(name="flat")(x)
    return keras.Model(inp, QDense(3, name="dense", **KQ)(x))


def _predict_all(model, hls_model, xs):
    y_keras = model.predict(xs, verbose=0, batch_size=2048)
    y_keras = [np.asarray(y) for y in (y_keras if isinstance(y_keras, list) else [y_keras])]
    y_hls = hls_model.predict(
        [np.ascontiguousarray(x) for x in xs] if isinstance(xs, list) else np.ascontiguousarray(xs)
    )
    y_hls = y_hls if isinstance(y_hls, list) else [y_hls]
    return y_keras, [np.asarray(h).reshape(k.shape) for h, k in zip(y_hls, y_keras)]


def _assert_exact(model, hls_model, xs, label: str) -> None:
    y_keras, y_hls = _predict_all(model, hls_model, xs)
    n = (xs[0] if isinstance(xs, list) else xs).shape[0]
    for j, (k, h) in enumerate(zip(y_keras, y_hls)):
        mismatches = int(np.sum(k != h))
        print(
            f"{label} output {j}: {n} inputs, {k.size} outputs, {mismatches} mismatches, {np.count_nonzero(k)} nonzero"
        )
        assert np.count_nonzero(k) > k.size // 10, f"{label}: degenerate model (outputs mostly zero)"
        assert np.array_equal(k, h), f"{label} output {j}: {mismatches} of {k.size} outputs differ"


def _config(model, **layer_settings) -> dict:
    """``config_from_keras_model(granularity='name')`` with settings put under the Keras layer names
    (indexed directly, as users do: a missing key raises KeyError)."""
    config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis")
    for name, settings in layer_settings.items():
        config["LayerName"][name].update(settings)
    return config


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """Every project of this module, converted here and compiled two at a time (g++)."""
    keras.utils.set_random_seed(7)
    tmp = tmp_path_factory.mktemp("inputs")
    q_bits, q_relu = _quantizer_only("quantized_bits(8,2)"), _quantizer_only("quantized_relu(4,1)")
    two, mlp, conv = _two_inputs(), _float_mlp(), _conventions_model()
    caught = {}
    jobs = {  # name: (keras model, convert kwargs, plain hls4ml call)
        "bits_Vivado_parallel": (q_bits, dict(backend="Vivado", io_type="io_parallel"), False),
        "bits_Vitis_stream": (q_bits, dict(backend="Vitis", io_type="io_stream"), False),
        "relu_Vitis_parallel": (q_relu, dict(backend="Vitis", io_type="io_parallel"), False),
        "relu_Vivado_stream": (q_relu, dict(backend="Vivado", io_type="io_stream"), False),
        "two_Vivado_parallel": (two, dict(backend="Vivado", io_type="io_parallel"), False),
        "mlp_default_Vitis_parallel": (
            mlp,
            dict(backend="Vitis", io_type="io_parallel", hls_config=_config(mlp)),
            True,
        ),
        "mlp_custom_Vivado_stream": (
            mlp,
            dict(
                backend="Vivado",
                io_type="io_stream",
                hls_config=_config(mlp, features={"Precision": {"result": CUSTOM_INPUT}}),
            ),
            False,
        ),
        "conv_Vitis_parallel": (
            conv,
            dict(
                backend="Vitis",
                io_type="io_parallel",
                hls_config=_config(
                    conv,
                    sep={"ReuseFactor": 2},
                    dense={"Strategy": "Resource", "ReuseFactor": 4, "Precision": {"weight": "fixed<8,2>"}},
                ),
            ),
            True,
        ),
    }
    hls_models = {}
    for name, (model, kwargs, plain) in jobs.items():
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            if plain:  # the hls4ml user's own call, no hgq-compat function
                hm = hls4ml.converters.convert_from_keras_model(model, output_dir=str(tmp / name), **kwargs)
            else:
                hm = hls4ml_plugin.convert(model, tmp / name, compile=False, **kwargs)
        caught[name] = [
            w
            for w in record
            if issubclass(w.category, (hls4ml_plugin.InputQuantizedWarning, hls4ml_plugin.IgnoredPrecisionWarning))
        ]
        hm.write()
        hls_models[name] = hm

    def build(hm):
        t0 = time.perf_counter()
        hm._compile()
        return time.perf_counter() - t0

    with ThreadPoolExecutor(2) as pool:
        seconds = list(pool.map(build, hls_models.values()))
    for name, s in zip(hls_models, seconds):
        print(f"{name}: compile {s:.1f} s")
    return {name: (jobs[name][0], hm, caught[name]) for name, hm in hls_models.items()}


@pytest.mark.parametrize(
    "name", ["bits_Vivado_parallel", "bits_Vitis_stream", "relu_Vitis_parallel", "relu_Vivado_stream"]
)
def test_model_that_is_only_an_input_quantizer_compiles_and_is_exact(compiled, name):
    model, hm, caught = compiled[name]
    assert not caught  # no float input: nothing quantized on entry
    assert list(hm.outputs) == ["q"] and hm.outputs != hm.inputs  # the output has its own variable
    _assert_exact(model, hm, random_inputs((6,), N_RANDOM, seed=1), name)


def test_two_inputs_into_quantizers_with_add_concatenate_and_a_fused_quantizer_output(compiled):
    model, hm, caught = compiled["two_Vivado_parallel"]
    assert not caught
    xs = [random_inputs((4,), N_RANDOM, seed=2), random_inputs((4,), N_RANDOM, seed=3)]
    _assert_exact(model, hm, xs, "two inputs")


@pytest.mark.parametrize(
    "name, precision, key",
    [
        ("mlp_default_Vitis_parallel", "fixed<16,6,TRN,WRAP>", "config['Model']['Precision']['default']"),
        ("mlp_custom_Vivado_stream", CUSTOM_INPUT, "config['LayerName']['features']['Precision']['result']"),
    ],
)
def test_float_inputs_take_the_configured_type_exactly(compiled, name, precision, key):
    model, hm, caught = compiled[name]
    messages = [str(w.message) for w in caught]
    assert messages == [
        f"model input 'features' feeds ['fc1'] directly: its float inputs are quantized to {precision} on entry "
        f"(hls4ml's input type, from {key}); the C simulation equals the Keras model with its inputs quantized to "
        f"{precision} (hls4ml_plugin.quantize_inputs) bit for bit. Set another type with "
        "config['LayerName']['features']['Precision'] or hls4ml_plugin.convert(..., input_precision=...)"
    ]
    assert hm.graph["features"].get_attr("hgq_compat_input_precision") == precision
    p = parse_input_precision(precision)
    n_grid = N_RANDOM // 2
    x = np.concatenate([grid_inputs((8,), p, n_grid, seed=4), random_inputs((8,), N_RANDOM - n_grid, seed=5)])
    _assert_exact(quantize_inputs(model, p), hm, x, f"{name} (reference: inputs quantized to {precision})")
    on_grid = x[:n_grid][np.all(p.quantize_np(x[:n_grid]) == x[:n_grid], axis=1)]
    assert on_grid.shape[0] > 1000
    _assert_exact(model, hm, on_grid, f"{name} on the input grid (reference: the model itself)")


def test_layer_name_settings_reach_the_generated_hls_and_a_layer_named_input_converts(compiled):
    model, hm, caught = compiled["conv_Vitis_parallel"]
    assert [str(w.message) for w in caught] == [
        "config['LayerName']['dense']['Precision']['weight'] = 'fixed<8,2>' is ignored: layer 'dense' takes its "
        "hls4ml types from its quantizers (bit_exact inference, which keeps the C simulation equal to Keras; "
        "hls4ml's HGQ2 layers do the same); change the quantizer to change the type"
    ]
    assert hm.graph["input_0"].class_name == "Input"  # 'input' is reserved by hls4ml
    keys = set(hls4ml.utils.config_from_keras_model(model, granularity="name")["LayerName"])
    assert keys >= {"q_in", "sep", "flat", "dense", "input_0"}  # the Keras layer names ('input' renamed)
    assert hm.graph["sep"].get_attr("reuse_factor") == 2 and hm.graph["sep_depthwise"].get_attr("reuse_factor") == 2
    assert hm.graph["dense"].get_attr("reuse_factor") == 4 and hm.graph["dense"].get_attr("strategy") == "resource"
    assert hm.graph["dense"].get_attr("weight_t").precision.width < 8  # inferred from the quantizer, not fixed<8,2>
    params = (Path(hm.config.get_output_dir()) / "firmware" / "parameters.h").read_text()
    body = dict(re.findall(r"^// (\w+)\n(.*?)(?=^// |\Z)", params, re.M | re.S))  # node name -> its configs
    assert "static const unsigned reuse_factor = 2;" in body["sep_depthwise"]
    assert "static const unsigned reuse_factor = 2;" in body["sep"]
    assert "static const unsigned reuse_factor = 4;" in body["dense"]
    assert "static const unsigned strategy = nnet::resource;" in body["dense"] and "DenseResource" in body["dense"]
    _assert_exact(model, hm, random_inputs((6, 6, 2), N_RANDOM, seed=6), "conventions")


def test_unknown_layer_name_key_is_refused_naming_it(tmp_path):
    model = _float_mlp()
    config = _config(model)
    config["LayerName"]["fc3"] = {"ReuseFactor": 2}
    with pytest.raises(
        ValueError,
        match=r"config\['LayerName'\]\['fc3'\] names no layer of the model; the keys are "
        r"the Keras layer names.*: \['fc1', 'fc1_quantizer', 'fc2', 'features'\]",
    ):
        hls4ml_plugin.convert(model, tmp_path / "prj", hls_config=config, compile=False)


def test_per_channel_activations_in_io_stream_are_refused_pointing_at_per_tensor(tmp_path):
    with quantization_config(mode="hgq", activation_granularity="per-channel"):
        inp = keras.Input((4,))
        x = QActivation("quantized_bits(8,3,alpha=1)", name="in_q")(inp)
        x = QDense(3, name="chan", activation="quantized_bits(8,3,alpha=1)", **KQ)(x)
    model = keras.Model(inp, x)
    model.get_layer("chan").output_quantizer.assign_bitwidths(fractional=[2.0, 3.0, 4.0])
    with pytest.raises(
        ValueError,
        match=r"layer 'chan': its activation quantizer has per-element or per-channel "
        r"precision, which hls4ml supports with io_type='io_parallel' only \(got 'io_stream'.*"
        r"activation_granularity='per-tensor'",
    ):
        hls4ml_plugin.convert(model, tmp_path / "prj", io_type="io_stream", compile=False)
