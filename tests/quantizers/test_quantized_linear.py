"""quantized_linear (QKeras master) against goldens from real QKeras master
(tests/fixtures/qkeras_goldens/master_linear.json, section 'master_linear' of make_qkeras_goldens.py):
outputs, gradients, scales, max/min/range, str and config are equal to QKeras' bit for bit."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

import hgq_compat
from hgq_compat import get_quantizer, quantized_linear
from tests import golden
from tests.conftest import assert_equal_or_ulp, grad, ulp_reason

CASES = golden.cases("master_linear")


def _arr(key: str) -> np.ndarray:
    return golden.array("master_linear", key)


def _np(t) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(t))


def test_goldens_cover_the_forms():
    assert len(CASES) >= 30
    kinds = {str(c["kwargs"].get("alpha")) for c in CASES}
    assert {"None", "auto", "auto_po2", "0.5"} <= kinds


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_quantized_linear_matches_master(case):
    float_scale = str(case["kwargs"].get("alpha")) == "auto"  # a float scale, not a power of two

    def check(actual, key):
        if float_scale:
            assert_equal_or_ulp(actual, _arr(case[key]), "float_scale", key)
        else:
            np.testing.assert_array_equal(actual, _arr(case[key]), err_msg=key)

    q = quantized_linear(**case["kwargs"])
    x, w = _arr(case["x"]), _arr(case["w"])
    y = q(ops.convert_to_tensor(x))  # eager: also sets q's scales, read below
    for attr in ("quantization_scale", "scale"):
        check(np.asarray(_np(getattr(q, attr)), np.float32), attr)
    for attr in ("max", "min", "range"):
        if attr in case:
            check(np.asarray(getattr(q, attr)(), np.float32).reshape(_arr(case[attr]).shape), attr)
    expected_config = dict(case["config"])
    config = q.get_config()
    if isinstance(config["alpha"], list):
        config["alpha"] = [float(a) for a in config["alpha"]]
    assert config == expected_config
    if "str" in case:
        assert str(q) == case["str"]
        assert get_quantizer(case["str"]).get_config() == get_quantizer(str(q)).get_config()
    reason = ulp_reason("float_scale") if float_scale else None
    if reason:  # the scale was 1 ulp off at most (above); the quantized values can be a whole step off
        pytest.skip(reason)
    fresh = quantized_linear(**case["kwargs"])  # the gradient is traced on JAX: a quantizer of its own
    (g,) = grad(lambda xt: ops.sum(ops.multiply(fresh(xt), w)), x)
    np.testing.assert_array_equal(_np(y), _arr(case["y"]))
    np.testing.assert_array_equal(g, _arr(case["grad"]))


def test_str_with_numeric_alpha():
    """QKeras master's str() fails for a numeric alpha (UnboundLocalError); hgq_compat prints it."""
    assert any(c.get("str_error", "").startswith("UnboundLocalError") for c in golden.load("master_linear")[0])
    assert str(quantized_linear(8, 2, alpha=0.5)) == "quantized_linear(8,2,1,alpha=0.5)"


def test_spec_kinds():
    """Plain fixed point (alpha None or 1) lowers to a fixed spec; scales and the sign are QKeras mode only."""
    s = quantized_linear(6, 2).to_spec()
    assert (s.kind, s.keep_negative, s.integer, s.fractional, s.overflow, s.round_mode) == (
        "fixed",
        1,
        2.0,
        3.0,
        "SAT_SYM",
        "RND_CONV",
    )
    assert quantized_linear(6, 2, symmetric=0, keep_negative=False).to_spec().overflow == "SAT"
    assert quantized_linear(1).to_spec().kind == "binary"
    assert quantized_linear(4, alpha="auto_po2").to_spec().kind == "function"
    assert quantized_linear(4, alpha=0.5).to_spec().kind == "float_scale"
    with pytest.raises(NotImplementedError, match="HGQ mode is not available"):
        quantized_linear(4, alpha="auto").hgq_spec()


def test_fixed_spec_agrees_with_qkeras_numbers():
    """The fixed spec of quantized_linear(6, 2) gives the same numbers as the quantizer (HGQ-mode start)."""
    from hgq_compat.core import fixed_point

    q = quantized_linear(6, 2)
    s = q.to_spec()
    x = np.concatenate([np.arange(-5, 5, 2**-4), np.arange(-5, 5, 2**-4) + 2**-5]).astype(np.float32)
    xs = keras.ops.convert_to_tensor(x)
    ref = fixed_point.quantize_values(xs, float(s.keep_negative), s.integer, s.fractional, s.round_mode, s.overflow)
    np.testing.assert_array_equal(_np(q(xs)), _np(ref))


def test_refusals_name_the_argument():
    with pytest.raises(ValueError, match="quantized_linear: bits=0"):
        quantized_linear(0)
    with pytest.raises(ValueError, match="quantized_linear: alpha='auto_po3'"):
        quantized_linear(4, alpha="auto_po3")


def test_kernel_hidden_default_and_layer():
    """As in QKeras master, a weight layer switches an alpha=None quantized_linear kernel to 'auto_po2'."""
    layer = hgq_compat.QDense(3, kernel_quantizer=quantized_linear(4, 1), bias_quantizer=quantized_linear(8, 3))
    layer.build((None, 5))
    assert layer.kernel_quantizer_internal.quantizer.alpha == "auto_po2"
    assert layer.bias_quantizer_internal.quantizer.alpha is None
    x = np.random.default_rng(0).uniform(-2, 2, (7, 5)).astype(np.float32)
    y = _np(layer(x))
    k = _np(quantized_linear(4, 1, alpha="auto_po2")(layer.kernel))
    b = _np(quantized_linear(8, 3)(layer.bias))
    np.testing.assert_array_equal(y, _np(keras.ops.matmul(x, k) + b))
