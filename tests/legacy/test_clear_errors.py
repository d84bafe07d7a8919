"""Clear errors for bad check data and warnings for NaN/inf weights, in convert and synth."""

from __future__ import annotations

import os

import h5py
import numpy as np
import pytest

from hgq_compat.cli import main
from hgq_compat.legacy import convert_qkeras_model

from .helpers import MODELS_DIR


@pytest.mark.parametrize(
    "data,why",
    [
        (np.zeros((0, 16), np.float32), r"check data holds no inputs \(shape \(0, 16\)\)"),
        (np.array(["a", "b"]), r"check data holds <U1 values .*expected numbers"),
        (
            np.zeros((4, 3), np.float32),
            r"check data has shape \(4, 3\) but the model expects inputs of shape \(n, 16\)",
        ),
    ],
)
@pytest.mark.parametrize("command", ["convert", "synth"])
def test_bad_check_data_blames_the_data_file(tmp_path, capsys, data, why, command):
    path = tmp_path / "x.npy"
    np.save(path, data)
    out = tmp_path / "out"
    out.mkdir()
    target = out / ("m.keras" if command == "convert" else "project")
    rc = main([command, str(MODELS_DIR / "mlp.h5"), "-o", str(target), "--check-data", str(path)])
    err = capsys.readouterr().err
    assert rc == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"hgq-compat {command}: error: {path}: ")
    import re

    assert re.search(why, lines[0]), lines[0]
    assert os.listdir(out) == []


def _nan_weights(tmp_path):
    p = tmp_path / "mlp.h5"
    p.write_bytes((MODELS_DIR / "mlp.h5").read_bytes())
    with h5py.File(p, "r+") as f:
        kernel = f["model_weights/fc1/fc1/kernel:0"]
        value = kernel[()]
        value[0, 0], value[1, 2] = np.nan, np.inf
        kernel[...] = value
    return p


def test_nan_weights_warn_naming_the_layer(tmp_path, capsys):
    p = _nan_weights(tmp_path)
    with pytest.warns(UserWarning, match=r"mlp\.h5: layer 'fc1' \(QDense\): NaN/inf weight values \(2 in kernel\)"):
        model = convert_qkeras_model(p)
    assert main(["convert", str(p), "-o", str(tmp_path / "m.keras")]) == 0
    err = capsys.readouterr().err
    assert "hgq-compat convert: warning: " in err and "layer 'fc1' (QDense): NaN/inf weight values" in err

    from hls4ml_plugin.synth import SynthError, synthesize

    with pytest.warns(UserWarning, match=r"layer 'fc1' \(QDense\): NaN/inf weight values"):
        with pytest.raises(SynthError, match="check data holds no inputs"):
            synthesize(model, tmp_path / "project", check_data=np.zeros((0, 16), np.float32))


def test_synth_table_rows_do_not_mix_prefixed_names():
    from hls4ml_plugin.synth import node_owners

    owners = node_owners(
        ["dense", "dense_1", "q"],
        ["dense", "dense_quantizer", "dense_1", "dense_1_quantizer", "dense_1_lut", "q", "other"],
    )
    assert owners == {
        "dense": ["dense", "dense_quantizer"],
        "dense_1": ["dense_1", "dense_1_quantizer", "dense_1_lut"],
        "q": ["q"],
    }
