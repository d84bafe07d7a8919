"""QBatchNormalization(inverse_quantizer=...) (QKeras master) against goldens from real QKeras master."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import hgq_compat
from tests import golden


def _case(cid: str) -> dict:
    return next(c for c in golden.load("master")[0] if c["id"] == cid)


@pytest.mark.parametrize("i", range(2))
def test_inverse_quantizer(i, tmp_path):
    case = _case(f"QBN_inverse/{i}")
    x = golden.array("master", _case("QBN_inverse/input")["x"])
    m = keras.Sequential([keras.Input(shape=(3, 3, 4)), hgq_compat.QBatchNormalization(**case["kwargs"], name="qbn")])
    m.set_weights([golden.array("master", k) for k in case["weights"]])
    # x * inv + shift in float32 (in QKeras too): float32 tolerance
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(m(x, training=False)), golden.array("master", case["output"]), rtol=1e-5, atol=1e-6
    )
    m.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(again(x, training=False)),
        golden.array("master", case["output"]),
        rtol=1e-5,
        atol=1e-6,
    )
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(m(x, training=True)),
        golden.array("master", case["train_output"]),
        rtol=1e-5,
        atol=1e-5,
    )


def test_inverse_quantizer_with_gamma_quantizer_is_refused():
    case = _case("QBN_inverse/2")
    assert case["error"].startswith("AssertionError")
    with pytest.raises(ValueError, match="inverse quantizer, the gamma and variance quantizers"):
        hgq_compat.QBatchNormalization(**case["kwargs"])
