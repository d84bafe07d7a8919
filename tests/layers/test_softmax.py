"""QSoftmax: equal to a float64 numpy reference of hls4ml's table softmax, serializable, trainable,
the same on JAX; swap_softmax replaces float softmaxes and reports the measured change."""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from keras import ops

from hgq_compat import QActivation, QDense, QSoftmax, swap_softmax
from tests.conftest import grad

ROOT = Path(__file__).resolve().parents[2]
W = dict(kernel_quantizer="quantized_bits(6,0,alpha=1)", bias_quantizer="quantized_bits(6,0,alpha=1)")


def c_expf(x: np.ndarray) -> np.ndarray:
    """The C library's float exp (what the C simulation's std::exp(float) calls)."""
    fn = ctypes.CDLL(ctypes.util.find_library("m")).expf
    fn.restype, fn.argtypes = ctypes.c_float, [ctypes.c_float]
    return np.array([fn(float(v)) for v in np.ravel(x)], np.float32).reshape(np.shape(x))


def ufixed(x: np.ndarray, bits: int, integer: int, rnd: str, signed: bool = False) -> np.ndarray:
    """ap_(u)fixed<bits, integer, rnd, AP_SAT> of float64 values."""
    f = bits - integer
    with np.errstate(invalid="ignore", over="ignore"):
        v = (np.floor if rnd == "TRN" else np.round)(np.asarray(x, np.float64) * 2.0**f)
    lo = -(2.0 ** (bits - 1)) if signed else 0.0
    hi = 2.0 ** (bits - 1 if signed else bits) - 1
    return np.clip(v, lo, hi) * 2.0**-f


def reference(x: np.ndarray, implementation: str, input_bits, exp_bits, sum_bits, inv_bits, scaler=1.0, axis=-1):
    """hls4ml 1.3 nnet::softmax ('stable' / 'latency') in float64 numpy, table by table."""
    x = np.asarray(x, np.float64)
    stable = implementation == "stable"
    # exp table: indexed by every bit of the index type (inp_norm_t or the input type)
    bits, integer = input_bits
    lo = 0 if stable else -(2 ** (bits - 1))
    index_values = np.arange(lo, lo + 2**bits) * 2.0 ** (integer - bits)
    arg = index_values.astype(np.float32) * np.float32(scaler)
    exp_table = ufixed(c_expf(-arg if stable else arg), *exp_bits, "RND_CONV")
    sums = np.arange(2 ** sum_bits[0]) * 2.0 ** (sum_bits[1] - sum_bits[0])
    with np.errstate(divide="ignore"):
        inv_table = ufixed(np.float32(1) / sums.astype(np.float32), *inv_bits, "RND_CONV")
    d = np.max(x, axis=axis, keepdims=True) - x if stable else x
    dq = ufixed(d, bits, integer, "TRN", signed=not stable)
    e = exp_table[np.round(dq * 2.0 ** (bits - integer)).astype(np.int64) - lo]
    s = ufixed(np.sum(e, axis=axis, keepdims=True), *sum_bits, "TRN")
    inv = inv_table[np.round(s * 2.0 ** (sum_bits[0] - sum_bits[1])).astype(np.int64)]
    return e * inv


