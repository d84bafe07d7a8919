"""hgq_compat.b2t.BinaryToThermometer against real QKeras 0.9.0 (identical in QKeras master)."""

from __future__ import annotations

import numpy as np
import pytest

from hgq_compat.b2t import BinaryToThermometer
from tests import golden


def _case(cid: str) -> dict:
    return next(c for c in golden.load("api")[0] if c["id"] == cid)


@pytest.mark.parametrize("i", range(5))
def test_binary_to_thermometer(i):
    case = _case(f"b2t/{i}")
    x = golden.array("api", _case("b2t/input")["x"])
    y = BinaryToThermometer(x, **case["kwargs"])
    np.testing.assert_array_equal(y.astype(np.float32), golden.array("api", case["output"]))
