"""Bad input: each case gives a clear error naming the file (and the layer), via the API and the CLI,
with a non-zero exit and no output file left behind; the input is never modified."""

from __future__ import annotations

import json
import os
import shutil

import h5py
import numpy as np
import pytest

from hgq_compat.cli import main
from hgq_compat.legacy import LegacyConversionError, LegacyNotImplementedError, convert_qkeras_model

from .helpers import MODELS_DIR, PUBLISHED_DIR, sha256


def _cli_fails(tmp_path, capsys, args, *needles):
    out = tmp_path / "out" / "model.keras"
    out.parent.mkdir(exist_ok=True)
    rc = main(["convert", *map(str, args), "-o", str(out)])
    err = capsys.readouterr().err
    assert rc != 0
    for needle in needles:
        assert needle in err, err
    assert os.listdir(out.parent) == []  # neither the output nor a temporary file
    return err


def _copy(tmp_path, name, src_dir=MODELS_DIR):
    p = tmp_path / name
    shutil.copy(src_dir / name, p)
    os.chmod(p, 0o644)
    return p


def test_not_hdf5(tmp_path, capsys):
    p = tmp_path / "model.h5"
    p.write_bytes(b"this is not a model\n" * 10)
    with pytest.raises(LegacyConversionError, match=r"model\.h5: not a model file; accepted: \.keras"):
        convert_qkeras_model(p)
    _cli_fails(tmp_path, capsys, [p], "model.h5", "not a model file; accepted")


def test_not_a_keras_archive(tmp_path, capsys):
    import zipfile

    p = tmp_path / "model.keras"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(LegacyConversionError, match=r"model\.keras.*not a Keras archive"):
        convert_qkeras_model(p)
    _cli_fails(tmp_path, capsys, [p], "model.keras", "not a Keras archive")


def test_weights_not_hdf5(tmp_path):
    w = tmp_path / "w.h5"
    w.write_text("{}")
    with pytest.raises(LegacyConversionError, match=r"w\.h5.*not HDF5"):
        convert_qkeras_model(MODELS_DIR / "mlp.json", w)


@pytest.mark.parametrize("name,src", [("mlp.h5", MODELS_DIR), ("qkeras-v3_3layer.keras", PUBLISHED_DIR)])
def test_truncated(tmp_path, capsys, name, src):
    data = (src / name).read_bytes()
    p = tmp_path / name
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(LegacyConversionError, match="truncated"):
        convert_qkeras_model(p)
    _cli_fails(tmp_path, capsys, [p], name, "truncated")


def test_config_without_weights(tmp_path, capsys):
    p = _copy(tmp_path, "mlp.json")
    with pytest.raises(LegacyConversionError, match=r"mlp\.json.*without weights"):
        convert_qkeras_model(p)
    _cli_fails(tmp_path, capsys, [p], "mlp.json", "without weights")


def test_layer_weights_missing(tmp_path, capsys):
    p = _copy(tmp_path, "mlp.h5")
    with h5py.File(p, "r+") as f:
        g = f["model_weights/fc2"]
        del g["fc2"]
        g.attrs["weight_names"] = np.array([], dtype="S")
    with pytest.raises(LegacyConversionError, match=r"mlp\.h5: layer 'fc2' \(QDense\).*no weights"):
        convert_qkeras_model(p)
    _cli_fails(tmp_path, capsys, [p], "mlp.h5", "layer 'fc2'")


def test_layer_group_missing(tmp_path):
    p = _copy(tmp_path, "branch_weights.h5")
    with h5py.File(p, "r+") as f:
        del f["fc_b"]
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in f.attrs["layer_names"]]
        f.attrs["layer_names"] = np.array([n.encode() for n in names if n != "fc_b"], dtype="S")
    with pytest.raises(LegacyConversionError, match=r"branch_weights\.h5: layer 'fc_b'.*no weights"):
        convert_qkeras_model(MODELS_DIR / "branch.json", p)


def test_one_weight_missing(tmp_path):
    p = _copy(tmp_path, "mlp.h5")
    with h5py.File(p, "r+") as f:
        g = f["model_weights/fc1"]
        del g["fc1/bias:0"]
        g.attrs["weight_names"] = np.array([b"fc1/kernel:0"], dtype="S")
    with pytest.raises(LegacyConversionError, match=r"layer 'fc1'.*bias"):
        convert_qkeras_model(p)


