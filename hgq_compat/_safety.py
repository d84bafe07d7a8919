"""Refusing saved model configs that would read files or run code when the model is rebuilt.

Every loader (`hgq_compat.legacy.convert`, `load_qmodel`, `quantized_model_from_json`,
``hgq-compat synth``) calls `check_config` on the saved config before building anything and
then deserializes inside Keras' safe mode (`safe_mode_scope`). The check does not depend on the
Keras version: it refuses, by class name, layers that run Python code stored in the file
(Lambda and its TensorFlow variants), layers that load a TensorFlow SavedModel from a path
(TFSMLayer) and lookup layers whose ``vocabulary`` is a file path (StringLookup, IntegerLookup,
TextVectorization), whose file would be read and copied into any re-saved model.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any, Iterator

#: Layer classes whose config holds Python code (marshalled bytecode or a function reference).
CODE_LAYERS = frozenset({"Lambda", "TFOpLambda", "SlicingOpLambda", "TFLambda"})

#: Layer classes that load a TensorFlow SavedModel from a path when built.
SAVEDMODEL_LAYERS = frozenset({"TFSMLayer"})

#: Layer classes whose ``vocabulary`` may be a path to a text file (Keras reads it when built).
LOOKUP_LAYERS = frozenset({"StringLookup", "IntegerLookup", "TextVectorization", "IndexLookup"})


@dataclasses.dataclass(frozen=True)
class UnsafeLayer:
    """A layer of a saved config that is refused, and why."""

    layer: str | None
    class_name: str
    why: str


def refusal_reason(class_name: str, config: dict) -> str | None:
    """Why a layer of class ``class_name`` with saved ``config`` is refused, or None."""
    if class_name in CODE_LAYERS:
        return (
            f"{class_name} layers are refused: loading one would run Python code stored in the file. "
            "Rebuild that part of the model in code and load the remaining weights"
        )
    if class_name in SAVEDMODEL_LAYERS:
        target = config.get("filepath")
        return (
            f"{class_name} layers are refused: loading one would read the TensorFlow SavedModel "
            f"{str(target)[:200]!r} outside the model file and run its graph"
        )
    if class_name in LOOKUP_LAYERS:
        vocabulary = config.get("vocabulary")
        if isinstance(vocabulary, str):
            return (
                f"{class_name} with a vocabulary file is refused: loading it would read the file "
                f"{vocabulary[:200]!r} outside the model file. Save the model with the vocabulary inlined "
                "(a list)"
            )
    return None


MAX_CONFIG_DEPTH = 100
"""Deepest nesting of dicts and lists accepted in a model config (Keras writes about 15)."""


def config_depth(config: Any, limit: int = MAX_CONFIG_DEPTH) -> int:
    """Nesting depth of dicts and lists in ``config``, counted iteratively up to ``limit + 1``."""
    deepest, stack = 0, [(config, 1)]
    while stack:
        obj, depth = stack.pop()
        if isinstance(obj, (dict, list)):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            stack.extend((v, depth + 1) for v in (obj.values() if isinstance(obj, dict) else obj))
    return deepest


def find_unsafe(config: Any) -> UnsafeLayer | None:
    """The first refused layer anywhere in a model config (nested models included), or None.

    The walk is iterative, so a hostile, deeply nested config cannot exhaust the stack."""
    stack: list[tuple[Any, str | None]] = [(config, None)]  # (object, name of the layer holding it)
    while stack:
        obj, owner = stack.pop()
        if isinstance(obj, dict):
            class_name = obj.get("class_name")
            cfg = obj.get("config")
            name = cfg.get("name") if isinstance(cfg, dict) else None
            name = name if isinstance(name, str) else obj.get("name")
            owner = name if isinstance(name, str) else owner
            if (
                class_name == "function"
                and isinstance(cfg, str)
                and cfg.rsplit(".", 1)[-1] in (CODE_LAYERS | SAVEDMODEL_LAYERS)
            ):  # a reference to the class itself, called as a function
                class_name, cfg = cfg.rsplit(".", 1)[-1], {}
            if isinstance(class_name, str):
                why = refusal_reason(class_name, cfg if isinstance(cfg, dict) else {})
                if why is not None:
                    return UnsafeLayer(owner, class_name, why)
            stack.extend((v, owner) for v in reversed(list(obj.values())))
        elif isinstance(obj, list):
            stack.extend((v, owner) for v in reversed(obj))
    return None


class UnsafeModelError(ValueError):
    """A saved model holding a layer that would read a file or run code when loaded."""

    def __init__(self, path: str | None, unsafe: UnsafeLayer):
        self.path = path
        self.layer = unsafe.layer
        self.class_name = unsafe.class_name
        where = f"{path}: " if path else ""
        super().__init__(f"{where}layer {unsafe.layer!r} ({unsafe.class_name}): {unsafe.why}")


def check_config(config: Any, path: str | None = None) -> None:
    """Raise `UnsafeModelError` naming ``path`` and the layer if the config is refused (`find_unsafe`)."""
    unsafe = find_unsafe(config)
    if unsafe is not None:
        raise UnsafeModelError(path, unsafe)


@contextlib.contextmanager
def safe_mode_scope() -> Iterator[None]:
    """Keras' safe mode for everything deserialized inside, whatever
    `keras.config.enable_unsafe_deserialization` set globally."""
    from keras.src.saving.serialization_lib import SafeModeScope

    with SafeModeScope(True):
        yield


__all__ = [
    "MAX_CONFIG_DEPTH",
    "config_depth",
    "CODE_LAYERS",
    "LOOKUP_LAYERS",
    "SAVEDMODEL_LAYERS",
    "UnsafeLayer",
    "UnsafeModelError",
    "check_config",
    "find_unsafe",
    "refusal_reason",
    "safe_mode_scope",
]
