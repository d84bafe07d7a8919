"""The hgq-compat command line."""

import os
import subprocess
import sys

import pytest

import hgq_compat
from hgq_compat.cli import main


def test_version(capsys):
    try:
        main(["--version"])
    except SystemExit as exc:
        assert exc.code == 0
    assert capsys.readouterr().out.strip() == f"hgq-compat {hgq_compat.__version__}"


def test_help_lists_commands():
    out = subprocess.run([sys.executable, "-m", "hgq_compat.cli", "--help"], capture_output=True, text=True, check=True)
    assert "usage: hgq-compat" in out.stdout and "demo" in out.stdout


def test_unknown_command_fails():
    out = subprocess.run([sys.executable, "-m", "hgq_compat.cli", "frobnicate"], capture_output=True, text=True)
    assert out.returncode == 2 and "invalid choice: 'frobnicate'" in out.stderr


def test_demo_rejects_bad_epochs():
    out = subprocess.run(
        [sys.executable, "-m", "hgq_compat.cli", "demo", "--epochs", "0"], capture_output=True, text=True
    )
    assert out.returncode == 2 and "--epochs: '0' is not a positive integer" in out.stderr


def test_readme_test_command_is_what_ci_runs():
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    ci = (root / ".ci" / "run").read_text()
    command = [line for line in ci.splitlines() if "pytest" in line]
    assert len(command) == 1 and command[0].strip() in readme


def test_synth_help_names_the_folding_and_inexact_options():
    out = subprocess.run(
        [sys.executable, "-m", "hgq_compat.cli", "synth", "--help"], capture_output=True, text=True, check=True
    ).stdout
    text = " ".join(out.split())
    assert "--fold-bn" in text and "convert_to_folded_model" in text
    assert "--allow-inexact" in text and "INEXACT" in text and "measured max abs difference" in text


def _interrupt(exc):
    def raiser(*args, **kwargs):
        raise exc

    return raiser


@pytest.mark.parametrize(
    "command,patch",
    [
        (["demo", "--out", "{tmp}/report"], ("hgq_compat.demo", "run_demo")),
        (["synth", "{tmp}/m.keras", "-o", "{tmp}/project"], ("hls4ml_plugin.synth", "load_model")),
    ],
)
@pytest.mark.parametrize("signal_name,rc,word", [("SIGINT", 130, "interrupted"), ("SIGTERM", 143, "terminated")])
def test_every_command_interrupted_prints_one_line(
    tmp_path, monkeypatch, capsys, command, patch, signal_name, rc, word
):
    import importlib

    from hgq_compat.cli import Terminated

    exc = KeyboardInterrupt() if signal_name == "SIGINT" else Terminated(15)
    monkeypatch.setattr(importlib.import_module(patch[0]), patch[1], _interrupt(exc))
    args = [a.format(tmp=tmp_path) for a in command]
    (tmp_path / "m.keras").write_bytes(b"PK")
    assert main(args) == rc
    lines = capsys.readouterr().err.strip().splitlines()
    target = args[args.index("--out" if "--out" in args else "-o") + 1]
    assert lines == [f"hgq-compat {command[0]}: {word}; {target} was left as it was"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras"]


def test_quiet_start_up_unless_verbose(tmp_path):
    """TensorFlow's C++ start-up lines (absl, oneDNN, CPU features) stay out of the command's output;
    --verbose (anywhere on the line) shows them; a library import is left alone."""
    script = tmp_path / "train.py"
    script.write_text("import qkeras\n")
    cmd = [sys.executable, "-m", "hgq_compat.cli", "migrate", "--dry-run", str(script)]
    quiet = subprocess.run(cmd, capture_output=True, text=True)
    assert quiet.returncode == 0, quiet.stderr
    assert "+import hgq_compat" in quiet.stdout
    noise = ("absl::InitializeLog", "oneDNN", "cpu_feature_guard", "I0000")
    assert [line for line in quiet.stderr.splitlines() if any(n in line for n in noise)] == []
    if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
        loud = subprocess.run(cmd + ["--verbose"], capture_output=True, text=True)
        assert loud.returncode == 0 and "+import hgq_compat" in loud.stdout
        assert any(n in loud.stderr for n in noise)
    from hgq_compat import _quiet

    assert _quiet.wanted(["/usr/bin/hgq-compat", "synth"]) is True
    assert _quiet.wanted(["/usr/bin/hgq-compat", "synth", "--verbose"]) is False
    assert _quiet.wanted(["train.py"], ["python", "train.py"]) is False
    assert _quiet.wanted(["-m"], ["python", "-m", "hgq_compat.cli", "demo"]) is True
