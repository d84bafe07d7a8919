"""ParetoFront: the front logic on synthetic logs, files and CSV, and a real fit."""

import csv
import os

import keras
import numpy as np
import pytest

from hgq_compat.training import (
    BetaScheduler,
    FreeEBOPs,
    LogSchedule,
    ParetoFront,
    load_pareto_front,
    model_ebops,
    pareto_front,
    select_pareto_point,
)
from tests.conftest import to_np
from tests.training.conftest import tiny_model


def brute_force_front(points, sides):
    """Points no other point strictly dominates; of equal points the first."""

    def ge(a, b):
        return all(s * x >= s * y for x, y, s in zip(a, b, sides))

    kept = []
    for t, p in enumerate(points):
        strictly = any(ge(q, p) and tuple(q) != tuple(p) for q in points)
        earlier_equal = any(tuple(q) == tuple(p) for q in points[:t])
        if not strictly and not earlier_equal:
            kept.append(t)
    return kept


def test_pareto_front_matches_brute_force():
    rng = np.random.default_rng(0)
    for trial in range(200):
        n = int(rng.integers(1, 25))
        # few distinct values, so that ties and equal points are common
        pts = [(float(rng.integers(0, 6)) / 5, float(rng.integers(1, 8) * 100)) for _ in range(n)]
        assert pareto_front(pts, (1, -1)) == brute_force_front(pts, (1, -1)), pts
    pts3 = [tuple(float(v) for v in rng.integers(0, 4, 3)) for _ in range(40)]
    assert pareto_front(pts3, (1, -1, -1)) == brute_force_front(pts3, (1, -1, -1))


def test_pareto_front_hand_case():
    # (accuracy, ebops): 2 beats 0; 3 ties 2 on ebops with worse accuracy; 4 equals 1; 5 beats 1
    pts = [(0.5, 1000), (0.4, 500), (0.6, 1000), (0.55, 1000), (0.4, 500), (0.45, 500), (0.9, 3000), (float("nan"), 1)]
    assert pareto_front(pts, (1, -1)) == [2, 5, 6]
    with pytest.raises(ValueError, match="sides=\\(1, 0\\) is not accepted"):
        pareto_front(pts, (1, 0))


LOGS = [  # (val_accuracy, ebops) per epoch; kept at the end: epochs 2, 5, 6, 8
    (0.50, 1000.0),
    (0.40, 500.0),
    (0.60, 1000.0),
    (0.55, 1000.0),
    (0.40, 500.0),
    (0.45, 500.0),
    (0.90, 3000.0),
    (0.30, 200.0),
    (0.30, 150.0),
    (0.85, 3000.0),
]


def test_callback_keeps_non_dominated_points(tmp_path):
    model = tiny_model("hgq")
    cb = ParetoFront(tmp_path / "front")
    cb.set_model(model)
    cb.on_train_begin()
    kept_after = []
    for epoch, (acc, ebops) in enumerate(LOGS):
        cb.on_epoch_end(epoch, {"loss": 1.0, "val_accuracy": acc, "ebops": ebops})
        kept_after.append([r["epoch"] for r in cb.records])
        files = sorted(f for f in os.listdir(tmp_path / "front") if f.endswith(".keras"))
        assert files == sorted(r["filename"] for r in cb.records)  # dominated checkpoints are deleted
    assert kept_after[:4] == [[0], [0, 1], [1, 2], [1, 2]]
    expected = pareto_front(LOGS, (1, -1))
    assert expected == [2, 5, 6, 8]
    assert [r["epoch"] for r in cb.records] == expected
    assert cb.records[0]["filename"] == "epoch=2-val_accuracy=0.6000-ebops=1000.keras"
    assert not [f for f in os.listdir(tmp_path / "front") if f.startswith(".tmp")]

    with open(tmp_path / "front" / "pareto.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows == [
        ["epoch", "val_accuracy", "ebops", "filename"],
        ["2", "0.6", "1000.0", "epoch=2-val_accuracy=0.6000-ebops=1000.keras"],
        ["5", "0.45", "500.0", "epoch=5-val_accuracy=0.4500-ebops=500.keras"],
        ["6", "0.9", "3000.0", "epoch=6-val_accuracy=0.9000-ebops=3000.keras"],
        ["8", "0.3", "150.0", "epoch=8-val_accuracy=0.3000-ebops=150.keras"],
    ]

    records = load_pareto_front(tmp_path / "front")
    assert records == [{k: v for k, v in r.items()} for r in cb.records]
    assert records[1] == {
        "epoch": 5,
        "val_accuracy": 0.45,
        "ebops": 500.0,
        "filename": "epoch=5-val_accuracy=0.4500-ebops=500.keras",
        "path": str(tmp_path / "front" / "epoch=5-val_accuracy=0.4500-ebops=500.keras"),
    }
    assert select_pareto_point(records)["epoch"] == 6  # the best accuracy
    assert select_pareto_point(records, tolerance=0.3)["epoch"] == 2  # 0.6 >= 0.9 - 0.3, cheapest such
    assert select_pareto_point(records, tolerance=0.45)["epoch"] == 5
    assert select_pareto_point(tmp_path / "front" / "pareto.csv", tolerance=1.0)["epoch"] == 8
    loaded = keras.saving.load_model(records[0]["path"])
    assert model_ebops(loaded) == model_ebops(model)


