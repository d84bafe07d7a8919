"""A QKeras training script, with only its imports swapped, reproduces QKeras 0.9.0's numbers."""

import numpy as np

from tests import golden


def _run_swapped_script():
    import json

    with open(golden.GOLDEN_DIR / "training.json") as fh:
        scenario = json.load(fh)["training"]
    script = scenario["script"]
    assert "from qkeras import" in script
    swapped = script.replace("qkeras", "hgq_compat")  # the only change a user makes
    namespace: dict = {}
    exec(compile(swapped, "qkeras_training_script.py", "exec"), namespace)  # noqa: S102 (our own fixture)
    return scenario, namespace


def test_swapped_training_script_matches_qkeras():
    scenario, ns = _run_swapped_script()
    arr = lambda key: golden.array("training", key)  # noqa: E731
    for got, key in zip(ns["initial_weights"], scenario["initial_weights"]):
        np.testing.assert_array_equal(got, arr(key))
    np.testing.assert_allclose(ns["pred_before"], arr(scenario["pred_before"]), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ns["history"].history["loss"], scenario["history"]["loss"], rtol=1e-5)
    np.testing.assert_allclose(ns["history"].history["accuracy"], scenario["history"]["accuracy"], rtol=0)
    for got, key in zip(ns["final_weights"], scenario["final_weights"]):
        np.testing.assert_allclose(got, arr(key), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ns["pred_after"], arr(scenario["pred_after"]), rtol=1e-5, atol=1e-6)
