"""Quantized recurrent layers: QKeras 0.9.0 goldens (QLSTM, QBidirectional), float-Keras
equivalence (QSimpleRNN and QGRU crash in QKeras 0.9.0), EBOPs, HGQ mode, saving, bad arguments."""

import json

import keras
import numpy as np
import pytest
from keras import ops

from hgq_compat.core.ebops import recurrent_ebops
from hgq_compat.layers.recurrent import (
    QGRU,
    QLSTM,
    QBidirectional,
    QGRUCell,
    QLSTMCell,
    QSimpleRNN,
    QSimpleRNNCell,
    hard_sigmoid,
)
from hgq_compat.quantizers import QUANTIZERS, quantized_bits
from tests import golden
from tests.conftest import grad, to_np, variable_grads

HAS_QTANH = "quantized_tanh" in QUANTIZERS
needs_qtanh = pytest.mark.skipif(
    not HAS_QTANH, reason="hgq_compat.quantizers has no quantized_tanh yet (QKeras' default RNN activation)"
)

RNN_CLASSES = {"QLSTM": QLSTM, "QSimpleRNN": QSimpleRNN, "QGRU": QGRU}
GOLDEN = [c for cls in ("QLSTM", "QBidirectional") for c in golden.cases("layers", **{"class": cls})]
QB = "quantized_bits(4,0,1,alpha=1)"


def make_layer(kwargs, **extra):
    kwargs = dict(kwargs)
    if "layer" in kwargs:
        inner = kwargs.pop("layer")
        return QBidirectional(RNN_CLASSES[inner["class_name"]](**inner["config"], **extra), **kwargs)
    return None


def build_golden(case, **extra):
    cls = case["class"]
    if cls == "QBidirectional":
        layer = make_layer(case["kwargs"], **extra)
    else:
        layer = RNN_CLASSES[cls](**case["kwargs"], **extra)
    layer.build((None, *case["input_shape"]))
    return layer


def golden_weights(case):
    return [golden.array("layers", w["key"]) for w in case["weights"]]


def assign_latent(layer, case):
    """Assign the golden latent weights (works in HGQ mode, where get_weights has more entries)."""
    rnns = [layer.forward_layer, layer.backward_layer] if isinstance(layer, QBidirectional) else [layer]
    values = golden_weights(case)
    for rnn in rnns:
        for role in rnn.weight_roles():
            getattr(rnn.cell, role).assign(values.pop(0))
        rnn.reinitialize_bitwidths()
    assert not values


def weight_grads(layer, x, g):
    """Gradients of sum(layer(x, training=True) * g) w.r.t. the layer's trainable variables."""
    return variable_grads(lambda: ops.sum(ops.multiply(layer(x, training=True), g)), layer.trainable_variables)


def quantized_weight_of(layer, name):
    """Golden names: 'cell.kernel', 'forward_layer.cell.recurrent_kernel', ..."""
    *path, role = name.split(".")
    obj = layer
    for part in path:
        if part != "cell":
            obj = getattr(obj, part)
    return to_np(obj.quantized_weight(role))


# ---------------------------------------------------------------------------- QKeras goldens


def test_golden_cases_present():
    ids = {c["id"] for c in GOLDEN}
    assert {
        "QLSTM/basic",
        "QLSTM/seq_state_q",
        "QLSTM/default_alpha",
        "QBidirectional/lstm",
        "QBidirectional/lstm_seq_concat",
    } <= ids
    errored = {c["id"] for c in golden.load("layers")[0] if c.get("error") and c["class"] in ("QSimpleRNN", "QGRU")}
    assert {"QSimpleRNN/basic", "QGRU/basic"} <= errored  # QKeras 0.9.0 crashes: covered by float-Keras tests


@needs_qtanh
@pytest.mark.parametrize("case", GOLDEN, ids=[c["id"] for c in GOLDEN])
def test_output_matches_qkeras(case):
    layer = build_golden(case)
    assert len(layer.get_weights()) == case["get_weights_len"]
    layer.set_weights(golden_weights(case))
    x = golden.array("layers", case["input"])
    y = to_np(layer(x, training=False))
    np.testing.assert_allclose(y, golden.array("layers", case["output"]), rtol=1e-6, atol=1e-6)
    for qw in case["quantized_weights"]:
        np.testing.assert_array_equal(
            quantized_weight_of(layer, qw["name"]), golden.array("layers", qw["key"]), err_msg=qw["name"]
        )


