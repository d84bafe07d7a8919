"""bn_folding_utils against real QKeras 0.9.0 goldens.

convert_to_folded_model: the folded model computes what QKeras' folded layers compute (a QConv2D +
BatchNormalization with the golden weights of QConv2DBatchnorm / QDepthwiseConv2DBatchnorm, folded,
gives the golden output). unfold_model: the folded golden model (models/convbn.h5), converted, then
unfolded, gives QKeras' unfolded layers, weights and outputs.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from hgq_compat import QActivation, QConv2D, QDense, QDepthwiseConv2D, quantization_config
from hgq_compat.bn_folding_utils import convert_folded_layer_to_unfolded, unfold_model
from hgq_compat.legacy import convert_qkeras_model
from hgq_compat.quantizers import quantized_bits
from hgq_compat.utils import convert_to_folded_model
from tests import golden
from tests.conftest import to_np

KQ = dict(kernel_quantizer="quantized_bits(6,0,alpha=1)", bias_quantizer="quantized_bits(8,3,alpha=1)")


def _bn_weights(bn: keras.layers.BatchNormalization, seed: int) -> None:
    rng = np.random.default_rng(seed)
    c = bn.gamma.shape[0]
    bn.set_weights([rng.uniform(0.5, 2, c), rng.normal(0, 0.3, c), rng.normal(0, 0.3, c), rng.uniform(0.3, 3, c)])


@pytest.mark.parametrize("case_id", ["QConv2DBatchnorm/ema", "QDepthwiseConv2DBatchnorm/ema"])
def test_folding_a_conv_and_batchnorm_gives_qkeras_folded_layer_numbers(case_id):
    (case,) = [c for c in golden.cases("layers") if c["id"] == case_id]
    w = {i: golden.array("layers", f"{case_id}/w/{i}") for i in range(7)}
    kwargs = dict(case["kwargs"])
    inp = keras.Input(tuple(case["input_shape"]))
    if case["class"] == "QConv2DBatchnorm":
        conv = QConv2D(name="conv", **kwargs)
    else:
        kwargs["depthwise_quantizer"] = kwargs.pop("depthwise_quantizer")
        conv = QDepthwiseConv2D(name="conv", **kwargs)
    bn = keras.layers.BatchNormalization(name="bn")
    model = keras.Model(inp, bn(conv(inp)))
    conv.set_weights([w[0], w[1]])
    bn.set_weights([w[2], w[3], w[5], w[6]])
    folded, names = convert_to_folded_model(model)
    assert names == ["conv"]
    layer = folded.get_layer("conv")
    assert type(layer).__name__ == case["class"]
    x = golden.array("layers", case["input"])
    np.testing.assert_allclose(
        folded.predict(x, verbose=0), golden.array("layers", case["output"]), rtol=1e-6, atol=1e-6
    )
    for qw in case["quantized_weights"]:
        np.testing.assert_array_equal(to_np(layer.quantized_weight(qw["name"])), golden.array("layers", qw["key"]))
    # the input model is untouched
    assert [type(lay).__name__ for lay in model.layers][1:] == [type(conv).__name__, "BatchNormalization"]
    np.testing.assert_array_equal(to_np(bn.moving_variance), w[6])


def _mixed_model(mode: str = "qkeras") -> keras.Model:
    with quantization_config(mode=mode):
        inp = keras.Input((6, 6, 2))
        x = QActivation("quantized_bits(8,3,alpha=1)", name="q_in")(inp)
        x = QConv2D(4, 3, name="c1", **KQ)(x)
        x = keras.layers.BatchNormalization(name="bn1")(x)
        x = QActivation("quantized_relu(6,2)", name="a1")(x)
        x = QDepthwiseConv2D(
            3,
            depthwise_quantizer="quantized_bits(6,0,alpha=1)",
            bias_quantizer="quantized_bits(8,3,alpha=1)",
            name="dw",
        )(x)
        x = keras.layers.BatchNormalization(name="bn2")(x)
        x = keras.layers.Flatten()(x)
        x = QDense(5, name="d", **KQ)(x)
        x = keras.layers.BatchNormalization(name="bn3")(x)
        x = QActivation("quantized_bits(8,3,alpha=1)", name="out")(x)
        model = keras.Model(inp, x)
    for j, name in enumerate(("bn1", "bn2", "bn3")):
        _bn_weights(model.get_layer(name), j)
    return model


def test_functional_model_folds_every_pair_and_keeps_the_rest():
    model = _mixed_model()
    folded, names = convert_to_folded_model(model)
    assert names == ["c1", "dw", "d"]
    assert [type(layer).__name__ for layer in folded.layers] == [
        "InputLayer",
        "QActivation",
        "QConv2DBatchnorm",
        "QActivation",
        "QDepthwiseConv2DBatchnorm",
        "Flatten",
        "QDenseBatchnorm",
        "QActivation",
    ]
    x = np.random.default_rng(1).normal(0, 2, (400, 6, 6, 2)).astype(np.float32)
    # the folded model is the same as folding each layer by hand
    d = folded.get_layer("d")
    bn3 = model.get_layer("bn3")
    inv = to_np(bn3.gamma) / np.sqrt(to_np(bn3.moving_variance) + np.float32(bn3.epsilon))
    np.testing.assert_array_equal(to_np(d.gamma), to_np(bn3.gamma))
    kq = to_np(quantized_bits(6, 0, alpha=1)(inv * to_np(model.get_layer("d").kernel)))
    np.testing.assert_array_equal(to_np(d.quantized_weight("folded_kernel")), kq)
    # folding requantizes the kernel: outputs move, but by at most a few output steps here
    y0, y1 = model.predict(x, verbose=0), folded.predict(x, verbose=0)
    assert 0 < np.max(np.abs(y0 - y1)) <= 4.0
    assert np.mean(np.argmax(y0, 1) == np.argmax(y1, 1)) > 0.6
    # a saved and reloaded folded model computes the same
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(folded))
    clone.set_weights(folded.get_weights())
    np.testing.assert_array_equal(clone.predict(x, verbose=0), y1)


def test_sequential_model_and_what_is_not_folded():
    seq = keras.Sequential(
        [
            keras.Input((5,)),
            QActivation("quantized_bits(8,3,alpha=1)"),
            QDense(4, name="d1", **KQ),
            keras.layers.BatchNormalization(name="bn1"),
            QDense(3, name="d2", activation="quantized_relu(6,2)", **KQ),
            keras.layers.BatchNormalization(name="bn2"),
        ]
    )
    folded, names = convert_to_folded_model(seq)
    assert names == ["d1"]  # d2 has an activation: the batch norm follows the activation, not the product
    assert isinstance(folded, keras.Sequential)
    assert [type(layer).__name__ for layer in folded.layers] == [
        "QActivation",
        "QDenseBatchnorm",
        "QDense",
        "BatchNormalization",
    ]
    inp = keras.Input((4,))
    x = QDense(3, name="shared", **KQ)(inp)
    branch = keras.Model(inp, [keras.layers.BatchNormalization(name="bn")(x), QActivation("quantized_relu(4)")(x)])
    assert convert_to_folded_model(branch)[1] == []  # two consumers: not folded


@pytest.mark.parametrize("mode", ["qkeras", "hgq"])
def test_training_the_folded_model_leaves_the_input_model_intact(mode):
    """The folded model owns copies of the weights and bitwidths: on JAX a shared buffer would be
    donated (deleted) by the folded model's jitted training step."""
    with quantization_config(mode=mode, beta=1e-6):
        model = keras.Sequential(
            [
                keras.Input((5,)),
                QDense(4, name="d1", **KQ),
                keras.layers.BatchNormalization(name="bn1"),
                QDense(2, **KQ),
            ]
        )
    _bn_weights(model.get_layer("bn1"), 4)
    x = np.random.default_rng(4).normal(size=(32, 5)).astype("float32")
    before = [to_np(w).copy() for w in model.weights]
    out = to_np(model(x))
    folded, names = convert_to_folded_model(model)
    assert names == ["d1"]
    folded.compile(keras.optimizers.Adam(0.01), "mse")
    folded.fit(x, np.zeros((32, 2), "float32"), epochs=2, batch_size=8, verbose=0)
    assert any(
        not np.array_equal(to_np(a), to_np(b)) for a, b in zip(folded.weights, model.weights) if a.shape == b.shape
    )
    for w, b in zip(model.weights, before):
        np.testing.assert_array_equal(to_np(w), b)
    np.testing.assert_array_equal(to_np(model(x)), out)


