"""Round and overflow modes against hand-computed values; surrogate gradients."""

import math

import numpy as np
import pytest
from keras import ops

from hgq_compat.core import fixed_point
from tests.conftest import grad, to_np


def q(x, k, i, f, rnd="RND_CONV", ovf="SAT", **kw):
    return to_np(fixed_point.quantize(np.asarray(x, np.float32), k, float(i), float(f), rnd, ovf, **kw))


TIES = [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5]


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("TRN", [-3, -2, -1, 0, 1, 2]),
        ("RND", [-2, -1, 0, 1, 2, 3]),
        ("RND_CONV", [-2, -2, 0, 0, 2, 2]),
        ("RND_INF", [-3, -2, -1, 1, 2, 3]),
    ],
)
def test_rounding_ties(mode, expected):
    np.testing.assert_array_equal(q(TIES, 1, 3, 0, mode), expected)


def test_rounding_with_fractional_bits():
    # step 0.25: 0.375 is a tie, 0.3 rounds to 0.25, -0.3 to -0.25, -0.375 tie
    x = [0.375, 0.3, -0.3, -0.375, 0.125]
    np.testing.assert_array_equal(q(x, 1, 2, 2, "RND_CONV"), [0.5, 0.25, -0.25, -0.5, 0.0])
    np.testing.assert_array_equal(q(x, 1, 2, 2, "TRN"), [0.25, 0.25, -0.5, -0.5, 0.0])
    np.testing.assert_array_equal(q(x, 1, 2, 2, "RND"), [0.5, 0.25, -0.25, -0.25, 0.25])


OVF_X = [-5.0, -4.25, -4.0, 3.5, 3.75, 4.0, 5.0]


@pytest.mark.parametrize(
    "mode, expected",
    [
        # k=1, i=2, f=1: range [-4, 3.5], step 0.5
        ("SAT", [-4, -4, -4, 3.5, 3.5, 3.5, 3.5]),
        ("SAT_SYM", [-3.5, -3.5, -3.5, 3.5, 3.5, 3.5, 3.5]),
        # codes -10, -8, -8, 7, 8, 8, 10 wrapped into [-8, 7]
        ("WRAP", [3.0, -4, -4, 3.5, -4, -4, -3]),
    ],
)
def test_overflow_signed(mode, expected):
    np.testing.assert_array_equal(q(OVF_X, 1, 2, 1, "RND_CONV", mode), expected)


def test_overflow_unsigned():
    x = [-0.5, -0.25, 0.0, 3.5, 4.0, 4.5]
    # k=0, i=2, f=1: range [0, 3.5]; -0.25 rounds (half to even) to code 0
    np.testing.assert_array_equal(q(x, 0, 2, 1, "RND_CONV", "SAT"), [0, 0, 0, 3.5, 3.5, 3.5])
    # WRAP modulo 8 codes: -1 -> 7, 8 -> 0, 9 -> 1
    np.testing.assert_array_equal(q(x, 0, 2, 1, "RND_CONV", "WRAP"), [3.5, 0, 0, 3.5, 0, 0.5])


def test_negative_integer_bits():
    # k=1, i=-2, f=4: range [-0.25, 0.1875], step 1/16
    np.testing.assert_array_equal(q([-1, -0.25, 0.1, 0.2, 1], 1, -2, 4), [-0.25, -0.25, 0.125, 0.1875, 0.1875])


@pytest.mark.parametrize("k, i, f", [(1, -1, 0), (0, 0, 0), (1, -3, 2), (0, -2, 1)])
def test_zero_bits_prune_to_zero(k, i, f):
    out = q([-3.0, -0.7, 0.4, 2.0, 100.0], k, i, f, ovf="SAT")
    np.testing.assert_array_equal(out, 0.0)
    out = q([-3.0, -0.7, 0.4, 2.0, 100.0], k, i, f, ovf="WRAP")
    np.testing.assert_array_equal(out, 0.0)


def test_per_element_bitwidths_broadcast():
    x = np.full((2, 3), 0.7, np.float32)
    f = np.array([0.0, 1.0, 3.0], np.float32)
    out = to_np(fixed_point.quantize(x, 1, 1.0, f))
    np.testing.assert_array_equal(out, [[1.0, 0.5, 0.75]] * 2)


def test_bitwidths_rounded_in_forward():
    # f=1.6 behaves as 2, i=0.4 as 0
    np.testing.assert_array_equal(q([0.3, 5.0], 1, 0.4, 1.6), [0.25, 0.75])


