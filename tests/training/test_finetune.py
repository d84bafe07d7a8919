"""to_hgq, FineTuneSettings and fine_tune: the migration workflow's fine-tuning step."""

import keras
import numpy as np
import pytest

import hgq_compat as hq
from hgq_compat.training import (
    FineTuneSettings,
    fine_tune,
    model_ebops,
    select_pareto_point,
    to_hgq,
)
from tests.conftest import to_np
from tests.training.conftest import tiny_data, tiny_model


def conv_model() -> keras.Model:
    """QKeras-mode functional model: conv, pooling, dense, a QActivation and a relu quantizer."""
    inp = keras.Input((6, 6, 2))
    x = hq.QActivation("quantized_bits(5,1)", name="in_q")(inp)
    x = hq.QConv2D(
        3,
        3,
        kernel_quantizer="quantized_bits(4,0,alpha=1)",
        bias_quantizer="quantized_bits(6,2,alpha=1)",
        activation="quantized_relu(5,2)",
        name="conv",
    )(x)
    x = keras.layers.Flatten()(x)
    out = hq.QDense(4, kernel_quantizer="quantized_bits(3,0,alpha=1)", bias_quantizer="quantized_bits(4,1)", name="d")(
        x
    )
    return keras.Model(inp, out)


@pytest.mark.parametrize("make", [lambda: tiny_model("qkeras"), conv_model], ids=["sequential", "functional"])
def test_to_hgq_same_outputs_and_ebops_input_unchanged(make):
    keras.utils.set_random_seed(3)
    model = make()
    x = np.random.default_rng(0).uniform(-1.5, 1.5, (64, *model.input_shape[1:])).astype("float32")
    before = [to_np(w).copy() for w in model.weights]
    y = to_np(model(x))

    hgq = to_hgq(model)

    quantized = [layer for layer in hgq.layers if hasattr(layer, "mode")]
    assert quantized and all(layer.mode == "hgq" for layer in quantized)
    assert all(layer.mode == "qkeras" for layer in model.layers if hasattr(layer, "mode"))
    np.testing.assert_array_equal(to_np(hgq(x)), y)
    assert model_ebops(hgq) == model_ebops(model) > 0
    for w, b in zip(model.weights, before):
        np.testing.assert_array_equal(to_np(w), b)
    assert len(hgq.trainable_weights) > len(model.trainable_weights)  # the bitwidths


def test_to_hgq_refuses_subclassed_models():
    class Sub(keras.Model):
        def __init__(self):
            super().__init__()
            self.d = hq.QDense(2, kernel_quantizer="quantized_bits(4,0)")

        def call(self, x):
            return self.d(x)

    with pytest.raises(NotImplementedError, match="Sub is a subclassed model"):
        to_hgq(Sub())


def test_settings_relative_and_absolute_betas():
    s = FineTuneSettings()
    assert s.betas(400_000.0) == (0.3 / 400_000.0, 2.0 / 400_000.0)
    assert FineTuneSettings(beta_start=1e-6, beta_end=3e-5).betas(123.0) == (1e-6, 3e-5)
    with pytest.raises(ValueError, match="give both beta_start and beta_end"):
        FineTuneSettings(beta_start=1e-6).betas(1.0)
    with pytest.raises(ValueError, match="0.0 EBOPs"):
        s.betas(0.0)


