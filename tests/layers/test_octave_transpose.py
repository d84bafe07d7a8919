"""QDepthwiseConv2DTranspose, QSeparableConv2DTranspose, QOctaveConv2D and GetActivationSuffix against
goldens from QKeras master (tests/fixtures/make_qkeras_goldens.py, section master_octave_transpose),
plus HGQ mode, EBOPs and the .keras round trip."""

from __future__ import annotations

import re
import warnings

import keras
import numpy as np
import pytest

import hgq_compat
from hgq_compat import (
    GetActivationSuffix,
    QActivation,
    QDepthwiseConv2DTranspose,
    QOctaveConv2D,
    QSeparableConv2DTranspose,
    quantization_config,
)
from hgq_compat.qdepthwise_conv2d_transpose import QDepthwiseConv2DTranspose as QDT_path
from hgq_compat.qoctave import GetActivationSuffix as GAS_path
from hgq_compat.qoctave import QOctaveConv2D as QOC_path
from hgq_compat.qseparable_conv2d_transpose import QSeparableConv2DTranspose as QST_path
from tests import golden
from tests.conftest import to_np

NAME = "master_octave_transpose"
CLASSES = {
    "QDepthwiseConv2DTranspose": QDepthwiseConv2DTranspose,
    "QSeparableConv2DTranspose": QSeparableConv2DTranspose,
}
LAYER_CASES = [c for c in golden.cases(NAME) if c["id"].split("/")[0] in CLASSES]
OCTAVE_CASES = [c for c in golden.load(NAME)[0] if c["id"].startswith("QOctaveConv2D/")]


def _golden_layer(case):
    cls = CLASSES[case["id"].split("/")[0]]
    x = golden.array(NAME, case["x"])
    model = keras.Sequential([keras.Input(x.shape[1:]), cls(**case["kwargs"], name="layer")])
    model.set_weights([golden.array(NAME, k) for k in case["weights"]])
    return model, x


def test_qkeras_module_paths_and_star_import():
    assert (QDT_path, QST_path, QOC_path, GAS_path) == (
        QDepthwiseConv2DTranspose,
        QSeparableConv2DTranspose,
        QOctaveConv2D,
        GetActivationSuffix,
    )
    for name in ("QDepthwiseConv2DTranspose", "QSeparableConv2DTranspose", "QOctaveConv2D", "GetActivationSuffix"):
        assert name in hgq_compat.__all__
    for module in ("qdepthwise_conv2d_transpose", "qseparable_conv2d_transpose", "qoctave"):
        assert module in hgq_compat.__all__


@pytest.mark.parametrize("case", LAYER_CASES, ids=[c["id"] for c in LAYER_CASES])
def test_layer_matches_qkeras_master(case):
    model, x = _golden_layer(case)
    layer = model.get_layer("layer")
    assert [list(w.shape) for w in layer.weights] == case["weight_shapes"]
    assert list(model.output_shape) == case["output_shape"]
    y = to_np(model(x, training=False))
    np.testing.assert_array_equal(y, golden.array(NAME, case["output"]))  # dyadic inputs and weights: exact
    assert [None if q is None else str(q) for q in layer.get_quantizers()] == case["quantizers"]
    config = layer.get_config()
    assert set(case["config_keys"]) <= set(config)
    for key, value in case["config"].items():
        got = config[key]
        if isinstance(value, dict):  # quantizers: master's config adds post_training_scale=None
            value = {
                **value,
                "config": {k: v for k, v in value["config"].items() if not (k == "post_training_scale" and v is None)},
            }
        assert (list(got) if isinstance(got, tuple) else got) == value, key


ERROR_CASES = [c for c in golden.load(NAME)[0] if c["id"].split("/")[0] in CLASSES and "error" in c]


@pytest.mark.parametrize("case", ERROR_CASES, ids=[c["id"] for c in ERROR_CASES])
def test_layer_refuses_what_qkeras_master_refuses(case):
    message = [line for line in case["error"].splitlines() if "ValueError: " in line][-1].split("ValueError: ")[-1]
    assert len(message) > 40
    with pytest.raises(ValueError, match=re.escape(message[:60])):
        CLASSES[case["id"].split("/")[0]](**case["kwargs"])


@pytest.mark.parametrize(
    "case", [c for c in golden.load(NAME)[0] if c["id"].startswith("GetActivationSuffix/")], ids=lambda c: c["id"]
)
def test_get_activation_suffix(case):
    assert GetActivationSuffix(case["text"]) == case["result"]