def test_stochastic_rounding_is_unbiased_in_training_and_rnd_at_inference():
    x = np.full((20000,), 0.3, np.float32)
    out = q(x, 1, 2, 0, "S_RND", training=True)
    assert set(np.unique(out)) <= {0.0, 1.0}
    assert abs(out.mean() - 0.3) < 0.02
    np.testing.assert_array_equal(q(TIES, 1, 3, 0, "S_RND", training=False), [-2, -1, 0, 1, 2, 3])
    np.testing.assert_array_equal(q(TIES, 1, 3, 0, "S_RND_CONV", training=False), [-2, -2, 0, 0, 2, 2])


def test_gradient_wrt_f_sign_and_size():
    x = np.array([0.3, -0.3, 0.25, 0.2], np.float32)
    # f=2 (step 0.25): xq = [0.25, -0.25, 0.25, 0.25]; d xq / df = ln2 * (x - xq)
    gx, gf = grad(lambda xx, ff: ops.sum(fixed_point.quantize(xx, 1, 2.0, ff, ste="clip")), x, np.full(4, 2.0))
    np.testing.assert_allclose(gf, math.log(2) * np.array([0.05, -0.05, 0.0, -0.05]), rtol=1e-5)
    np.testing.assert_array_equal(gx, 1.0)
    # the loss (xq - x)^2 falls when f grows: d loss / df = 2 (xq - x) ln2 (x - xq) < 0
    _, gf = grad(lambda xx, ff: ops.sum((fixed_point.quantize(xx, 1, 2.0, ff) - xx) ** 2), x, np.full(4, 2.0))
    assert np.all(gf[[0, 1, 3]] < 0) and gf[2] == 0


def test_gradient_under_saturation_goes_to_bounds():
    x = np.array([5.0, -6.0, 0.3], np.float32)
    gx, gi, gf = grad(
        lambda xx, ii, ff: ops.sum(fixed_point.quantize(xx, 1, ii, ff, ste="clip")), x, np.full(3, 1.0), np.full(3, 2.0)
    )
    # hi = 2^i - 2^-f: dhi/di = ln2 * 2^i = 2 ln2, dhi/df = ln2 * 2^-f; lo = -2^i: dlo/di = -2 ln2
    np.testing.assert_allclose(gi, [2 * math.log(2), -2 * math.log(2), 0.0], rtol=1e-5)
    np.testing.assert_allclose(gf[:2], [math.log(2) * 0.25, 0.0], rtol=1e-5)
    np.testing.assert_array_equal(gx, [0.0, 0.0, 1.0])


def test_identity_ste_without_surrogate():
    x = np.array([5.0, -6.0, 0.3], np.float32)
    (gx,) = grad(lambda xx: ops.sum(fixed_point.quantize(xx, 1, 1.0, 2.0, surrogate=False)), x)
    np.testing.assert_array_equal(gx, 1.0)


def test_bits_of():
    np.testing.assert_array_equal(
        to_np(fixed_point.bits_of(1.0, np.array([2.0, -3.0]), np.array([3.0, 1.0]))), [6.0, 0.0]
    )


@pytest.mark.parametrize("round_mode", ["RND", "RND_INF", "RND_CONV", "TRN"])
@pytest.mark.parametrize("overflow", ["WRAP", "SAT"])
def test_large_values_are_exact_in_float32(round_mode, overflow):
    """|x * 2**f| beyond 2**23 (where v + 0.5 rounds) and 2**24 (where v - lo rounds): compare with
    a float64 reference of fixed<16,6> (k=1, i=5, f=10)."""
    rng = np.random.default_rng(5)
    x = np.concatenate(
        [
            rng.uniform(-1e5, 1e5, 4000),
            rng.uniform(-3e7, 3e7, 4000),
            np.nextafter(np.float32(0.5), 0) * np.float32([1, -1]) / 1024,
        ]
    ).astype(np.float32)
    got = to_np(fixed_point.quantize_values(ops.convert_to_tensor(x), 1.0, 5.0, 10.0, round_mode, overflow))
    v = x.astype(np.float64) * 1024
    fl = np.floor(v)
    r = {
        "TRN": fl,
        "RND": fl + (v - fl >= 0.5),
        "RND_CONV": np.round(v),
        "RND_INF": np.sign(v) * (np.floor(np.abs(v)) + (np.abs(v) - np.floor(np.abs(v)) >= 0.5)),
    }[round_mode]
    if overflow == "WRAP":
        r = np.mod(r + 2**15, 2**16) - 2**15
    else:
        r = np.clip(r, -(2**15), 2**15 - 1)
    np.testing.assert_array_equal(got, (r / 1024).astype(np.float32))
