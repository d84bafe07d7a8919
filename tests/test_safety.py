"""Loaders refuse layers that read files or run code, on every path, even with Keras' global
unsafe deserialization switched on; the refused file is never read."""

from __future__ import annotations

import json
import zipfile

import keras
import pytest

from hgq_compat._safety import UnsafeModelError, find_unsafe
from hgq_compat.legacy import LegacyConversionError, convert_qkeras_model
from hgq_compat.legacy.converter import build_from_config
from hgq_compat.utils import load_qmodel, quantized_model_from_json

SECRET = "SENTINEL-6c1f-do-not-read"


@pytest.fixture
def secret(tmp_path):
    p = tmp_path / "secret.txt"
    p.write_text(SECRET + "\n")
    return p


def _keras3_lookup_archive(tmp_path, vocabulary):
    """A Keras 3 .keras archive whose StringLookup config is edited to hold ``vocabulary``."""
    model = keras.Sequential(
        [keras.Input((1,), dtype="string"), keras.layers.StringLookup(vocabulary=["a", "b"], name="lookup")]
    )
    path = tmp_path / "lookup.keras"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    config = json.loads(files["config.json"])
    config["config"]["layers"][1]["config"]["vocabulary"] = vocabulary
    files["config.json"] = json.dumps(config).encode()
    evil = tmp_path / "evil.keras"
    with zipfile.ZipFile(evil, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return evil, config


def _legacy(layer: dict) -> dict:
    return {
        "class_name": "Sequential",
        "keras_version": "2.4.0",
        "config": {
            "name": "m",
            "layers": [
                {
                    "class_name": "InputLayer",
                    "config": {"batch_input_shape": [None, 4], "dtype": "float32", "name": "x"},
                },
                layer,
            ],
        },
    }


@pytest.mark.parametrize(
    "layer,culprit",
    [
        ({"class_name": "StringLookup", "config": {"name": "lk", "vocabulary": "SECRET"}}, "StringLookup"),
        ({"class_name": "IntegerLookup", "config": {"name": "lk", "vocabulary": "SECRET"}}, "IntegerLookup"),
        ({"class_name": "TextVectorization", "config": {"name": "lk", "vocabulary": "SECRET"}}, "TextVectorization"),
        ({"class_name": "TFSMLayer", "config": {"name": "lk", "filepath": "SECRET"}}, "TFSMLayer"),
        ({"class_name": "Lambda", "config": {"name": "lk", "function": ["4wEAAAAAAAAA", None, None]}}, "Lambda"),
        (
            {
                "class_name": "Dense",
                "config": {
                    "name": "lk",
                    "units": 2,
                    "activation": {"class_name": "function", "config": "Lambda", "module": "keras.layers"},
                },
            },
            "Lambda",
        ),
    ],
)
def test_convert_refuses_even_when_keras_is_unsafe(secret, layer, culprit):
    cfg = json.loads(json.dumps(_legacy(layer)).replace('"SECRET"', json.dumps(str(secret))))
    keras.config.enable_unsafe_deserialization()
    try:
        with pytest.raises(LegacyConversionError, match=rf"layer 'lk' \({culprit}\).*refused") as info:
            build_from_config(cfg, path="hostile.json")
    finally:
        from keras.src.saving.serialization_lib import SafeModeScope

        SafeModeScope(True).__enter__()  # back to Keras' default (safe)
    assert SECRET not in str(info.value)
    if culprit not in ("Lambda",):
        assert str(secret) in str(info.value)  # the file is named, not read


def test_inline_vocabulary_is_accepted():
    assert find_unsafe(_legacy({"class_name": "StringLookup", "config": {"name": "lk", "vocabulary": ["a"]}})) is None


def test_deeply_nested_config_is_walked_without_recursion():
    deep: object = {"class_name": "TFSMLayer", "config": {"name": "deep", "filepath": "/x"}}
    for _ in range(50_000):
        deep = [deep]
    found = find_unsafe({"class_name": "Sequential", "config": {"layers": deep}})
    assert found is not None and found.layer == "deep"


def test_keras3_archive_refused_by_every_loader(tmp_path, secret, capsys):
    from hgq_compat.cli import main

    evil, config = _keras3_lookup_archive(tmp_path, str(secret))
    with pytest.raises(UnsafeModelError, match=r"evil\.keras: layer 'lookup' \(StringLookup\).*secret\.txt"):
        load_qmodel(evil)
    with pytest.raises(UnsafeModelError, match=r"layer 'lookup' \(StringLookup\)"):
        quantized_model_from_json(json.dumps(config))
    out = tmp_path / "project"
    assert main(["synth", str(evil), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "evil.keras: layer 'lookup' (StringLookup)" in err and SECRET not in err
    assert not out.exists()


def test_convert_cli_refuses_lookup_file(tmp_path, secret, capsys):
    from hgq_compat.cli import main

    p = tmp_path / "lookup.json"
    p.write_text(
        json.dumps(_legacy({"class_name": "StringLookup", "config": {"name": "lk", "vocabulary": str(secret)}}))
    )
    out = tmp_path / "out"
    out.mkdir()
    assert main(["convert", str(p), "-o", str(out / "m.keras")]) == 1
    err = capsys.readouterr().err
    assert "layer 'lk' (StringLookup)" in err and str(secret) in err and SECRET not in err
    assert list(out.iterdir()) == []
    with pytest.raises(LegacyConversionError, match="StringLookup"):
        convert_qkeras_model(p)