@pytest.mark.parametrize("case", OCTAVE_CASES, ids=[c["id"] for c in OCTAVE_CASES])
def test_octave_matches_qkeras_master(case):
    xs = {k: golden.array(NAME, v) for k, v in golden.cases(NAME, id="octave/input")[0].items() if k != "id"}
    names = case["inputs"]
    ins = [None if k is None else keras.Input(xs[k].shape[1:], name=k) for k in names]
    octave = QOctaveConv2D(**case["kwargs"], name=f"oct{case['id'].split('/')[1]}")
    if "error" in case:  # QKeras raises TypeError; hgq_compat refuses the same path, saying why
        with pytest.raises(NotImplementedError, match="QKeras raises TypeError"):
            octave(ins)
        return
    outs = octave(ins)
    assert [o is None for o in outs] == case["outputs_none"]
    model = keras.Model([t for t in ins if t is not None], [o for o in outs if o is not None])
    assert sorted(map(tuple, case["layers"])) == sorted((la.name, type(la).__name__) for la in model.layers)
    by_name = {la.name: la for la in model.layers}
    # QKeras' weight order is its model's layer order (recorded in case["layers"])
    weights = iter(golden.array(NAME, k) for k in case["weights"])
    for name, _ in case["layers"]:
        layer = by_name[name]
        layer.set_weights([next(weights) for _ in layer.weights])
    ys = model([xs[k] for k in names if k is not None], training=False)
    ys = ys if isinstance(ys, (list, tuple)) else [ys]
    for y, key in zip(ys, case["outputs"], strict=True):
        np.testing.assert_array_equal(to_np(y), golden.array(NAME, key))


def _models(mode):
    with quantization_config(mode=mode):
        inp = keras.Input((4, 5, 4))
        x = QActivation("quantized_bits(6,2,1,alpha=1)", name="q_in")(inp)
        dw = QDepthwiseConv2DTranspose(
            2,
            (3, 3),
            group_size=2,
            strides=(2, 2),
            padding="same",
            depthwise_kernel_quantizer="quantized_bits(4,0,1,alpha=1)",
            depthwise_activation="quantized_bits(8,3,1)",
            name="dwt",
        )(x)
        sep = QSeparableConv2DTranspose(
            3,
            (2, 3),
            strides=(2, 1),
            padding="valid",
            depthwise_kernel_quantizer="quantized_bits(4,1,1,alpha=1)",
            pointwise_kernel_quantizer="quantized_bits(4,0,1,alpha=1)",
            bias_quantizer="quantized_bits(4,2,1)",
            depthwise_activation="quantized_bits(6,2,1)",
            pointwise_activation="quantized_relu(6,2)",
            name="sept",
        )(x)
        return keras.Model(inp, [dw, sep])


def _set_dyadic(model, seed):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        for w in layer.trainable_weights:
            if w.name in ("depthwise_kernel", "pointwise_kernel", "bias"):
                w.assign((np.round(rng.normal(size=w.shape) * 8) / 8).astype("float32"))


