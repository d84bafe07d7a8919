"""Smoke test of `benchmarks/run_all.py --quick --no-venvs`: the parts that need no extra venv
or network (throughput of float / QKeras mode / HGQ mode, a tiny accuracy-vs-EBOPs sweep on
digits, hls4ml synthesis of one small model). Checks the output structure and 0 mismatches;
never a timing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_run_all_quick(tmp_path):
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "run_all.py"), "--quick", "--no-venvs", "--out", str(tmp_path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "SKIPPED: HGQ2 and QKeras 0.9.0 venvs: not requested" in proc.stdout

    tp = json.loads((tmp_path / "throughput.json").read_text())
    res = tp["results"]["tensorflow"]
    for arch in ("jet_mlp", "digits_cnn"):
        assert set(res[arch]) == {"float", "qkeras", "hgq"}
        for v in res[arch].values():
            assert v["samples_per_s"] > 0 and len(v["wall_s"]) == tp["config"]["rounds"]
        assert {"hgq_overhead_vs_float", "qkeras_overhead_vs_float"} <= set(tp["ratios"]["tensorflow"][arch])

    acc = json.loads((tmp_path / "accuracy.json").read_text())
    digits = acc["digits"]
    assert [u["bits"] for u in digits["uniform"]] == digits["config"]["bits"]
    assert all(0 <= u["test_accuracy"] <= 1 and u["ebops"] > 0 for u in digits["uniform"])
    epochs = digits["hgq"]["epochs"]
    assert len(epochs) == digits["config"]["epochs"] and digits["hgq"]["front"]
    front = [epochs[n] for n in digits["hgq"]["front"]]
    # the front never holds a point that another front point beats in both validation accuracy and EBOPs
    for p in front:
        assert not any(
            q is not p and q["val_accuracy"] >= p["val_accuracy"] and q["ebops"] <= p["ebops"] for q in front
        )
    rows = digits["comparison"]["rows"]
    assert [r["bits"] for r in rows] == digits["config"]["bits"]
    assert digits["comparison"]["headline"]["bits"] in digits["config"]["bits"]
    assert (tmp_path / "accuracy_vs_ebops.png").stat().st_size > 10_000

    syn = json.loads((tmp_path / "synthesis.json").read_text())
    assert len(syn["models"]) >= 1
    for m in syn["models"]:
        assert m["outputs"] > 0 and m["nonzero_outputs"] > 0
        assert m["mismatches"] == 0, m
    assert syn["total_mismatches"] == 0

    report = (tmp_path / "report.md").read_text()
    for heading in ("## Training throughput", "## Accuracy vs EBOPs", "## hls4ml synthesis", "## Targets"):
        assert heading in report
