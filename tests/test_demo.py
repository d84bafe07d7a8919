"""`hgq-compat demo`: the report folder, its numbers, and the refusal / interruption rules."""

from __future__ import annotations

import json
import subprocess
import sys

import keras
import numpy as np
import pytest

from hgq_compat.datasets import load_digits_split
from hgq_compat.demo import DemoError, run_demo
from hgq_compat.demo.pipeline import DemoSettings, shipped_model_path
from hgq_compat.training import load_pareto_front, model_ebops

TINY = DemoSettings(epochs=3, beta_start=1e-5, beta_end=1e-4, learning_rate=3e-3, n_random=200)


def test_shipped_model_is_real_qkeras_output():
    meta = json.loads(shipped_model_path().with_suffix(".json").read_text())
    assert meta["versions"]["qkeras"] == "0.9.0" and meta["n_test"] == 449 and meta["n_val"] == 337
    assert 0.95 < meta["qkeras_test_accuracy"] < 1.0


def test_demo_writes_a_consistent_report(tmp_path):
    out = tmp_path / "report"
    lines = []
    summary = run_demo(out, TINY, say=lines.append)
    files = {p.name for p in out.iterdir()}
    assert {
        "README.md",
        "summary.json",
        "qkeras_converted.keras",
        "hgq_chosen.keras",
        "hgq_layers.json",
        "hgq_layers.txt",
        "checkpoints",
        "hls4ml_prj",
        "pareto.png",
        "bitwidth_histograms.png",
    } <= files
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no partial or old folder left
    saved = json.loads((out / "summary.json").read_text())
    assert saved["hgq"] == summary["hgq"] and saved["ebops_reduction"] == summary["ebops_reduction"]
    meta = json.loads(shipped_model_path().with_suffix(".json").read_text())
    # the conversion is exact, so the converted accuracy is QKeras's own
    assert saved["qkeras"]["test_accuracy"] == meta["qkeras_test_accuracy"]
    assert saved["qkeras"]["max_logit_difference"] == 0.0
    # the chosen checkpoint's numbers are the saved model's numbers
    chosen = keras.saving.load_model(out / "hgq_chosen.keras")
    _, _, x_test, y_test = load_digits_split(0)
    acc = float(np.mean(np.argmax(chosen.predict(x_test, verbose=0), -1) == y_test))
    assert saved["hgq"]["test_accuracy"] == acc and saved["hgq"]["ebops"] == model_ebops(chosen)
    assert saved["ebops_reduction"] == pytest.approx(saved["qkeras"]["ebops"] / saved["hgq"]["ebops"])
    front = load_pareto_front(out / "checkpoints")
    assert len(front) == saved["pareto_points"] >= 1
    assert saved["hgq"]["epoch"] - 1 in [r["epoch"] for r in front]
    # hls4ml: the chosen model is exact on the test set plus random inputs
    assert saved["exact"] is True and saved["mismatches"] == 0 and saved["checked_inputs"] == 449 + 200
    readme = (out / "README.md").read_text()
    assert readme.startswith("# hgq-compat demo report")
    assert "0 mismatches in 649 C-simulation inputs" in readme and "![pareto.png](pareto.png)" in readme
    assert any(line.startswith("  epoch   3/3  beta 1.00e-04") for line in lines)  # progress per epoch


def test_demo_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "old.txt").write_text("keep me")
    with pytest.raises(DemoError, match="folder is not empty; pass --force"):
        run_demo(tmp_path, TINY)
    assert (tmp_path / "old.txt").read_text() == "keep me"


def test_interrupted_demo_keeps_the_previous_report(tmp_path):
    out = tmp_path / "report"
    out.mkdir()
    (out / "README.md").write_text("previous report")

    def interrupt(message: str) -> None:
        if message.startswith("[2/5]"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_demo(out, TINY, force=True, synth=False, say=interrupt)
    assert [p.name for p in out.iterdir()] == ["README.md"] and (out / "README.md").read_text() == "previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["report"]


def test_cli_demo_refusal_message(tmp_path):
    (tmp_path / "x").write_text("")
    run = subprocess.run(
        [sys.executable, "-m", "hgq_compat.cli", "demo", "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1
    assert f"hgq-compat demo: error: {tmp_path}: folder is not empty; pass --force" in run.stderr


def test_demo_fine_tuning_settings_do_not_follow_fine_tune_defaults():
    """The demo's README figures come from its own schedule: beta log from 2e-6 to 5e-5 over all
    150 epochs, Adam 2e-3 decaying to 1%, batch 32, jitter 0.45; a change of `FineTuneSettings`'
    defaults must not move them."""
    s = DemoSettings().fine_tune_settings()
    assert (s.epochs, s.beta_start, s.beta_end, s.ramp_fraction) == (150, 2e-6, 5e-5, 1.0)
    assert (s.learning_rate, s.learning_rate_floor, s.batch_size, s.jitter, s.seed) == (2e-3, 0.01, 32, 0.45, 0)