@needs_qtanh
@pytest.mark.parametrize("case", GOLDEN, ids=[c["id"] for c in GOLDEN])
def test_gradients_match_qkeras(case):
    layer = build_golden(case)
    layer.set_weights(golden_weights(case))
    x = golden.array("layers", case["input"])
    g = golden.array("layers", case["g"])
    y = to_np(layer(x, training=True))
    np.testing.assert_allclose(y, golden.array("layers", case["train_output"]), rtol=1e-6, atol=1e-6)
    (gx,) = grad(lambda xx: ops.sum(ops.multiply(layer(xx, training=True), g)), x)
    np.testing.assert_allclose(gx, golden.array("layers", case["train_grads"]["input"]), rtol=1e-5, atol=1e-5)
    gws = weight_grads(layer, x, g)
    assert len(gws) == len(case["weights"])
    for gw, w in zip(gws, case["weights"]):
        np.testing.assert_allclose(
            gw, golden.array("layers", case["train_grads"][w["name"]]), rtol=1e-5, atol=1e-5, err_msg=w["name"]
        )


@needs_qtanh
@pytest.mark.parametrize(
    "case",
    golden.cases("layers", **{"class": "QLSTM"}),
    ids=[c["id"] for c in golden.cases("layers", **{"class": "QLSTM"})],
)
def test_qkeras_saved_config_loads(case):
    """The tf-keras config QKeras 0.9.0 saved (QInitializer, Clip, quantizer dicts, time_major) loads."""
    layer = QLSTM.from_config(case["config"])
    layer.build((None, *case["input_shape"]))
    layer.set_weights(golden_weights(case))
    y = to_np(layer(golden.array("layers", case["input"])))
    np.testing.assert_allclose(y, golden.array("layers", case["output"]), rtol=1e-6, atol=1e-6)


def test_auto_po2_default_and_auto_range():
    layer = QLSTM(
        3,
        activation="tanh",
        kernel_quantizer="quantized_bits(4,0)",
        recurrent_quantizer="quantized_bits(4,0)",
        bias_quantizer="quantized_bits(4,0)",
    )
    config = layer.get_config()
    assert config["kernel_quantizer"]["config"]["alpha"] == "auto_po2"
    assert config["recurrent_quantizer"]["config"]["alpha"] == "auto_po2"
    assert config["bias_quantizer"]["config"]["alpha"] is None
    assert config["kernel_constraint"]["class_name"] == "Clip"
    assert config["recurrent_constraint"]["class_name"] == "Clip"
    assert config["bias_constraint"]["class_name"] == "Clip"
    assert config["recurrent_activation"] == "hard_sigmoid"
    # alpha='auto_po2' kernels keep their initializer (QKeras); alpha=1 kernels get a QInitializer
    assert config["kernel_initializer"]["class_name"] == "GlorotUniform"
    q = QLSTM(3, activation="tanh", kernel_quantizer=QB).get_config()
    assert q["kernel_initializer"]["class_name"] == "QInitializer"
    assert [type(v).__name__ for v in layer.quantizers] == ["quantized_bits"] * 3 + ["NoneType"]


# ---------------------------------------------------------------------------- float Keras equivalence


def _inputs(shape=(6, 5, 3), seed=0):
    return np.random.default_rng(seed).uniform(-1.5, 1.5, shape).astype("float32")


def _copy_quantized(qlayer, flayer, x):
    flayer.build(x.shape)
    flayer.set_weights([to_np(qlayer.quantized_weight(r)) for r in qlayer.weight_roles()])


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_simplernn_equals_float_keras(return_sequences, go_backwards):
    x = _inputs()
    q = QSimpleRNN(
        4,
        activation="tanh",
        kernel_quantizer=QB,
        recurrent_quantizer=QB,
        bias_quantizer=QB,
        bias_initializer="glorot_uniform",
        return_sequences=return_sequences,
        go_backwards=go_backwards,
    )
    y = to_np(q(x))
    f = keras.layers.SimpleRNN(4, activation="tanh", return_sequences=return_sequences, go_backwards=go_backwards)
    _copy_quantized(q, f, x)
    np.testing.assert_allclose(y, to_np(f(x)), rtol=1e-6, atol=1e-6)
    assert np.all(np.abs(to_np(q.quantized_weight("kernel")) * 8 % 1) == 0)  # really quantized


