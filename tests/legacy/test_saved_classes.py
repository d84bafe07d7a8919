"""Every QKeras layer class hgq_compat provides, saved by real QKeras 0.9.0 (full .h5 and JSON + weights .h5,
alone and inside Bidirectional / RNN / TimeDistributed / nested models), converts to a model whose outputs equal
QKeras' on the golden inputs.

Tolerance: models ending in a quantizer (QActivation, QAdaptiveActivation, quantized nested model output) are
compared exactly; the others end in a float accumulation (matmul / convolution / recurrence of quantized
weights, computed in float32 by QKeras too), compared to float32 tolerance (rtol 1e-5, atol 1e-6).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from hgq_compat.legacy import convert_qkeras_model
from tests import golden

from .helpers import MODELS_DIR

FORMATS = ["h5", "json"]


def _cases() -> list[dict]:
    data, _ = golden.load("saved")
    return data["models"]


def _case(name: str) -> dict:
    return next(c for c in _cases() if c["name"] == name)


def test_every_saved_case_was_recorded():
    """The golden script ran every model through QKeras and saved it in both formats."""
    cases = _cases()
    assert len(cases) >= 26
    for c in cases:
        assert "error" not in c and "h5" in c and "json" in c, c["name"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", [c["name"] for c in _cases()])
def test_saved_model_converts_and_matches_qkeras(name, fmt):
    case = _case(name)
    root = MODELS_DIR.parent
    if fmt == "h5":
        model = convert_qkeras_model(root / case["h5"])
    else:
        model = convert_qkeras_model(root / case["json"], root / case["weights_h5"])
    x = golden.array("saved", case["input"])
    ref = golden.array("saved", case["output"])
    y = keras.ops.convert_to_numpy(model(x, training=False))
    assert y.shape == ref.shape
    if case["exact"]:
        np.testing.assert_array_equal(y, ref)
    else:
        np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)
