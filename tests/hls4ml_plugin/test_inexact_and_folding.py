"""Batch-norm folding (exact), stochastic activations (exact at inference) and allow_inexact
(approximations hls4ml has, with the measured difference reported).

Four C simulations (g++): the tutorial-style CNN folded (Vivado io_parallel, Vitis io_stream), an
HGQ dense model folded through ``synthesize`` (Vivado), and a model of approximated layers through
``synthesize(allow_inexact=True)`` (Vitis), whose reported difference is compared with the one
measured here from the compiled project.
"""

from __future__ import annotations

import ctypes
import glob
from concurrent.futures import ThreadPoolExecutor

import hls4ml
import keras
import numpy as np
import pytest

import hls4ml_plugin
from hgq_compat import QActivation, QBatchNormalization, QConv2D, QDense, quantization_config
from hgq_compat.utils import convert_to_folded_model
from hls4ml_plugin.synth import measure_difference, synthesize
from tests.hls4ml_plugin.conftest import N_RANDOM, assert_bit_exact, random_inputs

KQ = dict(kernel_quantizer="quantized_bits(6,0,alpha=1)", bias_quantizer="quantized_bits(8,3,alpha=1)")


def _bn_weights(model: keras.Model, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if type(layer) is keras.layers.BatchNormalization:
            c = layer.gamma.shape[0]
            layer.set_weights(
                [rng.uniform(0.5, 2, c), rng.normal(0, 0.3, c), rng.normal(0, 0.3, c), rng.uniform(0.3, 3, c)]
            )


def cnn() -> keras.Model:
    """hls4ml tutorial shape: QConv2D -> BatchNormalization -> QActivation, pooling, a dense head;
    the last activations are stochastic quantizers (deterministic at inference)."""
    inp = keras.Input((8, 8, 1))
    x = QActivation("quantized_bits(8,3,alpha=1)", name="q_in")(inp)
    x = QConv2D(4, 3, name="c1", **KQ)(x)
    x = keras.layers.BatchNormalization(name="bn1")(x)
    x = QActivation("quantized_relu(6,2)", name="a1")(x)
    x = keras.layers.MaxPooling2D(2, name="mp")(x)
    x = QConv2D(4, 2, name="c2", **KQ)(x)
    x = keras.layers.BatchNormalization(name="bn2")(x)
    x = QActivation("quantized_relu_po2(4,4,use_stochastic_rounding=True)", name="po2_stoch")(x)
    x = keras.layers.Flatten(name="flat")(x)
    x = QDense(6, name="d", **KQ)(x)
    x = keras.layers.BatchNormalization(name="bn3")(x)
    logits = QActivation("quantized_bits(8,3,alpha=1)", name="logits")(x)
    tern = QActivation("stochastic_ternary()", name="tern")(logits)
    sign = QActivation("stochastic_binary()", name="sign")(logits)
    model = keras.Model(inp, keras.layers.Concatenate(name="cat")([logits, tern, sign]))
    _bn_weights(model)
    return model


def hgq_dense() -> keras.Model:
    with quantization_config(mode="hgq"):
        inp = keras.Input((6,))
        x = QActivation("quantized_bits(8,3,alpha=1)", name="q_in")(inp)
        x = QDense(8, name="d1", **KQ)(x)
        x = keras.layers.BatchNormalization(name="bn1")(x)
        x = QActivation("quantized_relu(6,2)", name="a1")(x)
        x = QDense(4, name="d2", **KQ)(x)
        x = keras.layers.BatchNormalization(name="bn2")(x)
        x = QActivation("quantized_bits(8,3,alpha=1)", name="out")(x)
        model = keras.Model(inp, x)
    rng = np.random.default_rng(5)
    for name in ("d1", "d2"):
        q = model.get_layer(name).kernel_quantizer_internal
        q.assign_bitwidths(fractional=rng.integers(2, 6, q.f.shape).astype(np.float32))
    _bn_weights(model, 1)
    return model


def approximated() -> keras.Model:
    """Layers hls4ml converts approximately: float scales, u-law kernels, float batch norms."""
    inp = keras.Input((8,))
    x = QActivation("quantized_bits(8,3,alpha=1)", name="q_in")(inp)
    x = QDense(
        6,
        name="auto",
        kernel_quantizer="quantized_bits(6,0,alpha='auto')",
        bias_quantizer="quantized_bits(8,3,alpha=1)",
    )(x)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = QActivation("quantized_relu(8,3)", name="a1")(x)
    x = QBatchNormalization(name="qbn")(x)
    x = QActivation("quantized_bits(8,3,alpha=1)", name="a2")(x)
    x = QDense(
        5,
        name="ulaw",
        kernel_quantizer="quantized_ulaw(8,0,1)",
        bias_quantizer="quantized_bits(8,3,alpha=1)",
        activation="quantized_bits(8,3,alpha=1)",
    )(x)
    x = QDense(4, name="tern", kernel_quantizer="ternary(alpha='auto')", bias_quantizer="quantized_bits(8,3,alpha=1)")(
        x
    )  # raw sums: the float32 rounding shows
    model = keras.Model(inp, x)
    _bn_weights(model, 2)
    return model


@pytest.fixture(scope="module")
def folded_cnn(tmp_path_factory):
    """The CNN converted with fold_batchnorm=True, Vivado io_parallel and Vitis io_stream, compiled."""
    keras.utils.set_random_seed(7)
    model = cnn()
    tmp = tmp_path_factory.mktemp("fold")
    projects = {}
    for backend, io_type in (("Vivado", "io_parallel"), ("Vitis", "io_stream")):
        hm = hls4ml_plugin.convert(
            model, tmp / f"{backend}_{io_type}", backend=backend, io_type=io_type, compile=False, fold_batchnorm=True
        )
        hm.write()
        projects[(backend, io_type)] = hm
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda hm: hm._compile(), projects.values()))
    return model, projects


