"""QAveragePooling2D / QGlobalAveragePooling2D with data_format='channels_first' against real QKeras 0.9.0."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import hgq_compat
from tests import golden


def _case(cid: str) -> dict:
    return next(c for c in golden.load("api")[0] if c["id"] == cid)


@pytest.mark.parametrize("i", range(4))
def test_channels_first_pooling(i):
    case = _case(f"pooling_cf/{i}")
    x = golden.array("api", _case("pooling_cf/input")["x"])
    layer = getattr(hgq_compat, case["class"])(data_format="channels_first", **case["kwargs"])
    y = keras.ops.convert_to_numpy(layer(keras.ops.convert_to_tensor(x), training=False))
    np.testing.assert_array_equal(y, golden.array("api", case["output"]))


def test_channels_first_hgq_ebops_equal_channels_last():
    """HGQ EBOPs do not depend on the data format (the bits are transposed to channels-last)."""
    shape_cf, shape_cl = (2, 6, 6), (6, 6, 2)
    ebops = []
    for fmt, shape in (("channels_first", shape_cf), ("channels_last", shape_cl)):
        inp = keras.Input(shape)
        h = hgq_compat.QActivation("quantized_bits(6,2,alpha=1)", mode="hgq")(inp)
        layer = hgq_compat.QAveragePooling2D(2, data_format=fmt, average_quantizer="quantized_bits(8,0,1,alpha=1)",
                                             mode="hgq")
        keras.Model(inp, layer(h))
        ebops.append(float(keras.ops.convert_to_numpy(layer.compute_ebops())))
    assert ebops[0] == ebops[1] > 0
