"""hgq_compat.utils.load_qmodel / quantized_model_from_json accept legacy QKeras files and JSON."""

from __future__ import annotations

import numpy as np

from hgq_compat import utils
from hgq_compat.legacy import load_legacy_weights, read_source

from .helpers import MODELS_DIR, PUBLISHED_DIR, V3_ARCHIVE, arr, model_case, published_case


def test_load_qmodel_legacy_h5():
    case = model_case("branch")
    model = utils.load_qmodel(MODELS_DIR / "branch.h5")
    np.testing.assert_allclose(
        model.predict(arr("models", case["input"]), verbose=0), arr("models", case["output"]), rtol=1e-5, atol=1e-7
    )


def test_load_qmodel_qkeras_v3_archive():
    case = published_case("qkeras_3layer")
    model = utils.load_qmodel(V3_ARCHIVE)
    np.testing.assert_allclose(
        model.predict(arr("published", case["input"]), verbose=0),
        arr("published", case["output"]),
        rtol=1e-5,
        atol=1e-7,
    )


def test_load_qmodel_still_loads_keras3(tmp_path):
    model = utils.load_qmodel(V3_ARCHIVE)
    model.save(tmp_path / "m.keras")
    again = utils.load_qmodel(tmp_path / "m.keras")
    x = arr("published", published_case("qkeras_3layer")["input"])
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))


def test_quantized_model_from_json_legacy_then_weights():
    case = published_case("qkeras_mnist_cnn")
    model = utils.quantized_model_from_json((PUBLISHED_DIR / case["json"]).read_text())
    load_legacy_weights(model, read_source(PUBLISHED_DIR / case["json"], PUBLISHED_DIR / case["weights"]).weights)
    np.testing.assert_allclose(
        model.predict(arr("published", case["input"]), verbose=0),
        arr("published", case["output"]),
        rtol=1e-5,
        atol=1e-7,
    )
