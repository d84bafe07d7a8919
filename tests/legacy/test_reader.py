"""reader: Keras 2 HDF5 (full model, weights only), model JSON and .keras archives, with h5py only."""

from __future__ import annotations

import shutil
import sys

import pytest

from hgq_compat.legacy import reader
from hgq_compat.legacy.reader import LegacyConversionError

from .helpers import MODELS_DIR, PUBLISHED_DIR, V3_ARCHIVE, sha256


def test_full_model_h5():
    src = reader.read_source(MODELS_DIR / "mlp.h5")
    assert src.kind == "h5" and src.keras_version == "2.19.0"
    assert src.config["class_name"] == "Sequential"
    ws = src.weights.get("fc1")
    assert [w.short_name for w in ws] == ["kernel", "bias"]
    assert ws[0].value.shape == (16, 8) or ws[0].value.ndim == 2


def test_json_plus_weights_keras24():
    src = reader.read_source(PUBLISHED_DIR / "qkeras_mnist_cnn.json", PUBLISHED_DIR / "qkeras_mnist_cnn_weights.h5")
    assert src.kind == "json" and src.keras_version == "2.4.0"
    assert [w.name for w in src.weights.get("q_conv2d")] == ["q_conv2d/kernel:0", "q_conv2d/bias:0"]
    assert src.weights.get("q_conv2d")[0].value.shape == (3, 3, 1, 16)
    assert src.weights.get("flatten") == []


def test_json_without_weights_has_no_store():
    src = reader.read_source(MODELS_DIR / "mlp.json")
    assert src.weights is None


def test_nested_group_keeps_inner_names():
    src = reader.read_source(MODELS_DIR / "nested.h5")
    assert [w.name for w in src.weights.get("inner")] == ["inner_fc/kernel:0", "inner_fc/bias:0"]


def test_keras3_archive():
    src = reader.read_source(V3_ARCHIVE)
    assert src.kind == "keras" and src.keras_version.startswith("3.")
    assert src.weights.positional
    assert [w.value.shape for w in src.weights.get("fc1")] == [(16, 64), (64,)]
    assert src.weights.get("relu1") == []


def test_weights_only_h5_as_model_is_refused():
    with pytest.raises(LegacyConversionError, match="weights-only"):
        reader.read_source(MODELS_DIR / "mlp_weights.h5")


def test_reader_does_not_import_tf_keras_or_qkeras():
    reader.read_source(MODELS_DIR / "branch.h5")
    assert "qkeras" not in sys.modules and "tf_keras" not in sys.modules


def test_files_opened_read_only(tmp_path):
    p = tmp_path / "mlp.h5"
    shutil.copy(MODELS_DIR / "mlp.h5", p)
    before = sha256(p)
    reader.read_source(p)
    assert sha256(p) == before


def test_missing_file_named():
    with pytest.raises(LegacyConversionError, match="nope.h5.*does not exist"):
        reader.read_source("nope.h5")