def test_float_conv_batchnorm_is_removed_as_qkeras_does():
    inp = keras.Input((5, 5, 1))
    x = keras.layers.Conv2D(2, 3, name="conv")(inp)
    x = keras.layers.BatchNormalization(name="bn")(x)
    model = keras.Model(inp, keras.layers.Flatten()(x))
    folded, names = convert_to_folded_model(model)
    assert names == ["conv"]
    assert "bn" not in [layer.name for layer in folded.layers]
    np.testing.assert_array_equal(to_np(folded.get_layer("conv").kernel), to_np(model.get_layer("conv").kernel))


def test_hgq_folded_layers_keep_per_element_bitwidths():
    model = _mixed_model("hgq")
    rng = np.random.default_rng(3)
    for name in ("c1", "d"):
        q = model.get_layer(name).kernel_quantizer_internal
        q.assign_bitwidths(fractional=rng.integers(2, 7, q.f.shape).astype(np.float32))
    folded, _ = convert_to_folded_model(model)
    for name in ("c1", "d"):
        before = model.get_layer(name).kernel_quantizer_internal.kif()
        after = folded.get_layer(name).kernel_quantizer_internal.kif()
        assert np.unique(before[2]).size > 1
        for a, b in zip(before, after):
            np.testing.assert_array_equal(a, b)