@pytest.mark.parametrize("reset_after", [False, True])
@pytest.mark.parametrize("implementation", [1, 2])
@pytest.mark.parametrize("recurrent_activation", ["sigmoid", "hard_sigmoid"])
def test_gru_equals_float_keras(reset_after, implementation, recurrent_activation):
    x = _inputs()
    q = QGRU(
        4,
        activation="tanh",
        recurrent_activation=recurrent_activation,
        kernel_quantizer=QB,
        recurrent_quantizer=QB,
        bias_quantizer=QB,
        bias_initializer="glorot_uniform",
        reset_after=reset_after,
        implementation=implementation,
        return_sequences=True,
    )
    y = to_np(q(x))
    ract = hard_sigmoid if recurrent_activation == "hard_sigmoid" else "sigmoid"  # QKeras' hard_sigmoid
    f = keras.layers.GRU(
        4, activation="tanh", recurrent_activation=ract, reset_after=reset_after, return_sequences=True, use_cudnn=False
    )
    _copy_quantized(q, f, x)
    np.testing.assert_allclose(y, to_np(f(x)), rtol=1e-6, atol=1e-6)


def test_qkeras_hard_sigmoid_not_keras3():
    x = np.array([-3.0, -1.0, -0.5, 0.0, 0.4, 1.0, 2.0], "float32")
    np.testing.assert_array_equal(to_np(hard_sigmoid(x)), np.clip(0.5 * x + 0.5, 0, 1))
    assert QGRU(2, activation="tanh").recurrent_activation is hard_sigmoid


@pytest.mark.parametrize("implementation", [1, 2])
def test_lstm_equals_float_keras(implementation):
    x = _inputs()
    q = QLSTM(
        3,
        activation="tanh",
        recurrent_activation="sigmoid",
        kernel_quantizer=QB,
        recurrent_quantizer=QB,
        bias_quantizer=QB,
        implementation=implementation,
        return_sequences=True,
    )
    f = keras.layers.LSTM(3, activation="tanh", recurrent_activation="sigmoid", return_sequences=True, use_cudnn=False)
    y = to_np(q(x))
    _copy_quantized(q, f, x)
    np.testing.assert_allclose(y, to_np(f(x)), rtol=1e-6, atol=1e-6)


def _ref_loop(kind, x, w, state_q, act, ract, units):
    """Per-step numpy reference of QKeras' cell arithmetic with a state quantizer."""
    k, rk, b = w
    sq = (lambda v: np.asarray(to_np(state_q(v)))) if state_q else (lambda v: v)
    h = np.zeros((x.shape[0], units), "float32")
    outs = []
    for t in range(x.shape[1]):
        hq = sq(h)
        if kind == "rnn":
            h = act(x[:, t] @ k + b + hq @ rk)
        else:
            u = units
            z = ract(x[:, t] @ k[:, :u] + b[:u] + hq @ rk[:, :u])
            r = ract(x[:, t] @ k[:, u : 2 * u] + b[u : 2 * u] + hq @ rk[:, u : 2 * u])
            hh = act(x[:, t] @ k[:, 2 * u :] + b[2 * u :] + (r * hq) @ rk[:, 2 * u :])
            h = z * hq + (1 - z) * hh
        outs.append(h)
    return np.stack(outs, 1)


