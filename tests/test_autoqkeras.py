"""hgq_compat.autoqkeras: forgiving factors against QKeras master, and the HGQ search of AutoQKeras."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

import hgq_compat
from hgq_compat.autoqkeras import AutoQKeras, AutoQKerasScheduler, default_quantization_config
from hgq_compat.autoqkeras.forgiving_metrics import (
    ForgivingFactor,
    ForgivingFactorBits,
    ForgivingFactorPower,
    forgiving_factor,
)
from hgq_compat.training import model_ebops
from tests import golden

GOLDEN = "master_autoqkeras"


def _spec_models() -> tuple[dict, dict]:
    import json

    with open(golden.GOLDEN_DIR / f"{GOLDEN}.json") as fh:
        data = json.load(fh)
    return data["models"], data["configs"]


def _build(spec: dict) -> keras.Model:
    """The golden's model spec built with hgq_compat (Q classes) and Keras layers."""
    x = inp = keras.Input(tuple(spec["input_shape"]), name="input")
    for cls, kwargs in spec["layers"]:
        x = (getattr(hgq_compat, cls, None) or getattr(keras.layers, cls))(**kwargs)(x)
    return keras.Model(inp, x)


def _plain(sizes: tuple) -> dict:
    total, p, a, per_layer = sizes
    return {
        "total": float(total),
        "parameters": float(p),
        "activations": float(a),
        "layers": {k: {kk: float(vv) for kk, vv in v.items()} for k, v in per_layer.items()},
    }


# ---------------------------------------------------------------------------- QKeras parity


@pytest.mark.parametrize(
    "case", [c for c in golden.cases(GOLDEN) if c["id"].startswith("ForgivingFactorBits/")], ids=lambda c: c["id"]
)
def test_forgiving_factor_bits_matches_qkeras_master(case):
    models, configs = _spec_models()
    ffb = ForgivingFactorBits(config=configs[case["config"]], **case["kwargs"])
    reference = _build(models[case["reference_model"]])
    trial = _build(models[case["model"]])
    assert float(ffb.get_reference(reference)) == case["reference_size"]
    assert _plain(ffb.compute_model_size(reference)) == case["reference"]
    assert float(ffb.get_trial(trial)) == case["trial_size"]
    assert _plain(ffb.compute_model_size(trial)) == case["trial"]
    assert float(ffb.delta()) == pytest.approx(case["delta"], rel=1e-6)
    assert float(ffb.get_total_factor()) == case["total_factor"]


def test_forgiving_factor_delta_matches_qkeras_master():
    (rec,) = golden.cases(GOLDEN, id="ForgivingFactor/delta")
    assert len(rec["cases"]) == 6
    for c in rec["cases"]:
        ffb = ForgivingFactorBits(c["delta_p"], c["delta_n"], c["rate"])
        ffb.reference_size, ffb.trial_size = c["reference_size"], c["trial_size"]
        assert float(ffb.delta()) == pytest.approx(c["delta"], rel=1e-6)
        assert ffb.score(0.5, c["trial_size"]) == pytest.approx(0.5 * (1 + c["delta"]), rel=1e-6)


def test_module_paths_as_qkeras():
    import hgq_compat.autoqkeras.autoqkeras_internal as internal
    import hgq_compat.autoqkeras.quantization_config as qc

    assert forgiving_factor == {"bits": ForgivingFactorBits, "energy": ForgivingFactorPower}
    assert qc.default_quantization_config is default_quantization_config
    assert default_quantization_config["kernel"]["quantized_bits(4,0,1)"] == 4
    assert internal.AutoQKeras is AutoQKeras and internal.AutoQKerasScheduler is AutoQKerasScheduler
    assert internal.Q_LAYERS[0] == "QDense" and len(internal.REGISTERED_LAYERS) == 11


# ---------------------------------------------------------------------------- HGQ sizes


def _mlp(mode: str) -> keras.Model:
    inp = keras.Input((6,), name="x")
    h = hgq_compat.QDense(
        4,
        kernel_quantizer="quantized_bits(6,0,1,alpha=1)",
        bias_quantizer="quantized_bits(5,2,1)",
        activation="quantized_relu(4,2)",
        mode=mode,
        name="q",
    )(inp)
    return keras.Model(inp, h)


