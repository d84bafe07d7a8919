"""QAveragePooling2D / QGlobalAveragePooling2D with data_format='channels_first' against real QKeras 0.9.0."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import hgq_compat
from tests import golden
from tests.conftest import assert_equal_or_ulp


def _case(cid: str) -> dict:
    return next(c for c in golden.load("api")[0] if c["id"] == cid)


@pytest.mark.parametrize("i", range(4))
def test_channels_first_pooling(i):
    case = _case(f"pooling_cf/{i}")
    x = golden.array("api", _case("pooling_cf/input")["x"])
    layer = getattr(hgq_compat, case["class"])(data_format="channels_first", **case["kwargs"])
    y = keras.ops.convert_to_numpy(layer(keras.ops.convert_to_tensor(x), training=False))
    assert_equal_or_ulp(y, golden.array("api", case["output"]), "average")


def test_channels_first_hgq_ebops_equal_channels_last():
    """HGQ EBOPs do not depend on the data format (the bits are transposed to channels-last)."""
    shape_cf, shape_cl = (2, 6, 6), (6, 6, 2)
    ebops = []
    for fmt, shape in (("channels_first", shape_cf), ("channels_last", shape_cl)):
        inp = keras.Input(shape)
        h = hgq_compat.QActivation("quantized_bits(6,2,alpha=1)", mode="hgq")(inp)
        layer = hgq_compat.QAveragePooling2D(
            2, data_format=fmt, average_quantizer="quantized_bits(8,0,1,alpha=1)", mode="hgq"
        )
        keras.Model(inp, layer(h))
        ebops.append(float(keras.ops.convert_to_numpy(layer.compute_ebops())))
    assert ebops[0] == ebops[1] > 0


def _same_average_reference(x: np.ndarray, pool: tuple, strides: tuple) -> np.ndarray:
    """TensorFlow's 'same' average pooling (channels-last), in float64: sum / count of the input pixels
    in each window; padding (more of it after than before) is not counted."""
    n, h, w, c = x.shape
    out = []
    for axis_len, p, s in zip((h, w), pool, strides):
        n_out = -(-axis_len // s)
        before = max((n_out - 1) * s + p - axis_len, 0) // 2
        out.append([(max(o * s - before, 0), min(o * s - before + p, axis_len)) for o in range(n_out)])
    y = np.zeros((n, len(out[0]), len(out[1]), c))
    for i, (r0, r1) in enumerate(out[0]):
        for j, (c0, c1) in enumerate(out[1]):
            y[:, i, j] = x[:, r0:r1, c0:c1].astype(np.float64).mean(axis=(1, 2))
    return y


@pytest.mark.parametrize(
    "shape,pool,strides", [((6, 6), (3, 3), (2, 2)), ((7, 5), (2, 3), (2, 1)), ((5, 5), (2, 2), (2, 2))]
)
@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
def test_same_padding_counts_only_input_pixels(shape, pool, strides, fmt):
    """Uneven 'same' padding on every backend (Keras' torch average_pool replicates the edge pixels there);
    inputs on a 2^-4 grid, so each window sum is exact and the result is the correctly rounded sum / count."""
    x = np.random.default_rng(3).integers(-64, 64, (2, *shape, 3)).astype(np.float32) / 16
    want = _same_average_reference(x, pool, strides).astype(np.float32)
    layer = hgq_compat.QAveragePooling2D(pool, strides=strides, padding="same", data_format=fmt)
    xin = x if fmt == "channels_last" else np.moveaxis(x, -1, 1)
    y = keras.ops.convert_to_numpy(layer(xin, training=False))
    assert_equal_or_ulp(y if fmt == "channels_last" else np.moveaxis(y, 1, -1), want, "average")