@pytest.mark.parametrize("kind", ["rnn", "gru"])
def test_state_quantizer_reference(kind):
    """QKeras' intended numbers with a state quantizer (QSimpleRNN/QGRU crash in QKeras 0.9.0)."""
    x = _inputs(seed=3)
    sq = "quantized_bits(3,0,1,alpha=1)"
    kw = dict(
        kernel_quantizer=QB,
        recurrent_quantizer=QB,
        bias_quantizer=QB,
        state_quantizer=sq,
        bias_initializer="glorot_uniform",
        return_sequences=True,
        activation="tanh",
    )
    layer = QSimpleRNN(3, **kw) if kind == "rnn" else QGRU(3, recurrent_activation="sigmoid", **kw)
    y = to_np(layer(x))
    w = [to_np(layer.quantized_weight(r)) for r in ("kernel", "recurrent_kernel", "bias")]
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    ref = _ref_loop(kind, x, w, quantized_bits(3, 0, 1, alpha=1), np.tanh, sigmoid, 3)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)
    extra = {} if kind == "rnn" else {"recurrent_activation": "sigmoid"}
    no_state_q = (QSimpleRNN if kind == "rnn" else QGRU)(3, **{**kw, "state_quantizer": None}, **extra)
    no_state_q.build(x.shape)
    no_state_q.set_weights(layer.get_weights())
    assert np.abs(to_np(no_state_q(x)) - y).max() > 1e-3  # the state quantizer matters


@needs_qtanh
@pytest.mark.parametrize("cls", ["QSimpleRNN", "QGRU"])
def test_goldenlike_error_cases_run(cls):
    """The kwargs of the QKeras cases that crash in 0.9.0 run here, with QKeras' default activations."""
    for case in golden.load("layers")[0]:
        if case["class"] != cls:
            continue
        layer = RNN_CLASSES[cls](**case["kwargs"])
        y = to_np(layer(_inputs((case["batch"], *case["input_shape"]))))
        assert np.all(np.isfinite(y)) and np.all(np.abs(y) <= 1.0)


@needs_qtanh
def test_quantized_tanh_activation_matches_float_keras():
    x = _inputs()
    q = QSimpleRNN(
        3,
        activation="quantized_tanh(4)",
        kernel_quantizer=QB,
        recurrent_quantizer=QB,
        bias_quantizer=QB,
        return_sequences=True,
    )
    y = to_np(q(x))
    act = q.cell.activation
    f = keras.layers.SimpleRNN(3, activation=lambda v: act(v), return_sequences=True)
    _copy_quantized(q, f, x)
    np.testing.assert_allclose(y, to_np(f(x)), rtol=1e-6, atol=1e-6)


def test_cell_in_keras_rnn_equals_layer():
    x = _inputs()
    for cell_cls, layer_cls, extra in (
        (QLSTMCell, QLSTM, {"recurrent_activation": "hard_sigmoid"}),
        (QGRUCell, QGRU, {}),
        (QSimpleRNNCell, QSimpleRNN, {}),
    ):
        kw = dict(
            activation="tanh",
            kernel_quantizer=QB,
            recurrent_quantizer=QB,
            bias_quantizer=QB,
            state_quantizer="quantized_bits(6,0,1,alpha=1)",
            **extra,
        )
        layer = layer_cls(3, return_sequences=True, **kw)
        rnn = keras.layers.RNN(cell_cls(3, **kw), return_sequences=True)
        y = to_np(layer(x))
        rnn.build(x.shape)
        rnn.set_weights(layer.get_weights())
        np.testing.assert_array_equal(to_np(rnn(x)), y)


# ---------------------------------------------------------------------------- EBOPs


def test_ebops_hand_count_simplernn():
    """T=4 steps, 3 inputs of 8 bits, 2 units; kernel 4 bits (one zero), recurrent 3 bits (one zero),
    bias 5 bits, state 6 bits."""
    layer = QSimpleRNN(
        2,
        activation="tanh",
        kernel_quantizer="quantized_bits(4,0,1,alpha=1)",
        recurrent_quantizer="quantized_bits(3,0,1,alpha=1)",
        bias_quantizer="quantized_bits(5,0,1,alpha=1)",
        state_quantizer="quantized_bits(6,0,1,alpha=1)",
        default_input_bits=8,
    )
    layer.build((None, 4, 3))
    layer.set_weights(
        [
            np.array([[0.5, 0.0], [0.25, -0.5], [0.125, 0.375]], "float32"),
            np.array([[0.5, 0.0], [0.25, -0.5]], "float32"),
            np.array([0.25, -0.5], "float32"),
        ]
    )
    kernel = 8 * 5 * 4  # input bits x 5 nonzero kernel entries x 4 bits
    recurrent = 6 * 3 * 3  # state bits x 3 nonzero recurrent entries x 3 bits
    bias = 2 * 5
    assert float(to_np(layer.compute_ebops())) == 4 * (kernel + recurrent + bias) == 896


