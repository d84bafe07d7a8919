"""Quantizer arguments are validated at construction: a ValueError names the quantizer, the
argument and what is accepted, at once (no 2**bits is computed first). Everything real QKeras
accepts in the goldens still constructs (tests/quantizers/test_golden_quantizers.py)."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest

import hgq_compat as hq
from hgq_compat.quantizers import get_quantizer

BITS_RANGE = "an integer from {} to 32"

REFUSED = [
    # (constructor, kwargs, argument, accepted text)
    ("quantized_bits", {"bits": 4.5, "integer": 0}, "bits", BITS_RANGE.format(0)),
    ("quantized_bits", {"bits": 4, "integer": 0.5}, "integer", "an integer from -100 to 100"),
    ("quantized_bits", {"bits": 4, "integer": 1e999}, "integer", "an integer from -100 to 100"),
    ("quantized_bits", {"bits": float("nan")}, "bits", BITS_RANGE.format(0)),
    ("quantized_bits", {"bits": 33}, "bits", BITS_RANGE.format(0)),
    ("quantized_bits", {"bits": -1}, "bits", BITS_RANGE.format(0)),
    ("quantized_bits", {"bits": "4"}, "bits", BITS_RANGE.format(0)),
    ("quantized_bits", {"bits": True}, "bits", BITS_RANGE.format(0)),
    ("quantized_bits", {"bits": 4, "alpha": "x"}, "alpha", "None, a finite number"),
    ("quantized_bits", {"bits": 4, "alpha": float("inf")}, "alpha", "None, a finite number"),
    ("quantized_bits", {"bits": 4, "symmetric": "yes"}, "symmetric", "True/False or 0/1"),
    ("quantized_relu", {"bits": 4, "negative_slope": "x"}, "negative_slope", "a finite number"),
    ("quantized_relu", {"bits": 4, "negative_slope": 0.3}, "negative_slope", "0 or a power of two"),
    ("quantized_relu", {"bits": 4, "use_sigmoid": "yes"}, "use_sigmoid", "True/False or 0/1"),
    ("quantized_relu", {"bits": 10**9}, "bits", BITS_RANGE.format(0)),
    ("quantized_tanh", {"bits": 0}, "bits", BITS_RANGE.format(1)),
    ("quantized_tanh", {"bits": 10**9}, "bits", BITS_RANGE.format(1)),
    ("quantized_sigmoid", {"bits": 2.5}, "bits", BITS_RANGE.format(0)),
    ("quantized_ulaw", {"bits": 8, "u": float("nan")}, "u", "a finite number >= 0"),
    ("quantized_po2", {"bits": 10**9}, "bits", BITS_RANGE.format(1)),
    ("quantized_po2", {"bits": 4, "max_value": -1}, "max_value", "None or a finite number >= 0"),
    ("quantized_relu_po2", {"bits": 10**9}, "bits", BITS_RANGE.format(1)),
    ("quantized_relu_po2", {"bits": 4, "negative_slope": "x"}, "negative_slope", "a finite number"),
    ("quantized_hswish", {"bits": 4.5}, "bits", BITS_RANGE.format(0)),
    ("ternary", {"number_of_unrolls": 10**9}, "number_of_unrolls", "an integer from 0 to 100"),
    ("ternary", {"threshold": "x"}, "threshold", "None or a finite number"),
    ("binary", {"use_01": "yes"}, "use_01", "True/False or 0/1"),
    ("stochastic_binary", {"temperature": float("nan")}, "temperature", "a finite number"),
]


@pytest.mark.parametrize("ctor,kwargs,arg,accepted", REFUSED, ids=[f"{c}-{a}" for c, _, a, _ in REFUSED])
def test_refused_at_construction(ctor, kwargs, arg, accepted):
    t0 = time.perf_counter()
    with pytest.raises(
        ValueError, match=rf"^{ctor}: {arg}=.* is not accepted; accepted values: .*" + re.escape(accepted)
    ):
        getattr(hq, ctor)(**kwargs)
    assert time.perf_counter() - t0 < 0.5  # no 2**bits table or huge integer first


def test_quantizer_object_as_alpha_is_refused():
    with pytest.raises(ValueError, match=r"quantized_bits: alpha=quantized_bits\(4,0,0\) is not accepted"):
        hq.quantized_bits(4, 0, alpha=hq.quantized_bits(4, 0))


def test_refused_in_strings_and_configs():
    with pytest.raises(ValueError, match=r"quantized_bits: bits=4.5 is not accepted"):
        get_quantizer("quantized_bits(4.5, 0.5)")
    with pytest.raises(ValueError, match=r"quantized_relu: integer=1e\+300 is not accepted"):
        get_quantizer({"class_name": "quantized_relu", "config": {"bits": 4, "integer": 1e300}})


@pytest.mark.parametrize(
    "text,x,values",
    [
        # floats equal to integers are QKeras-legal and give the integer's numbers
        ("quantized_bits(4.0, 1.0)", [-5.0, -0.25, 0.0, 0.25, 1.8], [-2.0, -0.25, 0.0, 0.25, 1.75]),
        # negative integer bits are legal for quantized_bits (step 2**(integer - bits + 1))
        ("quantized_bits(4, -2)", [-1.0, -0.03125, 0.0, 0.03125, 0.5], [-0.25, -0.03125, 0.0, 0.03125, 0.21875]),
        ("quantized_bits(32, 0)", [-5.0, -0.25, 0.0, 0.25, 0.5], [-1.0, -0.25, 0.0, 0.25, 0.5]),
    ],
)
def test_accepted_edges(text, x, values):
    q = get_quantizer(text)
    np.testing.assert_array_equal(np.asarray(q(np.asarray(x, np.float32))), np.asarray(values, np.float32))


def test_po2_extremes_are_fast():
    t0 = time.perf_counter()
    q = hq.quantized_po2(32)
    assert q.max() == float("inf") and q.min() == -float("inf")
    assert time.perf_counter() - t0 < 0.5  # no 2**(2**30) integer
    np.testing.assert_array_equal(np.asarray(q(np.asarray([0.3, -5.0], np.float32))), [0.25, -4.0])