def test_forgiving_bits_hgq_layer_counts_bits_per_element():
    """An HGQ layer at its start bitwidths has the QKeras-mode size; pruning elements removes their bits."""
    sizes = {}
    for mode in ("qkeras", "hgq"):
        m = _mlp(mode)
        m.get_layer("q").kernel.assign(np.full((6, 4), 0.25, "float32"))
        m.get_layer("q").bias.assign(np.full((4,), 0.5, "float32"))
        ffb = ForgivingFactorBits(8, 8, 2, config={"default": ["parameters", "activations"]})
        sizes[mode] = ffb.compute_model_size(m)[3]["q"]
        if mode == "hgq":
            layer = m.get_layer("q")
            k = layer.kernel_quantizer_internal
            f = np.array(keras.ops.convert_to_numpy(k.f))
            f[0, :] = -10.0  # bitwidth <= 0: the first input's 4 weights are pruned
            k.f.assign(f)
            pruned = ffb.compute_model_size(m)[3]["q"]
    assert sizes["qkeras"] == {"parameters": 6 * 24 + 5 * 4, "activations": 4 * 4, "total": 180}
    assert sizes["hgq"] == sizes["qkeras"]
    assert pruned["parameters"] == sizes["hgq"]["parameters"] - 4 * 6


def test_forgiving_power_reference_is_uniform_ebops():
    inp = keras.Input((10,), name="x")
    h = keras.layers.Dense(7, activation="relu", name="d1")(inp)
    out = keras.layers.Dense(3, name="d2")(h)
    model = keras.Model(inp, out)
    for internal, b in (("int8", 8), ("fp16", 16)):
        ffp = ForgivingFactorPower(8.0, 8.0, 2.0, stress=0.5, reference_internal=internal)
        expected = (10 * 7 * b * b + 7 * b) + (7 * 3 * b * b + 3 * b)  # every product b x b bits, plus the biases
        assert ffp.get_reference(model) == expected * 0.5
        assert ffp.reference_size == expected
        assert ffp.get_trial(model) == expected  # float layers count at the reference width
        assert float(ffp.delta()) == pytest.approx(0.0)
    # an HGQ layer counts its own EBOPs; the float layer after it reads its 4-bit outputs
    inp = keras.Input((10,), name="x")
    h = hgq_compat.QDense(
        7, kernel_quantizer="quantized_bits(6,0,1,alpha=1)", activation="quantized_relu(4,2)", mode="hgq", name="q1"
    )(inp)
    mixed = keras.Model(inp, keras.layers.Dense(3, name="d2")(h))
    ffp = ForgivingFactorPower(8.0, 8.0, 2.0, reference_internal="int8")
    assert ffp.get_trial(mixed) == model_ebops(mixed) + (7 * 3 * 4 * 8 + 3 * 8)
    assert ffp.get_trial_stats()["d2"] == {"total": 7 * 3 * 4 * 8 + 3 * 8}
    with pytest.raises(ValueError, match="reference_internal='int4'"):
        ForgivingFactorPower(8.0, 8.0, 2.0, reference_internal="int4")
    with pytest.raises(TypeError, match="not_an_argument"):
        ForgivingFactorPower(8.0, 8.0, 2.0, not_an_argument=1)
    with pytest.raises(NotImplementedError):
        ForgivingFactor(1, 1, 2).get_reference(model)


# ---------------------------------------------------------------------------- AutoQKeras


def _teacher_data(seed: int = 0, n: int = 1500, d: int = 64, k: int = 10):
    """Digits-sized synthetic data: 64 features in [0, 1], 10 classes from a random linear teacher."""
    rng = np.random.default_rng(seed)
    teacher = rng.normal(size=(d, k))
    x = rng.uniform(0, 1, size=(n, d)).astype("float32")
    y = np.argmax((x - 0.5) @ teacher, axis=1)
    return x, y, keras.utils.to_categorical(y, k)


def _float_model(d: int = 64, k: int = 10, lr: float = 1e-2) -> keras.Model:
    keras.utils.set_random_seed(0)
    inp = keras.Input((d,), name="x")
    h = keras.layers.Dense(32, activation="relu", name="d1")(inp)
    h = keras.layers.Dense(k, name="d2")(h)
    out = keras.layers.Activation("softmax", name="sm")(h)
    model = keras.Model(inp, out)
    model.compile(keras.optimizers.Adam(lr), "categorical_crossentropy", metrics=["acc"])
    return model


@pytest.fixture(scope="module")
def search(tmp_path_factory):
    x, y, yc = _teacher_data()
    model = _float_model()
    weights = [w.copy() for w in model.get_weights()]
    auto = AutoQKeras(
        model,
        metrics=["acc"],
        output_dir=str(tmp_path_factory.mktemp("aqk") / "result"),
        limit={"Dense": [8, 8, 8]},
        max_trials=5,
        seed=0,
    )
    auto.fit(x[:1200], yc[:1200], validation_data=(x[1200:], yc[1200:]), epochs=8, batch_size=32, verbose=0)
    best = auto.get_best_model()
    return auto, best, model, weights, (x, y)