def test_ebops_lstm_counts_four_gates_and_timesteps():
    layer = QLSTM(
        2, activation="tanh", kernel_quantizer=QB, recurrent_quantizer=QB, bias_quantizer=QB, default_input_bits=8
    )
    layer.build((None, 5, 3))
    k = np.full((3, 8), 0.25, "float32")
    rk = np.full((2, 8), 0.25, "float32")
    b = np.full((8,), 0.5, "float32")
    layer.set_weights([k, rk, b])
    # per step: 3x8 products of 8x4 bits + 2x8 products of 8 (default bits: no state quantizer) x 4 bits
    # + 8 biases of 4 bits
    assert float(to_np(layer.compute_ebops())) == 5 * (24 * 32 + 16 * 32 + 8 * 4) == 6560


def test_recurrent_ebops_function_rows():
    kb = np.ones((2, 3), "float32") * 2
    rb = np.ones((3, 3), "float32")
    per_step = recurrent_ebops(np.array([4.0, 4.0]), kb, np.full(3, 2.0), rb, None, 1)
    assert float(to_np(per_step)) == 2 * 3 * 8 + 3 * 3 * 2
    rows = recurrent_ebops(np.array([[4.0, 4.0], [1.0, 1.0]]), kb, np.full(3, 2.0), rb, np.ones(3), 2)
    assert float(to_np(rows)) == (2 * 3 * 8 + 2 * 3 * 2) + 2 * 18 + 2 * 3


def test_ebops_differentiable_in_hgq_mode():
    layer = QGRU(
        3,
        activation="tanh",
        kernel_quantizer=QB,
        recurrent_quantizer=QB,
        bias_quantizer=QB,
        state_quantizer="quantized_bits(6,0,1,alpha=1)",
        mode="hgq",
        beta=1e-3,
        bias_initializer="glorot_uniform",
    )
    x = _inputs((4, 5, 3))
    layer(x)
    fvars = [v for v in layer.trainable_variables if v.path.endswith("/f")]
    assert len(fvars) == 4  # kernel, recurrent kernel, bias, state
    grads = variable_grads(layer.compute_ebops, fvars)
    for g, v in zip(grads, fvars):
        assert np.all(np.asarray(g) >= 0) and np.asarray(g).sum() > 0, v.path
    # training call adds beta * EBOPs
    layer(x, training=True)
    assert len(layer.losses) == 1
    np.testing.assert_allclose(float(to_np(layer.losses[0])), 1e-3 * float(to_np(layer.compute_ebops())), rtol=1e-6)


# ---------------------------------------------------------------------------- HGQ mode

HGQ_CASES = [
    ("QSimpleRNN", {}),
    ("QGRU", {"recurrent_activation": "hard_sigmoid"}),
    ("QGRU", {"reset_after": True, "recurrent_activation": "sigmoid"}),
    ("QLSTM", {}),
]