def test_unfold_model_matches_qkeras():
    case = next(c for c in golden.load("api")[0] if c["id"] == "unfold_model")
    folded = convert_qkeras_model(golden.GOLDEN_DIR / case["model"])
    x = golden.array("api", case["x"])
    before = [w.copy() for w in folded.get_weights()]
    unfolded = unfold_model(folded)
    classes = [type(l).__name__ for l in unfolded.layers if not isinstance(l, keras.layers.InputLayer)]
    assert classes == [c for _, c in case["layers"] if c != "InputLayer"]
    for a, b in zip(before, folded.get_weights()):  # the input model is untouched
        np.testing.assert_array_equal(a, b)
    for key, ref in case["weights"].items():
        name, i = key.split("/")
        np.testing.assert_allclose(
            unfolded.get_layer(name).get_weights()[int(i)], golden.array("api", ref), rtol=1e-6, atol=1e-7, err_msg=key
        )
    y = keras.ops.convert_to_numpy(unfolded(x, training=False))
    np.testing.assert_allclose(y, golden.array("api", case["output"]), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(golden.array("api", case["output"]), golden.array("api", case["folded_output"]))


def test_convert_folded_layer_to_unfolded_refuses_other_layers():
    import pytest

    with pytest.raises(ValueError, match="is not a folded layer"):
        convert_folded_layer_to_unfolded(keras.layers.Dense(2))


def _accumulator_model(before: keras.layers.Layer) -> keras.Model:
    from hgq_compat import QConv2DBatchnorm

    rng = np.random.default_rng(5)
    x = keras.Input((4, 4, 3))
    y = QConv2DBatchnorm(2, (2, 2), kernel_quantizer="quantized_bits(4, 0, 1)", bias_quantizer=None, name="f1")(
        before(x)
    )
    model = keras.Model(x, keras.layers.Flatten()(QActivation("quantized_relu(5, 2)")(y)))
    f1 = model.get_layer("f1")
    f1.set_weights([rng.normal(0, 3, (2, 2, 3, 2)).astype(np.float32)] + f1.get_weights()[1:])
    return model


def test_populate_bias_quantizer_from_accumulator_with_a_known_auto_po2_scale():
    """QTools' rule: the product of a quantized_bits(6,2,1) input and a quantized_bits(4,0,1)
    kernel has 2 integer and 6 fractional bits; a per-channel auto_po2 scale 2**s (s from smin to
    smax) moves them to 2 + smax integer and 6 - smin fractional bits; 2*2*3 = 12 additions add
    ceil(log2(12)) = 4 bits. Real QKeras master gives quantized_bits(14,9,1) for this model."""
    from hgq_compat.bn_folding_utils import populate_bias_quantizer_from_accumulator

    model = _accumulator_model(QActivation("quantized_bits(6, 2, 1)"))
    model(np.random.default_rng(6).normal(size=(2, 4, 4, 3)).astype(np.float32))  # eager: the scale is known
    f1 = model.get_layer("f1")
    shifts = np.log2(to_np(f1.get_quantizers()[0].scale)).ravel()
    smin, smax = int(shifts.min()), int(shifts.max())
    assert smin != smax  # the adjustment matters for this model
    integer = 2 + smax + 4
    populate_bias_quantizer_from_accumulator(model, ["quantized_bits(8, 0, 1)"])
    q = f1.get_quantizers()[1]
    assert (q.bits, q.integer, q.keep_negative) == (integer + 6 - smin + 1, integer, True)
    x = np.random.default_rng(7).normal(size=(3, 4, 4, 3)).astype(np.float32)
    folded_bias = to_np(f1.get_folded_weights()[1])
    np.testing.assert_array_equal(to_np(f1.quantized_weight("folded_bias")), to_np(q(folded_bias)))
    assert np.all(np.isfinite(to_np(model(x))))


def test_populate_bias_quantizer_from_accumulator_refuses_an_unquantized_input():
    from hgq_compat.bn_folding_utils import populate_bias_quantizer_from_accumulator

    model = _accumulator_model(keras.layers.Activation("relu", name="plain"))
    with pytest.raises(NotImplementedError, match="'plain'.*no quantizer"):
        populate_bias_quantizer_from_accumulator(model, None)
