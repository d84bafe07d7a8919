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
    rc = main(["convert", str(PUBLISHED_DIR / case["json"]), str(PUBLISHED_DIR / case["weights"]), "-o", str(out),
               "--check-data", str(data)])
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
    np.testing.assert_allclose(model.predict(arr("published", case["input"]), verbose=0),
                               arr("published", case["output"]), rtol=1e-5, atol=1e-7)


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


def test_overwrites_existing_output_atomically(tmp_path, capsys):
    out = tmp_path / "m.keras"
    out.write_bytes(b"old")
    assert main(["convert", str(MODELS_DIR / "mlp.h5"), "-o", str(out)]) == 0
    capsys.readouterr()
    assert out.read_bytes()[:2] == b"PK" and sorted(os.listdir(tmp_path)) == ["m.keras"]


def test_demo_subcommand_still_listed(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "demo" in text and "convert" in text