def test_autoqkeras_returns_a_trained_smaller_model(search):
    auto, best, model, weights, (x, y) = search
    assert auto.layer_modes == {"d1": "hgq", "d2": "hgq"}
    assert auto.q_dict == {
        "d1": {
            "kernel_quantizer": "quantized_bits(8,0,1)",
            "bias_quantizer": "quantized_bits(8,3,1)",
            "activation_quantizer": "quantized_relu(8,2)",
        },
        "d2": {"kernel_quantizer": "quantized_bits(8,0,1)", "bias_quantizer": "quantized_bits(8,3,1)"},
    }
    accuracy = float(np.mean(np.argmax(best.predict(x[1200:], verbose=0), 1) == y[1200:]))
    assert accuracy > 0.3  # chance is 0.1
    assert model_ebops(best) < auto.start_ebops
    assert best.get_layer("d1").hgq and best.optimizer is not None
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), weights))  # the input model is untouched


def test_autoqkeras_best_model_has_the_best_score(search):
    auto, best, *_ = search
    h = auto.fit_history.history
    assert {"beta", "ebops", "trial", "score", "val_score", "val_trial"} <= set(h)
    target = auto.target
    for acc, trial, score in zip(h["val_acc"], h["trial"], h["val_score"]):
        ref = target.reference_size
        d = target.delta_p if trial < ref else target.delta_n
        assert score == pytest.approx(acc * (1 + d * math.log(ref / trial) / math.log(2.0)), rel=1e-6)
    records = auto.front.records
    assert auto.best_record["score"] == max(target.score(r["val_acc"], r["trial"]) for r in records)
    assert target.get_trial(best) == auto.best_record["trial"]
    hist = auto.history()
    assert hist["score"] == h["val_score"] and hist["trial_size"] == h["trial"]


def test_beta_is_the_ebops_derivative_of_the_log_forgiving_factor(search):
    auto = search[0]
    ref = auto.reference_ebops
    t = auto.target
    for e in (0.3 * ref, 0.9 * ref, 1.7 * ref):

        def f(ebops):
            d = float(t.delta_p if ebops < ref else t.delta_n)
            return -math.log(1 + d * math.log(ref / ebops) / math.log(float(t.rate)))

        eps = 1e-6 * e
        assert auto.beta_for(e) == pytest.approx((f(e + eps) - f(e - eps)) / (2 * eps), rel=1e-4)
    assert auto.beta_for(0.0) == 0.0


def test_non_fixed_point_candidates_stay_in_qkeras_mode(tmp_path):
    model = _float_model()
    auto = AutoQKeras(model, output_dir=str(tmp_path / "r"), limit={"Dense": [["ternary"], 8, 8]})
    assert auto.layer_modes == {"d1": "qkeras", "d2": "qkeras"}
    assert auto.q_dict["d1"]["kernel_quantizer"] == "ternary"
    assert not auto.q_model.get_layer("d1").hgq


def test_autoqkeras_refusals(tmp_path):
    model = _float_model()
    out = str(tmp_path / "r")
    with pytest.raises(ValueError, match="mode='grid'"):
        AutoQKeras(model, output_dir=out, mode="grid")
    with pytest.raises(NotImplementedError, match="custom_tuner"):
        AutoQKeras(model, output_dir=out, custom_tuner=object)
    with pytest.raises(TypeError, match="not_a_tuner_argument"):
        AutoQKeras(model, output_dir=out, not_a_tuner_argument=1)
    with pytest.raises(ValueError, match="goal"):
        AutoQKeras(model, output_dir=out, goal={"type": "latency", "params": {}})
    with pytest.raises(ValueError, match="tune_filters='all'"):
        AutoQKeras(model, output_dir=out, tune_filters="all")
    uncompiled = keras.Model(model.inputs, model.outputs)
    with pytest.raises(ValueError, match="compile the model first"):
        AutoQKeras(uncompiled, output_dir=out)
    with pytest.raises(ValueError, match="get_best_model: call fit first"):
        AutoQKeras(model, output_dir=out).get_best_model()
    with pytest.raises(ValueError, match="schedule_block='random'"):
        AutoQKerasScheduler(model, output_dir=out, blocks=["d1"], schedule_block="random")