def test_fine_tune_schedule_front_and_selection(tmp_path):
    keras.utils.set_random_seed(0)
    x, y = tiny_data(96)
    model = to_hgq(tiny_model("qkeras"))
    ebops0 = model_ebops(model)
    settings = FineTuneSettings(epochs=4, batch_size=16, ebops_loss_start=1.0, ebops_loss_end=8.0, ramp_fraction=1.0)
    result = fine_tune(
        model, x, y, (x[:32], y[:32]), tmp_path / "front", settings, loss=keras.losses.SparseCategoricalCrossentropy()
    )
    assert result.beta == (1.0 / ebops0, 8.0 / ebops0)
    beta = result.history["beta"]  # log schedule from first to last beta
    np.testing.assert_allclose(beta, np.geomspace(1.0 / ebops0, 8.0 / ebops0, 4), rtol=1e-6)
    assert len(result.history["ebops"]) == 4 and result.front
    assert (tmp_path / "front" / "pareto.csv").exists()
    assert result.settings["epochs"] == 4
    assert FineTuneSettings().compile_jit() is (keras.backend.backend() in ("tensorflow", "jax"))  # XLA by default
    if keras.backend.backend() == "jax":  # (Keras turns XLA off on TensorFlow under op determinism)
        assert model.jit_compile is True
    # the front is cheapest-last in accuracy order; the reference rule keeps within tolerance of it
    ref = max(r["val_accuracy"] for r in result.front)
    chosen = select_pareto_point(result.front, tolerance=1.0, reference=ref)
    assert chosen["ebops"] == min(r["ebops"] for r in result.front)
    second = to_hgq(tiny_model("qkeras"))
    ebops1 = model_ebops(second)
    held = fine_tune(
        second,
        x,
        y,
        (x[:32], y[:32]),
        tmp_path / "held",
        FineTuneSettings(epochs=5, batch_size=16, ebops_loss_start=1.0, ebops_loss_end=8.0, ramp_fraction=0.5),
        loss=keras.losses.SparseCategoricalCrossentropy(),
    )  # the ramp ends at epoch 2, then beta stays
    np.testing.assert_allclose(held.history["beta"], np.array([1.0, 8**0.5, 8.0, 8.0, 8.0]) / ebops1, rtol=1e-6)
    before = [to_np(w).copy() for w in model.weights]
    with pytest.raises(ValueError, match="ramp_fraction=0"):
        fine_tune(model, x, y, (x, y), tmp_path / "f3", FineTuneSettings(ramp_fraction=0))
    for w, b in zip(model.weights, before):  # refused before the bitwidths are jittered
        np.testing.assert_array_equal(to_np(w), b)
    assert not (tmp_path / "f3").exists()
    with pytest.raises(ValueError, match="epochs=0"):
        fine_tune(model, x, y, (x, y), tmp_path / "f2", FineTuneSettings(epochs=0))
    with pytest.raises(ValueError, match="jit_compile='xla' is not accepted; accepted values: None"):
        fine_tune(model, x, y, (x, y), tmp_path / "f4", FineTuneSettings(jit_compile="xla"))
    for w, b in zip(model.weights, before):
        np.testing.assert_array_equal(to_np(w), b)
    assert FineTuneSettings(jit_compile=False).compile_jit() is False


def test_select_pareto_point_reference():
    records = [
        {"epoch": 0, "val_accuracy": 0.95, "ebops": 1000.0},
        {"epoch": 3, "val_accuracy": 0.93, "ebops": 400.0},
        {"epoch": 7, "val_accuracy": 0.90, "ebops": 100.0},
    ]
    assert select_pareto_point(records, tolerance=0.005, reference=0.935)["epoch"] == 3
    assert select_pareto_point(records, tolerance=0.05, reference=0.95)["epoch"] == 7  # 0.90 >= 0.95 - 0.05
    assert select_pareto_point(records, tolerance=0.0, reference=0.99)["epoch"] == 0  # none: the best point
    with pytest.raises(ValueError, match="reference=nan"):
        select_pareto_point(records, reference=float("nan"))


def test_migration_guide_workflow(tmp_path):
    """The migration guide's snippet, on a small QKeras-mode model trained first (logits output)."""
    keras.utils.set_random_seed(0)
    x, y = tiny_data(192, seed=1)
    xv, yv = tiny_data(96, seed=2)
    qkeras_model = keras.Sequential(
        [
            keras.Input((8,)),
            hq.QActivation("quantized_bits(6,0,keep_negative=False)"),
            hq.QDense(16, kernel_quantizer="quantized_bits(6,0,alpha=1)", bias_quantizer="quantized_bits(6,2,alpha=1)"),
            hq.QActivation("quantized_relu(6,2)"),
            hq.QDense(3, kernel_quantizer="quantized_bits(6,0,alpha=1)", bias_quantizer="quantized_bits(6,2,alpha=1)"),
        ]
    )
    qkeras_model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    qkeras_model.fit(x, y, epochs=30, batch_size=32, verbose=0)

    hgq = hq.to_hgq(qkeras_model)
    result = hq.fine_tune(hgq, x, y, (xv, yv), tmp_path / "checkpoints", hq.FineTuneSettings(epochs=12, batch_size=32))
    reference = float(keras.metrics.SparseCategoricalAccuracy()(yv, qkeras_model.predict(xv, verbose=0)))
    best = hq.select_pareto_point(result.front, tolerance=0.005, reference=reference)
    model = keras.saving.load_model(best["path"])

    assert reference > 0.8  # the QKeras-mode model learned the task
    accuracy = float(np.mean(np.argmax(model.predict(xv, verbose=0), -1) == yv))
    assert accuracy == pytest.approx(best["val_accuracy"], abs=1e-6)  # the checkpoint is the point the front recorded
    assert accuracy >= reference - 0.005 or best["val_accuracy"] == max(r["val_accuracy"] for r in result.front)
    assert model_ebops(model) == best["ebops"] < model_ebops(qkeras_model)  # fewer EBOPs
