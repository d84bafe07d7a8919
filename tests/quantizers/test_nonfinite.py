"""NaN, +-inf and huge inputs: QKeras mode gives real QKeras 0.9.0's numbers (goldens in
nonfinite.json); HGQ mode agrees with it before training for NaN and +-inf (NaN, or the
saturated value where QKeras saturates) and saturates huge values, where QKeras' float32
straight-through sum loses the quantized value (migration guide, 'Errors and bad input')."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hgq_compat.quantizers import get_quantizer, make_quantizer_layer
from tests import golden
from tests.conftest import to_np

with open(golden.GOLDEN_DIR / "nonfinite.json") as fh:
    CASES = json.load(fh)["cases"]


def _floats(values):
    return np.asarray([float(v) for v in values], np.float32)


@pytest.mark.parametrize("case", CASES, ids=[c["text"] for c in CASES])
def test_qkeras_mode_equals_qkeras(case):
    x, want = _floats(case["input"]), _floats(case["output"])
    got = to_np(get_quantizer(case["text"])(x))
    np.testing.assert_array_equal(got, want)  # NaN where QKeras gives NaN


HGQ = [
    c
    for c in CASES
    if c["text"].startswith(("quantized_bits", "quantized_relu(", "quantized_tanh", "quantized_sigmoid"))
    and c["text"]
    not in (
        "quantized_bits(4,0,1,alpha=2)",
        "quantized_bits(1,0)",
        "quantized_relu(6,2,0,0.25)",
        "quantized_relu(4,0,1)",
    )
]


@pytest.mark.parametrize("case", HGQ, ids=[c["text"] for c in HGQ])
def test_hgq_mode_agrees_on_nan_and_inf_and_saturates_huge(case):
    x = _floats(case["input"])
    q = get_quantizer(case["text"])
    hgq = to_np(make_quantizer_layer(q, "hgq", "per-tensor", False, "q")(x[None]))[0]
    qk = to_np(q(x))
    nonfinite = ~np.isfinite(x)
    np.testing.assert_array_equal(hgq[nonfinite], qk[nonfinite])
    ordinary = np.abs(x) <= 4.0  # every ordinary value: the same numbers
    np.testing.assert_array_equal(hgq[ordinary], qk[ordinary])
    huge = np.isfinite(x) & ~ordinary  # HGQ saturates: the quantizer's largest / smallest value
    spec = make_quantizer_layer(q, "hgq", "per-tensor", False, "q2")
    top = to_np(spec(np.asarray([[1e30]], np.float32)))[0, 0]
    bottom = to_np(spec(np.asarray([[-1e30]], np.float32)))[0, 0]
    np.testing.assert_array_equal(hgq[huge], np.where(x[huge] > 0, top, bottom))
    assert np.isfinite(top) and np.isfinite(bottom)
