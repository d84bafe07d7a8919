"""Helpers for the legacy-conversion tests: fixture paths, golden access, Keras 2 file writers."""

from __future__ import annotations

import hashlib
import json
import pathlib

import h5py
import numpy as np

from tests import golden

MODELS_DIR = golden.GOLDEN_DIR / "models"
PUBLISHED_DIR = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "published"
V3_ARCHIVE = PUBLISHED_DIR / "qkeras-v3_3layer.keras"

#: Golden models that need a layer class hgq_compat does not provide yet (at the time of writing).
NEEDS = {"convbn": "QConv2DBatchnorm", "strings": "QBatchNormalization", "rnn": "QLSTM"}


def model_case(name: str) -> dict:
    data, _ = golden.load("models")
    return next(m for m in data["models"] if m["name"] == name)


def model_names() -> list[str]:
    data, _ = golden.load("models")
    return [m["name"] for m in data["models"]]


def published_case(name: str) -> dict:
    data, _ = golden.load("published")
    return next(m for m in data["models"] if m["name"] == name)


def published_names() -> list[str]:
    data, _ = golden.load("published")
    return [m["name"] for m in data["models"]]


def arr(section: str, key: str) -> np.ndarray:
    return golden.array(section, key)


def sha256(path) -> str:
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def write_keras2_weights(
    path,
    layers: dict[str, list[tuple[str, np.ndarray]]],
    root_group: str | None = None,
    model_config: dict | None = None,
) -> None:
    """Write a Keras 2 HDF5 weights file (``save_weights`` layout, or a full model with ``model_config``)."""
    with h5py.File(path, "w") as f:
        if model_config is not None:
            f.attrs["model_config"] = json.dumps(model_config)
            f.attrs["keras_version"] = "2.4.0"
            root = f.create_group("model_weights")
        else:
            root = f
        root.attrs["layer_names"] = np.array([n.encode() for n in layers], dtype="S")
        root.attrs["keras_version"] = b"2.4.0"
        root.attrs["backend"] = b"tensorflow"
        for lname, weights in layers.items():
            g = root.create_group(lname)
            g.attrs["weight_names"] = np.array([n.encode() for n, _ in weights], dtype="S")
            for wname, value in weights:
                g.create_dataset(wname, data=np.asarray(value, dtype=np.float32))
