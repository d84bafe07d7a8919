"""QScaleShift (QKeras master qkeras.qmac) against goldens from real QKeras master: outputs of the layer
built in code, and of the models QKeras master saved (.h5, JSON + weights) after conversion."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import hgq_compat
from hgq_compat.legacy import convert_qkeras_model
from tests import golden


def _cases() -> list[dict]:
    return [c for c in golden.load("master")[0] if c["id"].startswith("QScaleShift/") and "kwargs" in c]


def _x() -> np.ndarray:
    return golden.array("master", next(c for c in golden.load("master")[0] if c["id"] == "QScaleShift/input")["x"])


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c["id"])
def test_qscaleshift_in_code(case):
    m = keras.Sequential([keras.Input(shape=(4, 3)), hgq_compat.QScaleShift(**case["kwargs"], name="ss")])
    m.set_weights([np.array(v, dtype=np.float32) for v in case["weights"]])
    y = keras.ops.convert_to_numpy(m(_x(), training=False))
    np.testing.assert_array_equal(y, golden.array("master", case["output"]))


@pytest.mark.parametrize("fmt", ["h5", "json"])
@pytest.mark.parametrize("case", _cases(), ids=lambda c: c["id"])
def test_qscaleshift_saved_by_qkeras_master_converts(case, fmt):
    root = golden.GOLDEN_DIR
    model = (
        convert_qkeras_model(root / case["h5"])
        if fmt == "h5"
        else convert_qkeras_model(root / case["json"], root / case["weights_h5"])
    )
    y = keras.ops.convert_to_numpy(model(_x(), training=False))
    np.testing.assert_array_equal(y, golden.array("master", case["output"]))


def test_qscaleshift_keras3_round_trip(tmp_path):
    case = _cases()[0]
    m = keras.Sequential([keras.Input(shape=(4, 3)), hgq_compat.QScaleShift(**case["kwargs"], name="ss")])
    m.set_weights([np.array(v, dtype=np.float32) for v in case["weights"]])
    m.save(tmp_path / "m.keras")
    m2 = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(m2(_x())), golden.array("master", case["output"]))