@pytest.mark.parametrize("cls,extra", HGQ_CASES, ids=[f"{c}-{i}" for i, (c, _) in enumerate(HGQ_CASES)])
def test_hgq_equals_qkeras_before_training(cls, extra):
    x = _inputs()
    kw = dict(
        activation="tanh",
        kernel_quantizer="quantized_bits(4,0)",
        recurrent_quantizer=QB,
        bias_quantizer="quantized_bits(6,2,1)",
        state_quantizer="quantized_bits(5,1,1)",
        bias_initializer="glorot_uniform",
        return_sequences=True,
        **extra,
    )
    qk = RNN_CLASSES[cls](3, **kw)
    hg = RNN_CLASSES[cls](3, mode="hgq", **kw)
    y = to_np(qk(x))
    hg.build(x.shape)
    for role in qk.weight_roles():
        getattr(hg.cell, role).assign(getattr(qk.cell, role))
    hg.reinitialize_bitwidths()
    for role in qk.weight_roles():
        np.testing.assert_array_equal(to_np(hg.quantized_weight(role)), to_np(qk.quantized_weight(role)), err_msg=role)
    # same quantized numbers; float32 sums may differ by an ulp between the two compiled graphs (XLA)
    np.testing.assert_allclose(to_np(hg(x)), y, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(to_np(hg(x, training=True)), to_np(qk(x, training=True)), rtol=1e-6, atol=1e-6)


@needs_qtanh
@pytest.mark.parametrize("case", GOLDEN, ids=[c["id"] for c in GOLDEN])
def test_hgq_golden_before_training(case):
    layer = build_golden(case, mode="hgq")
    assign_latent(layer, case)
    x = golden.array("layers", case["input"])
    np.testing.assert_allclose(to_np(layer(x)), golden.array("layers", case["output"]), rtol=1e-6, atol=1e-6)


def test_hgq_fit_runs_and_learns_bits():
    x = _inputs((32, 5, 3), seed=1)
    y = np.random.default_rng(2).normal(size=(32, 4)).astype("float32")
    inp = keras.Input((5, 3))
    out = QBidirectional(
        QLSTM(
            2,
            activation="tanh",
            kernel_quantizer=QB,
            recurrent_quantizer=QB,
            bias_quantizer=QB,
            state_quantizer="quantized_bits(6,0,1,alpha=1)",
            mode="hgq",
            beta=1e-2,
        )
    )(inp)
    model = keras.Model(inp, out)
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    fvars = [v for v in model.trainable_variables if v.path.endswith("/f")]
    before = [to_np(v).copy() for v in fvars]
    hist = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert np.all(np.isfinite(hist.history["loss"]))
    assert any(np.abs(to_np(v) - b).max() > 0 for v, b in zip(fvars, before))
    assert float(to_np(model.layers[1].compute_ebops())) > 0


# ---------------------------------------------------------------------------- saving

SAVE_CASES = [
    ("QLSTM", dict(activation="tanh", state_quantizer="quantized_bits(6,0,1,alpha=1)", return_sequences=True)),
    ("QSimpleRNN", dict(activation="tanh", state_quantizer="quantized_bits(5,1,1)")),
    ("QGRU", dict(activation="tanh", reset_after=True, implementation=2, recurrent_activation="sigmoid")),
    ("QGRU", dict(activation="tanh", mode="hgq", state_quantizer="quantized_bits(6,0,1,alpha=1)")),
    ("QLSTM", dict(activation="tanh", mode="hgq", kernel_quantizer="quantized_bits(4,0)")),
]


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cls,kw", SAVE_CASES, ids=[f"{c}-{i}" for i, (c, _) in enumerate(SAVE_CASES)])
def test_keras_round_trip_exact(tmp_path, cls, kw, bidirectional):
    kw = {"kernel_quantizer": QB, "recurrent_quantizer": QB, "bias_quantizer": QB, **kw}
    layer = RNN_CLASSES[cls](3, **kw)
    if bidirectional:
        layer = QBidirectional(layer, merge_mode="sum")
    elif cls == "QSimpleRNN":
        layer = RNN_CLASSES[cls](3, go_backwards=True, **kw)
    inp = keras.Input((5, 3))
    model = keras.Model(inp, layer(inp))
    x = _inputs((4, 5, 3))
    y = to_np(model(x))
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(to_np(loaded(x)), y)
    assert _json(loaded.layers[1].get_config()) == _json(model.layers[1].get_config())
    assert type(loaded.layers[1]) is type(model.layers[1])
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(to_np(a), to_np(b))


def _json(config):
    return json.loads(json.dumps(config))


def test_config_round_trip_and_qkeras_keys():
    layer = QLSTM(
        3,
        kernel_quantizer="quantized_bits(4,0)",
        state_quantizer="quantized_bits(6,0,1,alpha=1)",
        activation="tanh",
        implementation=2,
        unroll=True,
    )
    config = layer.get_config()
    for key in (
        "units",
        "activation",
        "recurrent_activation",
        "kernel_quantizer",
        "recurrent_quantizer",
        "bias_quantizer",
        "state_quantizer",
        "implementation",
        "unit_forget_bias",
        "return_sequences",
        "unroll",
        "mode",
        "granularity",
        "beta",
    ):
        assert key in config, key
    assert "cell" not in config
    again = QLSTM.from_config(config)
    assert again.get_config() == config
    # QKeras/tf-keras config keys that Keras 3 lacks
    legacy = dict(config, time_major=False, implementation=0)
    assert QLSTM.from_config(legacy).implementation == 1


def test_unroll_and_masking():
    x = _inputs()
    kw = dict(activation="tanh", kernel_quantizer=QB, recurrent_quantizer=QB, bias_quantizer=QB)
    a = QGRU(3, **kw, return_sequences=True)
    b = QGRU(3, **kw, return_sequences=True, unroll=True)
    y = to_np(a(x))
    b.build(x.shape)
    b.set_weights(a.get_weights())
    np.testing.assert_allclose(to_np(b(x)), y, rtol=1e-6, atol=1e-6)
    mask = np.ones(x.shape[:2], bool)
    mask[:, -2:] = False
    ym = to_np(a(x, mask=mask))
    np.testing.assert_array_equal(ym[:, -1], ym[:, -3])


# ---------------------------------------------------------------------------- bad arguments


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="nonsense"):
        QLSTM(3, kernel_quantizer="nonsense(3)")
    with pytest.raises(ValueError, match="state_quantizer"):
        QGRU(3, activation="tanh", state_quantizer=3)
    with pytest.raises(NotImplementedError, match="stateful"):
        QSimpleRNN(3, activation="tanh", stateful=True, mode="hgq")
    with pytest.raises(NotImplementedError, match="time_major"):
        QLSTM(3, activation="tanh", time_major=True)
    with pytest.raises(ValueError, match="implementation"):
        QGRU(3, activation="tanh", implementation=7)
    with pytest.raises(ValueError, match="mode"):
        QLSTM(3, activation="tanh", mode="fast")
    with pytest.raises(NotImplementedError, match="HGQ mode"):
        QLSTM(3, activation="tanh", kernel_quantizer="quantized_bits(4,0,alpha=2.0)", mode="hgq")
    with pytest.raises(ValueError, match="merge_mode"):
        QBidirectional(QLSTM(3, activation="tanh"), merge_mode="max")


