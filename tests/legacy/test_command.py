"""`hgq-compat convert`: table, verification line, atomic output."""

from __future__ import annotations

import os

import keras
import numpy as np
import pytest

from hgq_compat.cli import main

from .helpers import MODELS_DIR, PUBLISHED_DIR, V3_ARCHIVE, arr, published_case, published_names


@pytest.mark.parametrize("name", published_names())
def test_convert_published_with_reference(tmp_path, capsys, name):
    case = published_case(name)
    data = tmp_path / "check.npz"
    np.savez(data, x=arr("published", case["input"]), y=arr("published", case["output"]))
    out = tmp_path / "m.keras"
    rc = main(
        [
            "convert",
            str(PUBLISHED_DIR / case["json"]),
            str(PUBLISHED_DIR / case["weights"]),
            "-o",
            str(out),
            "--check-data",
            str(data),
        ]
    )
    text = capsys.readouterr().out
    assert rc == 0, text
    lines = text.splitlines()
    header = next(l for l in lines if l.startswith("layer"))
    for col in ("QKeras quantizer(s)", "hgq_compat quantizer(s)", "bits", "params"):
        assert col in header
    for lname in case["layer_outputs"]:
        assert any(l.split()[0] == lname for l in lines if l.strip()), lname
    verify = next(l for l in lines if l.startswith("verify"))
    assert verify.startswith("verify OK") and "max |diff|" in verify and "exact match" in verify
    assert out.exists()
    model = keras.saving.load_model(out)
    np.testing.assert_allclose(
        model.predict(arr("published", case["input"]), verbose=0),
        arr("published", case["output"]),
        rtol=1e-5,
        atol=1e-7,
    )


def test_convert_v3_self_consistency_hgq(tmp_path, capsys):
    x = tmp_path / "x.npy"
    np.save(x, np.random.default_rng(0).normal(size=(20, 16)).astype(np.float32))
    out = tmp_path / "m.keras"
    rc = main(["convert", str(V3_ARCHIVE), "-o", str(out), "--hgq", "--check-data", str(x)])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "HGQ fixed per-element" in text
    verify = next(l for l in text.splitlines() if l.startswith("verify"))
    assert "verify OK" in verify and "reloaded" in verify and "exact match 100.00%" in verify
    assert sorted(os.listdir(tmp_path)) == ["m.keras", "x.npy"]


def test_verification_mismatch_fails_without_output(tmp_path, capsys):
    case = published_case("qkeras_3layer")
    data = tmp_path / "check.npz"
    np.savez(data, x=arr("published", case["input"]), outputs=arr("published", case["output"]) + 0.1)
    out = tmp_path / "m.keras"
    rc = main(["convert", str(V3_ARCHIVE), "-o", str(out), "--check-data", str(data)])
    captured = capsys.readouterr()
    assert rc != 0 and "verify MISMATCH" in captured.out and "verification failed" in captured.err
    assert sorted(os.listdir(tmp_path)) == ["check.npz"]


def test_existing_output_needs_force_then_is_replaced_atomically(tmp_path, capsys):
    out = tmp_path / "m.keras"
    out.write_bytes(b"old")
    assert main(["convert", str(MODELS_DIR / "mlp.h5"), "-o", str(out)]) == 1
    assert f"{out}: exists; pass --force to replace it" in capsys.readouterr().err
    assert out.read_bytes() == b"old"
    assert main(["convert", str(MODELS_DIR / "mlp.h5"), "-o", str(out), "--force"]) == 0
    capsys.readouterr()
    assert out.read_bytes()[:2] == b"PK" and sorted(os.listdir(tmp_path)) == ["m.keras"]


def _convert_interrupted(tmp_path, monkeypatch, capsys, signum):
    """Convert with the signal delivered while the temporary output is being written."""
    import signal

    out = tmp_path / "m.keras"
    out.write_bytes(b"old")
    real_save = keras.Model.save

    def save_then_signal(self, path, *args, **kwargs):
        real_save(self, path, *args, **kwargs)
        assert os.path.exists(path) and os.path.basename(path).startswith(".")
        if signum == signal.SIGINT:
            raise KeyboardInterrupt  # what Python's default SIGINT handler raises
        os.kill(os.getpid(), signum)

    monkeypatch.setattr(keras.Model, "save", save_then_signal)
    rc = main(["convert", str(MODELS_DIR / "mlp.h5"), "-o", str(out), "--force"])
    err = capsys.readouterr().err
    assert out.read_bytes() == b"old" and sorted(os.listdir(tmp_path)) == ["m.keras"]  # no temporary file left
    assert "Traceback" not in err
    return rc, err.strip().splitlines()


def test_sigint_one_line_exit_130(tmp_path, monkeypatch, capsys):
    import signal

    rc, lines = _convert_interrupted(tmp_path, monkeypatch, capsys, signal.SIGINT)
    assert rc == 130 and lines == [f"hgq-compat convert: interrupted; {tmp_path / 'm.keras'} was left as it was"]


def test_sigterm_cleans_up_exit_143(tmp_path, monkeypatch, capsys):
    import signal

    before = signal.getsignal(signal.SIGTERM)
    rc, lines = _convert_interrupted(tmp_path, monkeypatch, capsys, signal.SIGTERM)
    assert rc == 143 and lines == [f"hgq-compat convert: terminated; {tmp_path / 'm.keras'} was left as it was"]
    assert signal.getsignal(signal.SIGTERM) is before  # the handler is restored


def test_demo_subcommand_still_listed(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "demo" in text and "convert" in text
