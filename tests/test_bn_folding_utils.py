"""unfold_model against real QKeras 0.9.0: the folded golden model (models/convbn.h5), converted, then
unfolded, gives QKeras' unfolded layers, weights and outputs."""

from __future__ import annotations

import keras
import numpy as np

from hgq_compat.bn_folding_utils import convert_folded_layer_to_unfolded, unfold_model
from hgq_compat.legacy import convert_qkeras_model
from tests import golden


def test_unfold_model_matches_qkeras():
    case = next(c for c in golden.load("api")[0] if c["id"] == "unfold_model")
    folded = convert_qkeras_model(golden.GOLDEN_DIR / case["model"])
    x = golden.array("api", case["x"])
    before = [w.copy() for w in folded.get_weights()]
    unfolded = unfold_model(folded)
    classes = [type(l).__name__ for l in unfolded.layers if not isinstance(l, keras.layers.InputLayer)]
    assert classes == [c for _, c in case["layers"] if c != "InputLayer"]
    for a, b in zip(before, folded.get_weights()):  # the input model is untouched
        np.testing.assert_array_equal(a, b)
    for key, ref in case["weights"].items():
        name, i = key.split("/")
        np.testing.assert_allclose(unfolded.get_layer(name).get_weights()[int(i)], golden.array("api", ref),
                                   rtol=1e-6, atol=1e-7, err_msg=key)
    y = keras.ops.convert_to_numpy(unfolded(x, training=False))
    np.testing.assert_allclose(y, golden.array("api", case["output"]), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(golden.array("api", case["output"]), golden.array("api", case["folded_output"]))


def test_convert_folded_layer_to_unfolded_refuses_other_layers():
    import pytest

    with pytest.raises(ValueError, match="is not a folded layer"):
        convert_folded_layer_to_unfolded(keras.layers.Dense(2))