def fixed_inputs(shape, seed=0, step=2.0**-4, scale=3.0) -> np.ndarray:
    """Inputs on a fixed-point grid (as an upstream quantizer gives them), some rows saturating."""
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(0, scale, shape) / step) * step
    x[: len(x) // 10] *= 8  # wide rows: exp underflows, inputs saturate
    return x.astype(np.float32)


CASES = {
    "stable_default": dict(
        implementation="stable", input_bits=(10, 4), exp_bits=(12, 1), sum_bits=(12, 5), inv_bits=(12, 1)
    ),
    "stable_small": dict(
        implementation="stable", input_bits=(6, 3), exp_bits=(8, 1), sum_bits=(8, 4), inv_bits=(8, 1), scaler=0.75
    ),
    "latency": dict(implementation="latency", input_bits=(8, 3), exp_bits=(14, 5), sum_bits=(14, 9), inv_bits=(10, 1)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_qsoftmax_equals_reference(case):
    kw = CASES[case]
    layer = QSoftmax(
        implementation=kw["implementation"],
        input_bits=kw["input_bits"],
        exp_bits=kw["exp_bits"],
        sum_bits=kw["sum_bits"],
        inv_bits=kw["inv_bits"],
        input_scaler=kw.get("scaler", 1.0),
    )
    x = fixed_inputs((4000, 10), seed=len(case))
    y = np.asarray(ops.convert_to_numpy(layer(x)))
    expected = reference(x, **kw)
    assert np.array_equal(y, expected), f"{int(np.sum(y != expected))} of {y.size} differ"
    assert np.unique(y).size > 100
    if case == "stable_default":  # still a softmax
        assert np.max(np.abs(y - np.asarray(ops.convert_to_numpy(ops.softmax(x))))) < 0.01


def test_qsoftmax_other_axis_and_default_sum_bits():
    layer = QSoftmax(axis=1)
    x = fixed_inputs((500, 6, 3), seed=5)
    y = np.asarray(ops.convert_to_numpy(layer(x)))
    assert layer.sum_bits is None and (layer.sum_spec.bits, layer.sum_spec.integer) == (12, 4)  # 1 + ceil(log2 6)
    np.testing.assert_array_equal(y, reference(x, "stable", (10, 4), (12, 1), (12, 4), (12, 1), axis=1))


def test_qsoftmax_serialization_round_trip(tmp_path):
    inp = keras.Input((10,))
    out = QSoftmax(implementation="latency", input_bits=(8, 3), exp_bits=(14, 5), inv_bits=(10, 1), name="sm")(inp)
    model = keras.Model(inp, out)
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    assert again.get_layer("sm").get_config() == model.get_layer("sm").get_config()
    x = fixed_inputs((300, 10))
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))


def test_qsoftmax_gradient_is_the_float_softmax_gradient():
    x = fixed_inputs((64, 5), seed=2)
    w = np.arange(5, dtype=np.float32)
    layer = QSoftmax()
    (gq,) = grad(lambda t: keras.ops.sum(keras.ops.multiply(layer(t), w)), x)
    (gf,) = grad(lambda t: keras.ops.sum(keras.ops.multiply(keras.ops.softmax(t), w)), x)
    np.testing.assert_array_equal(gq, gf)
    assert np.count_nonzero(gq) > gq.size // 2


def test_qsoftmax_refuses_inexact_types():
    with pytest.raises(ValueError, match="exp_bits 14 \\+ inv_bits 12 > 24"):
        QSoftmax(exp_bits=(14, 1), inv_bits=(12, 1)).build((None, 10))
    with pytest.raises(ValueError, match="exp_bits integer 3 > sum_bits integer 2"):
        QSoftmax(exp_bits=(10, 3), sum_bits=(10, 2)).build((None, 10))
    with pytest.raises(ValueError, match="implementation='legacy' is not accepted"):
        QSoftmax(implementation="legacy")


def test_qsoftmax_same_on_jax():
    """The layer computes the same numbers on the JAX backend (run in a subprocess)."""
    x = fixed_inputs((1000, 10), seed=9)
    code = (
        "import sys, numpy as np, json; sys.path.insert(0, sys.argv[1]); from hgq_compat import QSoftmax; "
        "from keras import ops; x = np.array(json.loads(sys.stdin.read()), np.float32); "
        "print(json.dumps(np.asarray(ops.convert_to_numpy(QSoftmax()(x))).astype(float).tolist()))"
    )
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = subprocess.run(
        [sys.executable, "-c", code, str(ROOT)],
        input=json.dumps(x.tolist()),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    y_jax = np.array(json.loads(run.stdout.strip().splitlines()[-1]), np.float32)
    np.testing.assert_array_equal(y_jax, np.asarray(ops.convert_to_numpy(QSoftmax()(x))))


def classifier() -> keras.Sequential:
    return keras.Sequential(
        [
            keras.Input((12,)),
            QActivation("quantized_bits(8,3,alpha=1)", name="in_q"),
            QDense(16, activation="quantized_relu(6,2)", name="hidden", **W),
            QDense(10, activation="softmax", name="logits", **W),
        ]
    )


def test_swap_softmax_reports_measured_change():
    keras.utils.set_random_seed(3)
    model = classifier()
    x = fixed_inputs((3000, 12), seed=1)
    y = np.random.default_rng(2).integers(0, 10, 3000)
    before = model.predict(x, verbose=0, batch_size=1024)  # swap_softmax's batch size: on JAX the last bits
    new, report = swap_softmax(model, x, y)  # of a matmul depend on the batch size
    assert report.swapped == ("logits_softmax",)
    assert isinstance(new.layers[-1], QSoftmax) and new.get_layer("logits").activation is keras.activations.linear
    assert model.get_layer("logits").activation is keras.activations.softmax  # the input model is unchanged
    np.testing.assert_array_equal(model.predict(x, verbose=0, batch_size=1024), before)
    after = new.predict(x, verbose=0, batch_size=1024)
    change = np.abs(after.astype(np.float64) - before)
    assert report.n_samples == 3000
    assert report.max_abs_change == change.max() and 0 < report.max_abs_change < 0.05
    assert report.mean_abs_change == pytest.approx(change.mean(), rel=1e-12)
    assert report.argmax_agreement == np.mean(before.argmax(-1) == after.argmax(-1)) and report.argmax_agreement > 0.97
    assert report.accuracy_before == np.mean(before.argmax(-1) == y)
    assert report.accuracy_after == np.mean(after.argmax(-1) == y)
    np.testing.assert_array_equal(after, reference(_logits(new, x), "stable", (10, 4), (12, 1), (12, 5), (12, 1)))
    assert "logits_softmax" in str(report)


def _logits(model: keras.Model, x: np.ndarray) -> np.ndarray:
    return keras.Model(model.inputs, model.get_layer("logits").output).predict(x, verbose=0)


def test_swap_softmax_layers_and_no_data():
    inp = keras.Input((8,))
    h = QActivation("quantized_bits(8,3,alpha=1)", name="in_q")(inp)
    a = QDense(4, name="d", **W)(h)
    outs = [
        keras.layers.Softmax(name="sm_layer")(a),
        keras.layers.Activation("softmax", name="sm_act")(a),
        QActivation("softmax", name="sm_qact")(a),
        QActivation("quantized_relu(4,1)", name="kept")(a),
    ]
    model = keras.Model(inp, outs)
    new, report = swap_softmax(model, implementation="latency", input_bits=(8, 3), exp_bits=(14, 5), inv_bits=(10, 1))
    assert sorted(report.swapped) == ["sm_act", "sm_layer", "sm_qact"] and report.max_abs_change is None
    assert all(
        isinstance(new.get_layer(n), QSoftmax) and new.get_layer(n).implementation == "latency" for n in report.swapped
    )
    assert type(new.get_layer("kept")).__name__ == "QActivation"
    x = fixed_inputs((200, 8))
    np.testing.assert_array_equal(new.get_layer("d").get_weights()[0], model.get_layer("d").get_weights()[0])
    assert np.all(np.isfinite(np.concatenate([np.asarray(o) for o in new.predict(x, verbose=0)], axis=1)))
