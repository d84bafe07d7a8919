"""HGQ mode: quantizers that are exactly fixed point give, before training, the same numbers as in
QKeras mode; the others refuse HGQ mode with a NotImplementedError naming the quantizer."""

from __future__ import annotations

import re

import numpy as np
import pytest
from keras import ops

from hgq_compat import quantizers as Q
from hgq_compat.core import po2
from hgq_compat.core.quantizer import FixedPointQuantizer
from hgq_compat.quantizers import set_internal_sigmoid
from tests import golden
from tests.conftest import to_np

CASES = golden.cases("quantizers")


def make(case):
    return getattr(Q, case["ctor"])(**case["kwargs"])


def kind(case):
    set_internal_sigmoid(case.get("internal_sigmoid") or "hard")
    try:
        return make(case).to_spec().kind
    finally:
        set_internal_sigmoid("hard")


FIXED = [c for c in CASES if kind(c) == "fixed"]
OTHER = [c for c in CASES if kind(c) != "fixed"]

EXPECTED_FIXED = {
    "quantized_tanh": {
        "qtanh/bits4",
        "qtanh/bits4_symmetric1",
        "qtanh/bits8",
        "qtanh/bits3",
        "qtanh/bits2",
        "qtanh/bits4_stochastic_rounding",
        "notes/qtanh_4_sym",
    },
    "quantized_sigmoid": {"qsigmoid/bits4", "qsigmoid/bits8", "qsigmoid/bits2", "qsigmoid/bits4_stochastic_rounding"},
    "ternary": {"ternary/threshold0.5", "ternary/alpha0.5_threshold0.25", "ternary/alpha2.0_threshold1"},
    "binary": set(),
}


@pytest.mark.parametrize("ctor", sorted(EXPECTED_FIXED))
def test_which_configurations_are_fixed_point(ctor):
    assert {c["id"] for c in FIXED if c["ctor"] == ctor} == EXPECTED_FIXED[ctor]


def hgq_layer(q, x):
    spec = q.hgq_spec("per-element")
    layer = FixedPointQuantizer(spec, is_weight=True)
    layer.build(x.shape)
    if spec.po2_scale == "auto_po2":
        # per-channel power-of-two step fitted on the tensor, as the weight layers do
        f = po2.po2_fractional_bits(x, int(q.bits), int(q.integer), q.scale_axis)
        f = np.broadcast_to(f, x.shape)
        layer.assign_bitwidths(integer=q.bits - 1 - f, fractional=f)
    return layer


@pytest.mark.parametrize("case", FIXED, ids=[c["id"] for c in FIXED])
def test_hgq_mode_equals_qkeras_mode_before_training(case):
    q = make(case)
    x = golden.array("quantizers", case["input"])
    layer = hgq_layer(q, x)
    y_hgq = to_np(layer(ops.convert_to_tensor(x), training=False))
    y_qk = to_np(q(x))
    np.testing.assert_array_equal(y_hgq, y_qk)
    if not case["stochastic"]:
        np.testing.assert_array_equal(y_hgq, golden.array("quantizers", case["output"]))


@pytest.mark.parametrize("case", OTHER, ids=[c["id"] for c in OTHER])
def test_non_fixed_quantizers_refuse_hgq_mode(case):
    set_internal_sigmoid(case.get("internal_sigmoid") or "hard")
    try:
        q = make(case)
        with pytest.raises(NotImplementedError, match=re.escape(str(q))):
            q.hgq_spec("per-element")
    finally:
        set_internal_sigmoid("hard")


def test_internal_sigmoid_mode_decides_fixed_point():
    q = Q.quantized_tanh(4)
    assert q.to_spec().kind == "fixed" and q.to_spec().prefn == "hard_tanh"
    set_internal_sigmoid("smooth")
    try:
        assert q.to_spec().kind == "function"
        with pytest.raises(NotImplementedError, match=re.escape("quantized_tanh(4)")):
            q.hgq_spec()
    finally:
        set_internal_sigmoid("hard")
    with pytest.raises(ValueError, match="'real', 'hard' or 'smooth'"):
        set_internal_sigmoid("soft")


def test_hard_tanh_prefn_keeps_qkeras_rounding():
    """QKeras' hard tanh is 2 * clip(0.5 x + 0.5, 0, 1) - 1, whose float32 rounding moves values
    just off a rounding tie onto it; prefn 'hard_tanh' reproduces that (clip(x, -1, 1) would not)."""
    tie = np.float32(0.1875)  # 1.5 steps of quantized_tanh(4): a rounding tie (to even: 0.25)
    below = np.nextafter(tie, np.float32(0))
    x = np.float32([below, -below, tie, 0.3, -2.0, 2.0])
    q = Q.quantized_tanh(4)
    y_qk = to_np(q(x))
    layer = FixedPointQuantizer(q.hgq_spec("per-tensor"), is_weight=True)
    np.testing.assert_array_equal(to_np(layer(ops.convert_to_tensor(x))), y_qk)
    # 0.5 * below + 0.5 rounds onto the tie, so QKeras gives 0.25 where clip(x) would give 0.125
    np.testing.assert_array_equal(y_qk, [0.25, -0.25, 0.25, 0.25, -1.0, 0.875])
    assert np.round(below * 8) / 8 == 0.125


def test_hgq_mode_is_trainable():
    q = Q.ternary(alpha=0.5, threshold=0.25)
    spec = q.hgq_spec("per-channel")
    assert spec.trainable_f and spec.round_mode == "RND_INF" and spec.overflow == "SAT_SYM" and spec.bits == 2
    q = Q.quantized_sigmoid(6)
    spec = q.hgq_spec("per-tensor")
    assert spec.prefn == "hard_sigmoid" and spec.keep_negative == 0 and spec.fractional == 6


def test_ternary_hgq_mode_just_below_threshold():
    """The largest float below a tie (0.5 - 2**-25) rounds down, as ternary's |x| >= alpha / 2 says."""
    below = np.nextafter(np.float32(0.5), np.float32(0))
    x = np.float32([below, -below])
    q = Q.ternary(threshold=0.5)
    layer = FixedPointQuantizer(q.hgq_spec("per-tensor"), is_weight=True)
    np.testing.assert_array_equal(to_np(layer(ops.convert_to_tensor(x))), to_np(q(x)))