def test_shape_mismatch(tmp_path, capsys):
    p = _copy(tmp_path, "mlp.h5")
    with h5py.File(p, "r+") as f:
        g = f["model_weights/fc1/fc1"]
        shape = g["kernel:0"].shape
        del g["kernel:0"]
        g.create_dataset("kernel:0", data=np.zeros((shape[0] + 1, shape[1]), np.float32))
    with pytest.raises(LegacyConversionError, match=r"mlp\.h5: layer 'fc1' \(QDense\).*shape"):
        convert_qkeras_model(p)
    _cli_fails(tmp_path, capsys, [p], "mlp.h5", "layer 'fc1'", "shape")


def _edit_json(tmp_path, fn):
    cfg = json.loads((MODELS_DIR / "mlp.json").read_text())
    fn(cfg)
    p = tmp_path / "edited.json"
    p.write_text(json.dumps(cfg))
    return p


def test_unknown_custom_layer(tmp_path, capsys):
    def edit(cfg):
        layer = next(l for l in cfg["config"]["layers"] if l["config"].get("name") == "relu1")
        layer["class_name"] = "MyFancyLayer"

    p = _edit_json(tmp_path, edit)
    with pytest.raises(
        LegacyConversionError, match=r"edited\.json: layer 'relu1' \(MyFancyLayer\).*unknown layer class"
    ):
        convert_qkeras_model(p, MODELS_DIR / "mlp_weights.h5")
    _cli_fails(tmp_path, capsys, [p, MODELS_DIR / "mlp_weights.h5"], "edited.json", "relu1", "MyFancyLayer")


def test_lambda_refused(tmp_path, capsys):
    def edit(cfg):
        layers = cfg["config"]["layers"]
        idx = next(i for i, l in enumerate(layers) if l["config"].get("name") == "relu1")
        layers.insert(
            idx,
            {
                "class_name": "Lambda",
                "config": {
                    "name": "evil",
                    "function": ["4wEAAAAAAAAA", None, None],
                    "function_type": "lambda",
                    "module": "builtins",
                    "output_shape": None,
                    "arguments": {},
                },
            },
        )

    p = _edit_json(tmp_path, edit)
    with pytest.raises(LegacyConversionError, match=r"edited\.json: layer 'evil' \(Lambda\).*run Python code"):
        convert_qkeras_model(p, MODELS_DIR / "mlp_weights.h5")
    _cli_fails(tmp_path, capsys, [p, MODELS_DIR / "mlp_weights.h5"], "evil", "Lambda")


def test_missing_class_is_not_implemented(tmp_path, monkeypatch):
    import hgq_compat
    import hgq_compat.layers
    from hgq_compat.legacy import converter

    monkeypatch.delattr(hgq_compat, "QActivation")
    monkeypatch.delattr(hgq_compat.layers, "QActivation")
    monkeypatch.setattr(converter.keras.saving, "get_registered_object", lambda name, *a, **k: None)
    with pytest.raises(LegacyNotImplementedError, match=r"mlp\.h5: layer 'q_in' \(QActivation\).*QActivation"):
        convert_qkeras_model(MODELS_DIR / "mlp.h5")
    with pytest.raises(NotImplementedError):
        convert_qkeras_model(MODELS_DIR / "mlp.h5")


def test_output_directory_missing(tmp_path, capsys):
    out = tmp_path / "no" / "such" / "dir" / "m.keras"
    rc = main(["convert", str(MODELS_DIR / "mlp.h5"), "-o", str(out)])
    err = capsys.readouterr().err
    assert rc != 0 and "does not exist" in err and str(out.parent) in err
    assert not (tmp_path / "no").exists()


def test_output_must_be_keras(tmp_path, capsys):
    rc = main(["convert", str(MODELS_DIR / "mlp.h5"), "-o", str(tmp_path / "m.h5")])
    assert rc != 0 and ".keras" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []


def test_inputs_never_modified(tmp_path, capsys):
    files = [
        _copy(tmp_path, "branch.json"),
        _copy(tmp_path, "branch_weights.h5"),
        _copy(tmp_path, "branch.h5"),
        _copy(tmp_path, "qkeras-v3_3layer.keras", PUBLISHED_DIR),
    ]
    before = [sha256(f) for f in files]
    assert main(["convert", str(files[0]), str(files[1]), "-o", str(tmp_path / "a.keras")]) == 0
    assert main(["convert", str(files[2]), "-o", str(tmp_path / "b.keras"), "--hgq"]) == 0
    assert main(["convert", str(files[3]), "-o", str(tmp_path / "c.keras")]) == 0
    capsys.readouterr()
    assert [sha256(f) for f in files] == before
