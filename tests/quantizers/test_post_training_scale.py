"""quantized_bits(post_training_scale=...) (QKeras master) against goldens from real QKeras master
(tests/fixtures/qkeras_goldens/master.json)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import hgq_compat
from tests import golden


def _cases() -> list[dict]:
    return [c for c in golden.load("master")[0] if c["id"].startswith("post_training_scale/") and "kwargs" in c]


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c["id"])
def test_post_training_scale(case):
    pts = np.array(case["post_training_scale"])
    if "error" in case:
        with pytest.raises(ValueError, match="doesn't support post_training_scale"):
            hgq_compat.quantized_bits(**case["kwargs"], post_training_scale=pts)
        return
    x = golden.array("master", next(c for c in golden.load("master")[0] if c["id"] == "post_training_scale/input")["x"])
    q = hgq_compat.quantized_bits(**case["kwargs"], post_training_scale=pts)
    y = keras.ops.convert_to_numpy(q(keras.ops.convert_to_tensor(x)))
    np.testing.assert_array_equal(y, golden.array("master", case["output"]))
    np.testing.assert_array_equal(np.asarray(q.scale), np.array(case["scale_after"]))
    assert q.get_config() == case["config"] and str(q) == case["str"]
    again = hgq_compat.quantized_bits.from_config(q.get_config())
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(again(keras.ops.convert_to_tensor(x))), y)
    with pytest.raises(NotImplementedError, match="HGQ mode is not available"):
        q.hgq_spec()