def test_stateful_qkeras_mode_allowed():
    layer = QSimpleRNN(2, activation="tanh", kernel_quantizer=QB, stateful=True)
    x = _inputs((2, 3, 3))
    first = to_np(layer(x))
    second = to_np(layer(x))
    assert np.abs(first - second).max() > 0


def test_model_ebops_counts_each_direction_once():
    from hgq_compat.training.model import model_ebops

    inp = keras.Input((5, 3))
    layer = QBidirectional(
        QLSTM(
            2,
            activation="tanh",
            kernel_quantizer=QB,
            recurrent_quantizer=QB,
            bias_quantizer=QB,
            bias_initializer="glorot_uniform",
        )
    )
    model = keras.Model(inp, layer(inp))
    expected = float(to_np(layer.forward_layer.compute_ebops())) + float(to_np(layer.backward_layer.compute_ebops()))
    assert expected > 0
    assert model_ebops(model) == pytest.approx(expected)
    assert float(to_np(layer.compute_ebops())) == pytest.approx(expected)
    assert len(layer.get_quantizers()) == 8


@pytest.mark.parametrize("cls", ["QSimpleRNN", "QLSTM", "QGRU"])
def test_dropout_training(cls):
    x = _inputs()
    layer = RNN_CLASSES[cls](
        3, activation="tanh", kernel_quantizer=QB, recurrent_quantizer=QB, dropout=0.5, recurrent_dropout=0.5, seed=7
    )
    y_inf = to_np(layer(x))
    y_train = to_np(layer(x, training=True))
    assert np.all(np.isfinite(y_train))
    assert np.abs(y_train - y_inf).max() > 0
    np.testing.assert_array_equal(to_np(layer(x)), y_inf)
