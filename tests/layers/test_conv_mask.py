"""QConv2D(mask=...) (QKeras master) against goldens from real QKeras master: built in code and converted from
the .h5 QKeras master saved."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import hgq_compat
from hgq_compat.legacy import convert_qkeras_model
from tests import golden


def _case(cid: str) -> dict:
    return next(c for c in golden.load("master")[0] if c["id"] == cid)


@pytest.mark.parametrize("i", range(2))
def test_qconv2d_mask(i, tmp_path):
    case = _case(f"QConv2D_mask/{i}")
    x = golden.array("master", _case("QConv2D_mask/input")["x"])
    ref = golden.array("master", case["output"])
    m = keras.Sequential(
        [
            keras.Input(shape=(5, 5, 2)),
            hgq_compat.QConv2D(
                3,
                3,
                kernel_quantizer="quantized_bits(4,0,1,alpha=1)",
                bias_quantizer="quantized_bits(4,0,1,alpha=1)",
                mask=np.array(case["mask"]),
                name="conv",
            ),
        ]
    )
    m.set_weights([golden.array("master", k) for k in case["weights"]])
    # convolutions accumulate in float32 (in QKeras too): float32 tolerance
    np.testing.assert_allclose(keras.ops.convert_to_numpy(m(x)), ref, rtol=1e-5, atol=1e-6)
    assert m.get_layer("conv").get_config()["mask"] == case["config_mask"]
    converted = convert_qkeras_model(golden.GOLDEN_DIR / case["h5"])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(converted(x)), ref, rtol=1e-5, atol=1e-6)
    m.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(again(x)), ref, rtol=1e-5, atol=1e-6)


def test_qconv2d_mask_rank_is_checked():
    with pytest.raises(ValueError, match="mask of rank 1"):
        hgq_compat.QConv2D(2, 3, mask=np.ones(3))
