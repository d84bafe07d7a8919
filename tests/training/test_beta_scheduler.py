"""Beta schedules and the BetaScheduler callback."""

import math

import keras
import numpy as np
import pytest

import hgq_compat
import hgq_compat.callbacks
from hgq_compat.training import (
    BetaSchedule,
    BetaScheduler,
    LinearSchedule,
    LogSchedule,
    PieceWiseSchedule,
    model_ebops,
    quantized_layers,
)
from tests.conftest import to_np
from tests.training.conftest import tiny_model


def test_piecewise_values():
    s = PieceWiseSchedule([(2, 1e-6), (5, 1e-5), (7, 0.0)])
    assert [s(e) for e in range(9)] == [1e-6, 1e-6, 1e-6, 1e-6, 1e-6, 1e-5, 1e-5, 0.0, 0.0]


def test_linear_values():
    s = LinearSchedule([(0, 0.0), (4, 4e-6), (6, 2e-6)])
    assert [s(e) for e in range(8)] == pytest.approx([0, 1e-6, 2e-6, 3e-6, 4e-6, 3e-6, 2e-6, 2e-6], rel=1e-12)


def test_log_values():
    s = LogSchedule([(1, 1e-7), (3, 1e-5)])
    assert [s(e) for e in range(5)] == pytest.approx([1e-7, 1e-7, 1e-6, 1e-5, 1e-5], rel=1e-12)
    assert s(1.5) == pytest.approx(10**-6.5, rel=1e-12)


def test_one_class_with_interpolation_option():
    pts = [(0, 1e-6), (2, 1e-4)]
    assert BetaSchedule(pts, interpolation="log")(1) == pytest.approx(LogSchedule(pts)(1), rel=1e-15)
    assert BetaSchedule(pts, interpolation="linear")(1) == LinearSchedule(pts)(1)
    assert BetaSchedule(pts)(1) == PieceWiseSchedule(pts)(1) == 1e-6
    assert BetaSchedule(pts, interpolation="log").get_config() == {
        "points": [[0.0, 1e-6], [2.0, 1e-4]],
        "interpolation": "log",
    }


def test_non_increasing_epochs_error():
    with pytest.raises(ValueError) as e:
        PieceWiseSchedule([(0, 1e-6), (5, 1e-5), (5, 1e-4)])
    msg = str(e.value)
    assert "PieceWiseSchedule: entry 2 (5, 0.0001): epoch 5 is not greater than the previous epoch 5" in msg
    assert "strictly increasing" in msg and "betas >= 0" in msg
    with pytest.raises(ValueError, match=r"entry 1 \(3, 1e-05\): epoch 3 is not greater than the previous epoch 4"):
        LinearSchedule([(4, 1e-6), (3, 1e-5)])


@pytest.mark.parametrize(
    "cls, points, match",
    [
        (PieceWiseSchedule, [(0, -1e-6)], r"entry 0 \(0, -1e-06\): beta -1e-06 is not a number >= 0"),
        (LogSchedule, [(0, 0.0), (3, 1e-5)], r"entry 0 \(0, 0.0\): beta 0.0 is not a number > 0.*betas > 0"),
        (LinearSchedule, [(-1, 1e-6)], r"epoch -1 is not a number >= 0"),
        (LinearSchedule, [(0, float("nan"))], r"beta nan is not a number >= 0"),
        (PieceWiseSchedule, [], r"points is empty"),
        (PieceWiseSchedule, [(0, 1e-6, 3)], r"entry 0 \(0, 1e-06, 3\) is not an \(epoch, beta\) pair"),
        (PieceWiseSchedule, 3, r"points=3 is not a list"),
    ],
)
def test_bad_points(cls, points, match):
    with pytest.raises(ValueError, match=match):
        cls(points)


def test_bad_interpolation():
    with pytest.raises(
        ValueError, match="interpolation='cubic' is not accepted; accepted values: 'constant', 'linear', 'log'"
    ):
        BetaSchedule([(0, 1.0)], interpolation="cubic")
    with pytest.raises(ValueError, match="schedule=0.001 is not accepted"):
        BetaScheduler(1e-3)


def test_exports():
    for name in ("BetaScheduler", "ParetoFront", "FreeEBOPs"):
        assert getattr(hgq_compat.callbacks, name) is getattr(hgq_compat.training, name) is getattr(hgq_compat, name)
    for name in ("PieceWiseSchedule", "LinearSchedule", "LogSchedule"):
        assert getattr(hgq_compat, name) is getattr(hgq_compat.training, name)


def test_beta_scheduler_in_fit(data):
    """Beta per epoch in the logs and on every HGQ layer; the compiled train step uses it: with a
    zero learning rate the loss grows by exactly beta * EBOPs."""
    x, y = data
    model = tiny_model("hgq")
    model.compile(keras.optimizers.SGD(0.0), "sparse_categorical_crossentropy")
    ebops = model_ebops(model)
    seen = []

    class Spy(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append([float(to_np(layer.beta)) for layer in quantized_layers(self.model) if layer.has_ebops])

    schedule = PieceWiseSchedule([(0, 0.0), (1, 1e-6), (3, 1e-5)])
    hist = model.fit(x, y, epochs=4, batch_size=len(x), verbose=0, callbacks=[BetaScheduler(schedule), Spy()])
    assert hist.history["beta"] == [0.0, 1e-6, 1e-6, 1e-5]
    assert seen == [[b, b] for b in np.float32([0.0, 1e-6, 1e-6, 1e-5]).tolist()]
    loss = hist.history["loss"]
    assert model_ebops(model) == ebops > 1000
    assert loss[1] - loss[0] == pytest.approx(1e-6 * ebops, rel=1e-3)
    assert loss[2] == pytest.approx(loss[1], rel=1e-6)
    assert loss[3] - loss[0] == pytest.approx(1e-5 * ebops, rel=1e-3)


def test_beta_scheduler_callable(data):
    """Any epoch -> beta callable; a bad value stops fit before the first step.
    (A log ramp in a real fit is in test_pareto.test_real_fit_with_free_ebops.)"""
    x, y = data
    model = tiny_model("hgq")
    model.compile("adam", "sparse_categorical_crossentropy")
    cb = BetaScheduler(lambda epoch: 2e-6 * (epoch + 1))
    cb.set_model(model)
    cb.on_epoch_begin(2)
    assert cb.beta == 6e-6 and float(to_np(model.get_layer("d2").beta)) == pytest.approx(6e-6, rel=1e-6)
    logs = {}
    cb.on_epoch_end(2, logs)
    assert logs == {"beta": 6e-6}
    bad = BetaScheduler(lambda epoch: -1.0)
    with pytest.raises(ValueError, match="the schedule gave beta=-1.0 at epoch 0; accepted values: a finite number"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[bad])
    with pytest.raises(ValueError, match="gave beta=nan"):
        BetaScheduler(lambda epoch: math.nan).on_epoch_begin(0)
