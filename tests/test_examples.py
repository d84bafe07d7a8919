"""The scripts in examples/ run in their --quick (CI) mode, each in a subprocess, and give sensible numbers."""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
MIGRATE = EXAMPLES / "01_migrate_qkeras_script"


def run_example(script: Path, tmp_path: Path, *args: str) -> dict:
    """Run ``script --quick --out tmp_path/out *args`` with cwd ``tmp_path``; its summary.json."""
    out = tmp_path / "out"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    # the repository's packages, after any PYTHONPATH already set (an installed copy is shadowed too)
    env["PYTHONPATH"] = os.pathsep.join([p for p in (os.environ.get("PYTHONPATH"), str(ROOT)) if p])
    proc = subprocess.run(
        [sys.executable, str(script), "--quick", "--out", str(out), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, f"{script.name} exited {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    assert not any(tmp_path.glob("examples_out")), "the script ignored --out"
    assert proc.stdout.strip().splitlines()[-1].startswith("RESULT"), proc.stdout[-2000:]
    return json.loads((out / "summary.json").read_text())


def _import_line(line: str) -> bool:
    return line.startswith("import ") or (line.startswith("from ") and " import " in line)


def test_migrated_script_differs_from_the_qkeras_one_only_in_import_lines():
    qkeras = (MIGRATE / "train_qkeras.py").read_text().splitlines()
    ours = (MIGRATE / "train_hgq_compat.py").read_text().splitlines()
    changed = [
        line[1:]
        for line in difflib.unified_diff(qkeras, ours, lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert changed, "the two scripts are identical"
    assert all(_import_line(line) for line in changed), [line for line in changed if not _import_line(line)]
    assert any("from qkeras import" in line for line in qkeras)
    assert not any("qkeras" in line or "tensorflow" in line for line in ours if _import_line(line))
    assert len(qkeras) == len(ours)


def test_migrated_qkeras_script_runs(tmp_path):
    s = run_example(MIGRATE / "train_hgq_compat.py", tmp_path)
    assert s["epochs"] == 2
    assert s["reload_identical"] is True
    assert s["test_accuracy"] > 0.6  # 10 classes; about 0.79 after 2 epochs


@pytest.mark.slow
def test_migrated_script_with_hgq_runs(tmp_path):
    s = run_example(MIGRATE / "train_hgq.py", tmp_path)
    assert s["reload_identical"] is True
    assert s["test_accuracy"] > 0.6
    assert 0 < s["ebops"] < 1.1 * s["ebops_start"]  # 2 epochs barely move the bits; 30 shrink them


@pytest.mark.slow
def test_jet_tagger_hgq(tmp_path):
    s = run_example(EXAMPLES / "02_jet_tagger_hgq.py", tmp_path)
    assert s["exact"] is True and s["mismatches"] == 0
    assert s["checked_inputs"] == 1700  # 1,200 test jets + 500 random inputs
    assert s["ebops"] < s["ebops_start"]
    assert s["test_accuracy"] > 0.5  # 5 balanced classes: 0.2 by chance; about 0.69 after 2 epochs
    assert s["pareto_points"] >= 1
    assert (tmp_path / "out" / "hls4ml_prj" / "hgq_compat_report.txt").is_file()


@pytest.mark.slow
def test_conv_digits(tmp_path):
    s = run_example(EXAMPLES / "03_conv_digits.py", tmp_path)
    assert s["exact"] is True and s["mismatches"] == 0
    assert s["ebops"] < s["ebops_start"]
    assert s["test_accuracy"] > 0.6  # about 0.85 after 3 epochs


def test_convert_and_synthesize(tmp_path):
    s = run_example(EXAMPLES / "04_convert_and_synthesize.py", tmp_path, "--hgq")
    assert s["ok"] is True
    assert s["hgq_equals_plain"] is True
    assert s["max_logit_difference_vs_qkeras"] == 0.0
    assert s["accuracy_equal"] is True and s["accuracy"] > 0.95
    assert s["exact"] is True and s["mismatches"] == 0
    assert (tmp_path / "out" / "converted.keras").is_file()