def test_callback_options_and_errors(tmp_path):
    model = tiny_model("hgq")
    cb = ParetoFront(
        tmp_path,
        metrics=("val_loss", "ebops"),
        sides=(-1, -1),
        fname_format="{epoch:03d}.keras",
        csv_name="front.csv",
        enable_if=lambda logs: logs["val_loss"] < 2,
    )
    cb.set_model(model)
    cb.on_train_begin()
    cb.on_epoch_end(0, {"val_loss": 3.0, "ebops": 1.0})  # disabled by enable_if
    logs = {"val_loss": 1.5}
    cb.on_epoch_end(1, logs)  # ebops computed here
    assert logs["ebops"] == model_ebops(model)
    cb.on_epoch_end(2, {"val_loss": 1.0, "ebops": 1e9})
    assert sorted(os.listdir(tmp_path)) == ["001.keras", "002.keras", "front.csv"]
    resumed = ParetoFront(tmp_path, metrics=("val_loss", "ebops"), sides=(-1, -1), csv_name="front.csv", resume=True)
    resumed.on_train_begin()
    assert [r["epoch"] for r in resumed.records] == [1, 2]

    with pytest.raises(
        ValueError,
        match=r"metric\(s\) \['val_accuracy'\] not in the logs \(pass validation_data "
        r"to fit\); logged: \['accuracy', 'ebops', 'loss'\]",
    ):
        ParetoFront(tmp_path / "x").on_epoch_end(0, {"loss": 1.0, "accuracy": 0.5, "ebops": 3.0})
    with pytest.raises(ValueError, match="fname_format='{epoch}-{loss}.keras' does not format"):
        ParetoFront(tmp_path, fname_format="{epoch}-{loss}.keras")
    with pytest.raises(ValueError, match="fname_format='{epoch}.h5' is not accepted"):
        ParetoFront(tmp_path, fname_format="{epoch}.h5")
    with pytest.raises(ValueError, match="fname_format='{ebops.real}.keras' does not format"):
        ParetoFront(tmp_path, fname_format="{ebops.real}.keras")
    with pytest.raises(ValueError, match=r"sides=\(1,\) is not accepted"):
        ParetoFront(tmp_path, sides=(1,))
    with pytest.raises(ValueError, match="no records"):
        select_pareto_point([])


def test_same_filename_gets_a_suffix(tmp_path):
    model = tiny_model("hgq")
    cb = ParetoFront(tmp_path, fname_format="acc={val_accuracy:.1f}.keras")
    cb.set_model(model)
    cb.on_epoch_end(0, {"val_accuracy": 0.51, "ebops": 10.0})
    cb.on_epoch_end(1, {"val_accuracy": 0.52, "ebops": 20.0})
    cb.on_epoch_end(2, {"val_accuracy": 0.53, "ebops": 5.0})  # drops both, reuses the first name
    assert [r["filename"] for r in cb.records] == ["acc=0.5.keras"]
    assert sorted(os.listdir(tmp_path)) == ["acc=0.5.keras", "pareto.csv"]
    cb.on_epoch_end(3, {"val_accuracy": 0.54, "ebops": 6.0})
    assert [r["filename"] for r in cb.records] == ["acc=0.5.keras", "acc=0.5-1.keras"]


def test_real_fit_with_free_ebops(tmp_path, data):
    """BetaScheduler (log ramp) + ParetoFront + FreeEBOPs in a 4-epoch fit, as in the demo."""
    x, y = data
    model = tiny_model("hgq")
    model.compile(keras.optimizers.Adam(0.03), "sparse_categorical_crossentropy", metrics=["accuracy"])
    # ParetoFront before FreeEBOPs: it computes EBOPs itself; FreeEBOPs then logs the same value
    front = ParetoFront(tmp_path)
    hist = model.fit(
        x,
        y,
        validation_data=(x, y),
        epochs=4,
        batch_size=32,
        verbose=0,
        callbacks=[BetaScheduler(LogSchedule([(0, 1e-6), (2, 1e-4)])), front, FreeEBOPs()],
    )
    h = hist.history
    assert h["beta"] == pytest.approx([1e-6, 1e-5, 1e-4, 1e-4], rel=1e-12)
    assert float(to_np(model.get_layer("d1").beta)) == pytest.approx(1e-4, rel=1e-6)
    points = list(zip(h["val_accuracy"], h["ebops"]))
    expected = pareto_front(points, (1, -1))
    assert expected == brute_force_front(points, (1, -1))
    assert [r["epoch"] for r in front.records] == expected
    for r in front.records:
        assert (r["val_accuracy"], r["ebops"]) == points[r["epoch"]]
    assert h["ebops"][-1] == model_ebops(model)
    assert len(set(h["ebops"])) > 1  # bitwidths trained
    assert sorted(os.listdir(tmp_path)) == sorted([r["filename"] for r in front.records] + ["pareto.csv"])
    assert load_pareto_front(tmp_path) == front.records
    best = select_pareto_point(front.records)
    restored = keras.saving.load_model(best["path"])
    assert model_ebops(restored) == best["ebops"]