def test_hgq_mode_equals_qkeras_mode_at_initial_bitwidths_and_counts_ebops():
    from hgq_compat import layer_ebops

    x = (np.round(np.random.default_rng(3).normal(size=(16, 4, 5, 4)) * 8) / 8).astype("float32")
    q, h = _models("qkeras"), _models("hgq")
    _set_dyadic(q, 7)
    _set_dyadic(h, 7)
    for a, b in zip(q(x, training=False), h(x, training=False)):
        np.testing.assert_array_equal(to_np(a), to_np(b))
    dwt, sept = h.get_layer("dwt"), h.get_layer("sept")
    # depthwise (group_size=2): every input element (6 bits) times the nonzero kernel taps of its group
    kq = to_np(dwt.quantized_weight("depthwise_kernel"))  # (3, 3, 4, 2): 4 bits each
    per_in_channel = [np.count_nonzero(kq[:, :, (c // 2) * 2 : (c // 2) * 2 + 2, c % 2]) for c in range(4)]
    expected = sum(4 * 5 * 6 * 4 * n for n in per_in_channel)
    assert float(to_np(dwt.compute_ebops())) == pytest.approx(expected)
    # separable: depthwise part + pointwise part at the 6 bits of depthwise_activation + bias
    d = to_np(sept.quantized_weight("depthwise_kernel"))
    p = to_np(sept.quantized_weight("pointwise_kernel"))
    b = to_np(sept.quantized_weight("bias"))
    n_pos = 8 * 7
    expected = (
        4 * 5 * 6 * 4 * np.count_nonzero(d) + n_pos * 6 * 4 * np.count_nonzero(p) + n_pos * 4 * np.count_nonzero(b)
    )
    assert float(to_np(sept.compute_ebops())) == pytest.approx(expected)
    assert float(to_np(layer_ebops(h)["sept"])) == pytest.approx(expected)
    # the EBOPs term enters the loss in training
    h(x, training=True)
    assert len(h.losses) >= 2


def test_keras_round_trip(tmp_path):
    x = (np.round(np.random.default_rng(4).normal(size=(3, 4, 5, 4)) * 8) / 8).astype("float32")
    for mode in ("qkeras", "hgq"):
        model = _models(mode)
        _set_dyadic(model, 11)
        path = tmp_path / f"m_{mode}.keras"
        model.save(path)
        loaded = keras.saving.load_model(path)
        for layer in ("dwt", "sept"):
            assert loaded.get_layer(layer).get_config() == model.get_layer(layer).get_config()
        for a, b in zip(model(x), loaded(x)):
            np.testing.assert_array_equal(to_np(a), to_np(b))


def test_refusals():
    with pytest.raises(ValueError, match="divisible by group_size"):
        QDepthwiseConv2DTranspose(2, 2, group_size=3)(keras.Input((4, 4, 4)))
    with pytest.raises(ValueError, match="groups=2"):
        QSeparableConv2DTranspose(2, 2, groups=2)
    with pytest.raises(NotImplementedError, match="channels_last"):
        QSeparableConv2DTranspose(2, 2, data_format="channels_first")


@pytest.mark.parametrize("mode", ["qkeras", "hgq"])
def test_activation_is_stored_not_applied(mode):
    """QKeras' quirk in both modes: ``activation`` (even a quantizer that HGQ mode cannot train) is kept in
    ``layer.activation`` and the config, with a warning, and changes no output; the applied
    depthwise/pointwise activations are refused in HGQ mode when they are not fixed point."""
    x = (np.round(np.random.default_rng(5).normal(size=(4, 4, 5, 2)) * 8) / 8).astype("float32")
    common = dict(
        depthwise_kernel_quantizer="quantized_bits(4,0,1,alpha=1)", depthwise_activation="quantized_bits(8,3,1)"
    )
    with quantization_config(mode=mode):
        with pytest.warns(UserWarning, match=r"activation='quantized_po2\(4\)' is not applied"):
            stored = QDepthwiseConv2DTranspose(2, (3, 3), activation="quantized_po2(4)", **common)
        plain = QDepthwiseConv2DTranspose(2, (3, 3), **common)
    stored(x), plain(x)  # build both
    plain.set_weights(stored.get_weights())
    y = to_np(stored(x))
    np.testing.assert_array_equal(y, to_np(plain(x)))
    assert y.shape == (4, 6, 7, 2) and np.count_nonzero(y) > 0
    assert repr(stored.activation) == "quantized_po2(4)"
    assert stored.get_config()["activation"]["class_name"] == "quantized_po2"
    assert repr(stored.depthwise_activation) == repr(stored.get_quantizers()[-1]) == "quantized_bits(8,3,1)"
    if mode == "hgq":
        with (
            quantization_config(mode=mode),
            pytest.raises(NotImplementedError, match="quantized_po2.*not a fixed-point"),
        ):
            QSeparableConv2DTranspose(2, (3, 3), pointwise_activation="quantized_po2(4)")


def test_hgq_training_moves_weights_and_bitwidths():
    model = _models("hgq")
    _set_dyadic(model, 1)
    x = np.random.default_rng(0).normal(size=(32, 4, 5, 4)).astype("float32")
    ys = [np.zeros((32, *o.shape[1:]), "float32") for o in model.outputs]
    model.compile("adam", ["mse", "mse"])
    before = {v.path: to_np(v).copy() for v in model.trainable_variables}
    with warnings.catch_warnings():  # TensorFlow: "Gradients do not exist for dwt/bias" (unused, as in QKeras)
        warnings.simplefilter("ignore", UserWarning)
        model.fit(x, ys, epochs=1, batch_size=16, verbose=0)
    moved = {v.path for v in model.trainable_variables if not np.array_equal(before[v.path], to_np(v))}
    assert "dwt/bias" not in moved
    for path in ("dwt/depthwise_kernel", "sept/depthwise_kernel", "sept/pointwise_kernel", "sept/bias"):
        assert path in moved
    assert {
        "dwt/depthwise_kernel_quantizer/f",
        "sept/depthwise_activation_quantizer/f",
        "sept/pointwise_kernel_quantizer/f",
    } <= moved
    assert [w.path for w in model.get_layer("sept").get_prunable_weights()] == [
        "sept/depthwise_kernel",
        "sept/pointwise_kernel",
        "sept/bias",
    ]


@pytest.mark.parametrize("case", LAYER_CASES, ids=[c["id"] for c in LAYER_CASES])
def test_saved_qkeras_master_model_converts(case):
    """The .h5 QKeras master saves converts to what QKeras' own load_model makes of it (QKeras' config
    has no depthwise_activation / pointwise_activation: the reloaded layer has none)."""
    from hgq_compat.legacy import convert_qkeras_model

    model = convert_qkeras_model(golden.GOLDEN_DIR / case["h5"])
    x = golden.array(NAME, case["x"])
    np.testing.assert_array_equal(to_np(model(x, training=False)), golden.array(NAME, case["reloaded_output"]))
