"""Smoke test of `benchmarks/run_all.py --quick --no-venvs`: the parts that need no extra venv
or network (throughput and training memory of float / QKeras mode / HGQ mode, a tiny migration
run on two digits tasks, hls4ml synthesis of one small model and the migration's models). Checks the output structure and 0 mismatches;
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
        assert set(res[arch]) == {"float", "qkeras", "hgq", "hgq_xla"}
        for v in res[arch].values():
            assert v["samples_per_s"] > 0 and len(v["wall_s"]) == tp["config"]["rounds"]
        assert {"hgq_overhead_vs_float", "qkeras_overhead_vs_float", "hgq_xla_speedup"} <= set(
            tp["ratios"]["tensorflow"][arch]
        )

    mem = json.loads((tmp_path / "memory.json").read_text())
    assert set(mem["results"]) == {"jet_mlp/1024"}
    row = mem["results"]["jet_mlp/1024"]
    assert set(row["results"]) == {"float", "qkeras", "hgq"}
    assert all(v["peak_mib"] >= v["rss_before_mib"] > 0 for v in row["results"].values())
    assert (
        row["ratios"]["hgq_vs_float"] == row["results"]["hgq"]["training_mib"] / row["results"]["float"]["training_mib"]
    )

    mig = json.loads((tmp_path / "migration.json").read_text())
    assert [(r["dataset"], r["seed"]) for r in mig["runs"]] == [("digits_mlp", 0), ("digits_cnn", 0)]
    for r in mig["runs"]:
        assert [u["bits"] for u in r["uniform"]] == [4, 8]
        chosen = next(u for u in r["uniform"] if u["bits"] == r["chosen_uniform_bits"])
        assert chosen["val_accuracy"] == max(u["val_accuracy"] for u in r["uniform"])
        assert r["ebops_reduction"] == chosen["ebops"] / r["hgq"]["ebops"]
        assert r["test_accuracy_change_points"] == 100 * (r["hgq"]["test_accuracy"] - chosen["test_accuracy"])
        front = r["hgq"]["front"]  # no front point beaten by another in validation accuracy and EBOPs
        assert front
        for p in front:
            assert not any(
                q is not p and q["val_accuracy"] >= p["val_accuracy"] and q["ebops"] <= p["ebops"] for q in front
            )
        assert (tmp_path / "models" / f"{r['dataset']}_0_hgq.keras").exists()
    s0 = mig["summary"]["digits_mlp"]
    assert s0["reduction"] == [mig["runs"][0]["ebops_reduction"]]

    syn = json.loads((tmp_path / "synthesis.json").read_text())
    assert len(syn["models"]) >= 1
    for m in syn["models"]:
        assert m["outputs"] > 0 and m["nonzero_outputs"] > 0
        assert m["mismatches"] == 0, m
    assert syn["total_mismatches"] == 0

    report = (tmp_path / "report.md").read_text()
    assert any("HGQ fine-tuned" in m["model"] for m in syn["models"])  # the migration's model, synthesized
    for heading in (
        "## Training throughput",
        "## Peak training memory",
        "## The migration workflow",
        "## hls4ml synthesis",
        "## Targets",
    ):
        assert heading in report
