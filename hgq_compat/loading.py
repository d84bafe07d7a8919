"""The one model loader: `load_model` picks the reader by a file's content, like
``keras.saving.load_model``. Keras 3 files written by hgq_compat load through Keras in safe mode
(their config checked first); QKeras files (Keras 2 ``.h5``, model JSON + weights, qkeras-v3
``.keras``) are converted by `hgq_compat.legacy`. `load_qmodel`, ``hgq-compat convert/synth/report``
and the hls4ml plugin all load through it."""

from __future__ import annotations

import json
import os
from typing import Any

import keras

from ._objects import _custom_objects
from ._safety import check_config, safe_mode_scope


def _is_legacy_config(config: Any) -> bool:
    """True for a config saved by QKeras / Keras 2 / qkeras-v3 (not by Keras 3 hgq_compat)."""
    if isinstance(config, dict) and str(config.get("keras_version", "")).startswith("2."):
        return True

    def walk(obj: Any) -> bool:
        if isinstance(obj, dict):
            module = str(obj.get("module") or "")
            if module.startswith("hgq_compat"):  # our own objects (Clip, QInitializer keep QKeras's registered names)
                return False
            if module.startswith("qkeras") or str(obj.get("registered_name") or "").startswith("qkeras>"):
                return True
            if "batch_input_shape" in obj or "__passive_serialization__" in obj:
                return True
            return any(walk(v) for v in obj.values())
        if isinstance(obj, list):
            return any(walk(v) for v in obj)
        return False

    return walk(config)


def is_keras3_h5(path: str) -> bool:
    """True for an HDF5 model file written by Keras 3 (``model.save('m.h5')``), which Keras
    loads itself; QKeras / Keras 2 files are converted instead."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            version = f.attrs.get("keras_version", b"")
    except OSError:
        return False
    version = version.decode() if isinstance(version, bytes) else str(version)
    return version.startswith("3.")


def _keras3_config(path: str) -> dict | None:
    """The model config of a Keras 3 file written by hgq_compat/Keras 3, None for a QKeras file."""
    from .legacy.reader import ZIP_SIGNATURE

    with open(path, "rb") as fh:
        head = fh.read(4)
    if head == ZIP_SIGNATURE:
        import zipfile

        try:
            with zipfile.ZipFile(path) as zf:
                config = json.loads(zf.read("config.json"))
        except Exception:  # noqa: BLE001 - not a Keras archive we can read: the legacy reader says why
            return None
        return None if _is_legacy_config(config) else config
    if is_keras3_h5(path):
        import h5py

        with h5py.File(path, "r") as f:
            raw = f.attrs.get("model_config")
        config = json.loads(raw.decode() if isinstance(raw, bytes) else raw) if raw is not None else {}
        return None if isinstance(config, dict) and _is_legacy_config(config) else config
    return None


def load_model(
    path: str | os.PathLike,
    weights: str | os.PathLike | None = None,
    *,
    custom_objects: dict | None = None,
    compile: bool = False,
    hgq: bool = False,
) -> keras.Model:
    """A model from a file, whatever wrote it.

    Args:
        path: ``.keras`` archive or ``.h5`` written by Keras 3 / hgq_compat (loaded by Keras in safe
            mode), or a QKeras file: Keras 2 full-model ``.h5``, model ``.json``, qkeras-v3 ``.keras``
            (converted, with QKeras' numbers).
        weights: the weights ``.h5`` of a model ``.json`` (QKeras files only).
        custom_objects: extra classes by name.
        compile: compile a Keras 3 file's saved training config (converted models are not compiled).
        hgq: convert QKeras quantizers to HGQ mode (trainable bitwidths); QKeras files only.

    Raises:
        FileNotFoundError: ``path`` (or ``weights``) does not exist.
        hgq_compat.legacy.LegacyConversionError: a file that is no model, naming it and what is accepted.
        hgq_compat._safety.UnsafeModelError: a model that would run code or read other files.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: model file does not exist")
    if weights is not None and not os.path.exists(os.fspath(weights)):
        raise FileNotFoundError(f"{os.fspath(weights)}: weights file does not exist")
    config = _keras3_config(path)
    if config is None:
        from .legacy import convert_qkeras_model

        return convert_qkeras_model(path, weights, hgq=hgq, custom_objects=custom_objects)
    if weights is not None:
        raise ValueError(
            f"{path}: a Keras 3 model file holds its weights; weights={os.fspath(weights)!r} is only "
            "accepted with a QKeras model .json"
        )
    check_config(config, path)
    with safe_mode_scope():
        return keras.saving.load_model(
            path, custom_objects=_custom_objects(custom_objects), compile=compile, safe_mode=True
        )


__all__ = ["is_keras3_h5", "load_model"]