def test_folded_cnn_is_exact(folded_cnn):
    model, projects = folded_cnn
    x = random_inputs((8, 8, 1), N_RANDOM, seed=3)
    for (backend, io_type), hm in projects.items():
        assert hm.hgq_compat_folded == ["c1", "c2", "d"]
        assert hm.hgq_compat_inexact == {}
        folded = hm.hgq_compat_keras_model
        assert [type(folded.get_layer(n)).__name__ for n in ("c1", "c2", "d")] == [
            "QConv2DBatchnorm",
            "QConv2DBatchnorm",
            "QDenseBatchnorm",
        ]
        assert assert_bit_exact(folded, hm, x, f"folded cnn {backend} {io_type}") == 0
    y = folded.predict(x, verbose=0)
    assert set(np.unique(y[:, 6:12])) == {-1.0, 0.0, 1.0} and set(np.unique(y[:, 12:])) == {-1.0, 1.0}


def test_unfolded_cnn_is_refused_naming_folding_and_allow_inexact(tmp_path):
    with pytest.raises(
        ValueError,
        match=r"'bn1': a float BatchNormalization is not exact.*fold_batchnorm=True.*"
        r"--fold-bn.*allow_inexact=True",
    ):
        hls4ml_plugin.convert(cnn(), tmp_path / "p", compile=False)


def test_hgq_folding_keeps_bitwidths_and_reports_its_change(tmp_path):
    keras.utils.set_random_seed(11)
    model = hgq_dense()
    x = random_inputs((6,), N_RANDOM, seed=4)
    report = synthesize(model, tmp_path / "hgq", backend="Vivado", check_data=x, fold_batchnorm=True)
    assert report.exact and report.mismatches == 0, report.format()
    folded, names = convert_to_folded_model(model)
    assert names == ["d1", "d2"] and report.folding.folded_layers == names
    for name in names:
        f_before = model.get_layer(name).kernel_quantizer_internal.kif()[2]
        f_after = folded.get_layer(name).kernel_quantizer_internal.kif()[2]
        assert np.unique(f_before).size > 1 and np.array_equal(f_before, f_after)
    y0, y1 = model.predict(x, verbose=0), folded.predict(x, verbose=0)
    assert report.folding.max_abs_diff == float(np.max(np.abs(y0.astype(np.float64) - y1)))
    assert report.folding.argmax_agreement == float(np.mean(np.argmax(y0, -1) == np.argmax(y1, -1)))
    assert 0 < report.folding.max_abs_diff and 0.5 < report.folding.argmax_agreement < 1
    assert "batch norm folded into d1, d2" in report.format()


def test_approximated_layers_are_refused_by_default(tmp_path):
    model = approximated()
    with pytest.raises(
        NotImplementedError,
        match=r"'auto': kernel quantizer quantized_bits\(6,0,1,alpha='auto'\).*"
        r"alpha='auto_po2' or alpha=1.*allow_inexact=True",
    ):
        hls4ml_plugin.convert(model, tmp_path / "p", compile=False)


