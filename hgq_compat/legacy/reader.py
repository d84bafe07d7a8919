"""Reading saved QKeras / Keras 2 models with h5py only (no TensorFlow, no tf_keras, no qkeras).

Three layouts are understood (NOTES.md section 2):

* ``.h5`` full model: a ``model_config`` attribute (JSON) on the root; weights under
  ``model_weights/<layer>/...``;
* model JSON plus a weights ``.h5`` written by ``save_weights``: layer groups at the root;
* qkeras-v3 / Keras 3 ``.keras`` zip archives (``config.json`` + ``model.weights.h5``).

The result is a `LegacySource`: the raw model config and a `WeightStore` that hands out each
layer's saved arrays by layer name, in saved order, with their saved names. The files are
opened read-only and never modified.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import zipfile
from typing import Any

import numpy as np

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ZIP_SIGNATURE = b"PK\x03\x04"


MAX_MESSAGE = 1000
"""Longest explanation an error message carries (characters): a hostile file is never echoed whole."""


class LegacyConversionError(ValueError):
    """A saved model that cannot be converted; the message names the file and, where known, the layer."""

    def __init__(self, path: str | None, why: str, layer: str | None = None, class_name: str | None = None):
        if len(why) > MAX_MESSAGE:
            why = why[: MAX_MESSAGE - 3] + "..."
        if layer is not None and len(layer) > 200:
            layer = layer[:197] + "..."
        self.path = path
        self.layer = layer
        self.class_name = class_name
        self.why = why
        where = str(path) if path else "<config>"
        if layer is not None:
            where += f": layer {layer!r}"
            if class_name:
                where += f" ({class_name})"
        super().__init__(f"{where}: {why}")


class LegacyNotImplementedError(LegacyConversionError, NotImplementedError):
    """The saved model uses a QKeras class or quantizer that hgq_compat does not provide (yet)."""


@dataclasses.dataclass
class SavedWeight:
    name: str  # saved name, e.g. 'fc1/kernel:0' (Keras 2) or 'vars/0' (Keras 3, positional)
    value: np.ndarray

    @property
    def short_name(self) -> str:
        """Last path component without the ':0' suffix ('kernel')."""
        base = self.name.rsplit("/", 1)[-1]
        return base.split(":", 1)[0]


class WeightStore:
    """Saved weights by top-level layer name; ``positional`` when names carry no meaning (Keras 3 files)."""

    def __init__(
        self,
        path: str,
        layers: dict[str, list[SavedWeight]],
        positional: bool = False,
        nested: dict[str, dict[str, list[SavedWeight]]] | None = None,
    ):
        self.path = path
        self.layers = layers
        self.positional = positional
        self.nested = nested or {}

    def has_layer(self, name: str) -> bool:
        return name in self.layers

    def get(self, name: str) -> list[SavedWeight]:
        return list(self.layers.get(name, []))

    def __repr__(self) -> str:
        return f"WeightStore({self.path!r}, {len(self.layers)} layers)"


@dataclasses.dataclass
class LegacySource:
    """A saved model: where it came from, its raw config and its weights (None: config only)."""

    path: str
    kind: str  # 'h5', 'json' or 'keras'
    config: dict
    weights: WeightStore | None
    weights_path: str | None = None
    keras_version: str | None = None


# ---------------------------------------------------------------------------- helpers


def _decode(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray):
        return [_decode(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_decode(v) for v in value]
    return value


def _signature(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(8)


def _check_exists(path: str) -> None:
    if not os.path.exists(path):
        raise LegacyConversionError(path, "file does not exist")
    if os.path.isdir(path):
        raise LegacyConversionError(path, "is a directory, not a saved model file")


def _open_h5(path: str) -> Any:
    import h5py

    _check_exists(path)
    if _signature(path) != HDF5_SIGNATURE:
        raise LegacyConversionError(
            path, "not an HDF5 file (no HDF5 signature); expected a Keras 2 '.h5' model or weights file"
        )
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise LegacyConversionError(path, f"cannot read the HDF5 file; it may be truncated or corrupt ({exc})") from exc


def _read_dataset(path: str, layer: str, ds: Any) -> np.ndarray:
    try:
        return np.asarray(ds[()])
    except Exception as exc:  # h5py raises OSError/KeyError on truncated data
        raise LegacyConversionError(
            path, f"cannot read weight {ds.name!r}; the file may be truncated ({exc})", layer=layer
        ) from exc


def _layer_group_weights(path: str, group: Any, layer: str) -> list[SavedWeight]:
    """Weights of one Keras 2 layer group, in saved order (the ``weight_names`` attribute)."""
    names = _decode(group.attrs.get("weight_names", []))
    if isinstance(names, str):
        names = [names]
    out = []
    for name in names:
        try:
            ds = group[name]
        except Exception as exc:
            raise LegacyConversionError(
                path, f"weight {name!r} is listed but missing from the file ({exc})", layer=layer
            ) from exc
        out.append(SavedWeight(name, _read_dataset(path, layer, ds)))
    return out


def _keras2_weight_store(path: str, root: Any) -> WeightStore:
    """Weights of a Keras 2 HDF5 group holding one sub-group per layer."""
    layer_names = _decode(root.attrs.get("layer_names", []))
    if isinstance(layer_names, str):
        layer_names = [layer_names]
    if not layer_names:
        layer_names = [k for k in root.keys() if k != "top_level_model_weights"]
    layers: dict[str, list[SavedWeight]] = {}
    for name in layer_names:
        if name not in root:
            raise LegacyConversionError(path, "listed in 'layer_names' but its weight group is missing", layer=name)
        layers[name] = _layer_group_weights(path, root[name], name)
    return WeightStore(path, layers)


def _model_config_from_attr(path: str, f: Any) -> dict | None:
    raw = f.attrs.get("model_config")
    if raw is None:
        return None
    try:
        return json.loads(_decode(raw))
    except RecursionError as exc:
        raise LegacyConversionError(path, "the 'model_config' attribute is nested too deeply") from exc
    except ValueError as exc:
        raise LegacyConversionError(path, f"the 'model_config' attribute is not valid JSON ({exc})") from exc


# ---------------------------------------------------------------------------- entry points


def read_weights_h5(path: str) -> WeightStore:
    """A Keras 2 weights file (``save_weights``) or the weights of a full-model ``.h5``."""
    path = os.fspath(path)
    with _open_h5(path) as f:
        root = f["model_weights"] if "model_weights" in f else f
        if "layer_names" not in root.attrs and not any(isinstance(root[k], _h5_group()) for k in root.keys()):
            raise LegacyConversionError(path, "holds no Keras layer weights ('layer_names' attribute missing)")
        return _keras2_weight_store(path, root)


def _h5_group() -> type:
    import h5py

    return h5py.Group


_KERAS3_CHILD_FIRST = ("forward_layer", "backward_layer")
"""Keras 3 saves sub-layers under their attribute names, alphabetically; a ``Bidirectional``'s ``weights`` list
has the forward layer first, so these two come first (then the others alphabetically)."""

MAX_KERAS3_DEPTH = 16
"""Deepest sub-layer nesting read inside one Keras 3 layer group (Keras writes at most a few levels)."""


def _keras3_var_key(key: str) -> tuple:
    return (0, int(key), "") if key.isdigit() else (1, 0, key)


def _keras3_layer_weights(path: str, name: str, group: Any, prefix: str = "", depth: int = 0) -> list[SavedWeight]:
    """One Keras 3 layer group's variables: its own ``vars/<i>`` (numbered first, then named ones such as
    ``vars/iteration``), then each sub-layer's (``cell``, ``forward_layer``, ``layer``, ``batchnorm``...),
    each named by its path inside the group (``forward_layer/cell/vars/0``)."""
    import h5py

    if depth > MAX_KERAS3_DEPTH:
        raise LegacyConversionError(path, f"sub-layers nested more than {MAX_KERAS3_DEPTH} levels deep", layer=name)
    out = []
    vars_group = group.get("vars")
    if vars_group is not None:
        for key in sorted(vars_group.keys(), key=_keras3_var_key):
            out.append(SavedWeight(f"{prefix}vars/{key}", _read_dataset(path, name, vars_group[key])))
    children = [k for k in group if k not in ("vars", "layers") and isinstance(group[k], h5py.Group)]
    children.sort(
        key=lambda k: (_KERAS3_CHILD_FIRST.index(k) if k in _KERAS3_CHILD_FIRST else len(_KERAS3_CHILD_FIRST), k)
    )
    for key in children:
        out.extend(_keras3_layer_weights(path, name, group[key], f"{prefix}{key}/", depth + 1))
    return out


def read_keras3_weights(path: str, data: bytes | None = None) -> WeightStore:
    """Keras 3 ``model.weights.h5``: ``layers/<auto name>/vars/<i>`` (and sub-layer groups such as
    ``layers/<auto name>/cell/vars/<i>``), layer names from the ``name`` attribute of ``vars``."""
    import h5py

    try:
        f = h5py.File(io.BytesIO(data), "r") if data is not None else h5py.File(path, "r")
    except OSError as exc:
        raise LegacyConversionError(path, f"cannot read model.weights.h5; it may be truncated ({exc})") from exc
    layers: dict[str, list[SavedWeight]] = {}
    nested: dict[str, dict[str, list[SavedWeight]]] = {}
    with f:
        group = f.get("layers")
        if group is None:
            return WeightStore(path, layers, positional=True)
        for auto_name in group.keys():
            lg = group[auto_name]
            vars_group = lg.get("vars")
            name = _decode(vars_group.attrs.get("name")) if vars_group is not None else None
            name = name or auto_name
            layers[name] = _keras3_layer_weights(path, name, lg)
            if "layers" in lg:  # a nested model
                sub = {}
                for inner in lg["layers"].keys():
                    ig = lg["layers"][inner]
                    iv = ig.get("vars")
                    iname = (_decode(iv.attrs.get("name")) if iv is not None else None) or inner
                    sub[iname] = _keras3_layer_weights(path, iname, ig)
                nested[name] = sub
    return WeightStore(path, layers, positional=True, nested=nested)


def read_keras_archive(path: str, check_config: Any = None) -> LegacySource:
    """A ``.keras`` zip archive (qkeras-v3 / Keras 3); ``check_config(config)`` runs before the
    weights are read."""
    _check_exists(path)
    if _signature(path)[:4] != ZIP_SIGNATURE:
        raise LegacyConversionError(path, "not a Keras archive (not a zip file)")
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if "config.json" not in names:
                raise LegacyConversionError(path, "not a Keras archive: no config.json inside the zip")
            config = json.loads(zf.read("config.json"))
            meta = json.loads(zf.read("metadata.json")) if "metadata.json" in names else {}
            if check_config is not None:
                check_config(config)
            weights = None
            if "model.weights.h5" in names:
                weights = read_keras3_weights(path, zf.read("model.weights.h5"))
    except (zipfile.BadZipFile, EOFError, zlib_error()) as exc:
        raise LegacyConversionError(path, f"cannot read the Keras archive; it may be truncated ({exc})") from exc
    except RecursionError as exc:
        raise LegacyConversionError(path, "config.json is nested too deeply") from exc
    except ValueError as exc:
        if isinstance(exc, LegacyConversionError):
            raise
        raise LegacyConversionError(path, f"config.json is not valid JSON ({exc})") from exc
    return LegacySource(path, "keras", config, weights, keras_version=meta.get("keras_version"))


def zlib_error() -> type:
    import zlib

    return zlib.error


def parse_model_json(text: str | bytes | dict, path: str | None = None) -> dict:
    if isinstance(text, dict):
        config = text
    else:
        try:
            config = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise LegacyConversionError(path, f"not a model JSON file ({str(exc)[:200]})") from exc
        except RecursionError as exc:
            raise LegacyConversionError(path, "the model JSON is nested too deeply") from exc
    if not isinstance(config, dict) or "class_name" not in config or "config" not in config:
        raise LegacyConversionError(path, "not a Keras model config (expected keys 'class_name' and 'config')")
    return config


NOT_A_MODEL = (
    "not a model file; accepted: .keras (hgq_compat, Keras 3 or qkeras-v3), .h5 (Keras 3, or a QKeras / "
    "Keras 2 full model), .json (QKeras model config, with its weights .h5)"
)


def read_source(path: Any, weights: Any = None, check_config: Any = None) -> LegacySource:
    """Read a saved model: ``.h5`` (full model), ``.json`` (+ ``weights``), or ``.keras``.

    ``check_config(config)``, if given, is called on the model config before any weight is read."""
    path = os.fspath(path)
    check = check_config or (lambda config: None)
    _check_exists(path)
    sig = _signature(path)
    weights_path = os.fspath(weights) if weights is not None else None
    if sig[:4] == ZIP_SIGNATURE:
        src = read_keras_archive(path, check)
        if weights_path is not None:
            src.weights = _weights_from(weights_path)
            src.weights_path = weights_path
        return src
    if sig == HDF5_SIGNATURE:
        with _open_h5(path) as f:
            config = _model_config_from_attr(path, f)
            version = _decode(f.attrs.get("keras_version"))
        if config is None:
            raise LegacyConversionError(
                path,
                "HDF5 file without a 'model_config' attribute: this is a weights-only file; pass the model "
                "JSON as the model and this file as the weights",
            )
        check(config)
        store = _weights_from(weights_path) if weights_path is not None else read_weights_h5(path)
        return LegacySource(path, "h5", config, store, weights_path=weights_path or path, keras_version=version)
    # otherwise: JSON text
    try:
        with open(path, "rb") as fh:
            text = fh.read()
        text = text.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LegacyConversionError(path, NOT_A_MODEL) from exc
    if not text.lstrip().startswith("{"):
        raise LegacyConversionError(path, NOT_A_MODEL)
    config = parse_model_json(text, path)
    check(config)
    store = _weights_from(weights_path) if weights_path is not None else None
    return LegacySource(
        path, "json", config, store, weights_path=weights_path, keras_version=config.get("keras_version")
    )


def _weights_from(path: str) -> WeightStore:
    _check_exists(path)
    sig = _signature(path)
    if sig[:4] == ZIP_SIGNATURE:
        src = read_keras_archive(path)
        if src.weights is None:
            raise LegacyConversionError(path, "the archive holds no model.weights.h5")
        return src.weights
    if sig == HDF5_SIGNATURE:
        with _open_h5(path) as f:
            keras3 = "layers" in f and "vars" in f and "layer_names" not in f.attrs
        return read_keras3_weights(path) if keras3 else read_weights_h5(path)
    raise LegacyConversionError(path, "weights file is not HDF5 (no HDF5 signature)")


__all__ = [
    "LegacyConversionError",
    "LegacyNotImplementedError",
    "LegacySource",
    "SavedWeight",
    "WeightStore",
    "parse_model_json",
    "read_keras_archive",
    "read_source",
    "read_weights_h5",
]