def test_allow_inexact_reports_the_measured_difference(tmp_path):
    keras.utils.set_random_seed(13)
    model = approximated()
    x = random_inputs((8,), N_RANDOM, seed=5)
    report = synthesize(model, tmp_path / "inexact", backend="Vitis", check_data=x, allow_inexact=True)
    assert sorted(report.inexact) == ["auto", "bn", "qbn", "tern", "ulaw"]
    assert not report.exact
    # measured here, from the compiled project on disk
    linked = hls4ml.converters.link_existing_project(str(tmp_path / "inexact"))
    (lib,) = glob.glob(str(tmp_path / "inexact" / "firmware" / "*.so"))
    linked._top_function_lib = ctypes.cdll.LoadLibrary(lib)
    y_keras = model.predict(x, verbose=0)
    y_hls = np.asarray(linked.predict(x)).reshape(y_keras.shape)
    diff = np.abs(y_hls.astype(np.float64) - y_keras)
    d = report.difference
    assert d.max_abs_diff == float(diff.max()) > 0
    assert d.n_differ == int(np.sum(y_hls != y_keras)) == report.mismatches > 0
    assert d.n_outputs == y_keras.size == 4 * N_RANDOM
    assert [p["max_abs_diff"] for p in d.per_output] == diff.max(0).tolist()
    assert [p["fraction_differ"] for p in d.per_output] == np.mean(y_hls != y_keras, 0).tolist()
    assert measure_difference(y_keras, y_hls) == d
    assert d.max_abs_diff < 0.01  # approximations at 24 significant bits stay close
    first = report.format().splitlines()[0]
    assert first.startswith(f"INEXACT (allow_inexact): max abs diff {d.max_abs_diff:.6g}")
    assert f"{d.n_differ} of {d.n_outputs} outputs differ" in first


def test_allow_inexact_through_the_hls_config_and_transposed_conv(tmp_path):
    """Users of hls4ml.converters.convert_from_keras_model opt in with hls_config['Model']['AllowInexact']."""
    from hgq_compat import QConv2DTranspose

    model = approximated()
    config = {"Model": {"Precision": "fixed<16,6>", "ReuseFactor": 1, "Strategy": "Latency", "AllowInexact": True}}
    hm = hls4ml.converters.convert_from_keras_model(
        model, output_dir=str(tmp_path / "direct"), backend="Vitis", hls_config=config
    )
    assert sorted(hm.hgq_compat_inexact) == ["auto", "bn", "qbn", "tern", "ulaw"]
    # alpha='auto' kernels as hls4ml's QKeras converter: the codes, then the per-channel scale (ApplyAlpha)
    codes = hm.graph["auto"].get_weights("weight").data
    assert np.array_equal(codes * 32, np.round(codes * 32)) and "auto_alpha" in hm.graph
    assert set(np.unique(hm.graph["tern"].get_weights("weight").data)) == {-1.0, 0.0, 1.0}
    auto = model.get_layer("auto")
    kernel = keras.ops.convert_to_numpy(auto.quantized_weight("kernel"))
    scale = hm.graph["auto_alpha"].get_weights("scale").data
    assert np.array_equal((codes * scale).astype(np.float32), kernel)
    ulaw = hm.graph["ulaw"].get_weights("weight").data  # no codes: the float values at 24 significant bits
    ulaw_keras = keras.ops.convert_to_numpy(model.get_layer("ulaw").quantized_weight("kernel"))
    assert np.max(np.abs(ulaw - ulaw_keras)) < 2**-23
    cin = keras.Input((6, 6, 2))
    conv = QConv2D(
        3,
        3,
        kernel_quantizer="quantized_bits(4,0,alpha='auto')",
        bias_quantizer="quantized_bits(8,3,alpha=1)",
        name="ca",
    )(QActivation("quantized_bits(8,3,alpha=1)")(cin))
    hm = hls4ml_plugin.convert(keras.Model(cin, conv), tmp_path / "conv", compile=False, allow_inexact=True)
    assert [n.class_name for n in hm.graph.values()][-2:] == ["Conv2D", "BatchNormalization"]
    inp = keras.Input((8, 8, 5))
    x = QActivation("quantized_bits(8,3,alpha=1)")(inp)
    big = keras.Model(inp, QConv2DTranspose(4, 3, strides=2, padding="same", name="big", **KQ)(x))
    with pytest.raises(NotImplementedError, match=r"'big' \(QConv2DTranspose\).*dense 320x1024.*allow_inexact=True"):
        hls4ml_plugin.convert(big, tmp_path / "t", compile=False)
    hm = hls4ml_plugin.convert(big, tmp_path / "t2", compile=False, allow_inexact=True)
    assert list(hm.hgq_compat_inexact) == ["big"]
    assert hm.graph["big"].get_weights("weight").data.shape == (320, 1024)
