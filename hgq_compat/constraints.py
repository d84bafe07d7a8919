"""QKeras' automatic weight range handling: the `Clip` constraint and `QInitializer`.

QKeras layers given a weight quantizer wrap the weight's constraint in
``Clip(-m, m)`` with ``m = max(1, quantizer.max())``, and its initializer in a
`QInitializer` (unless the quantizer uses alpha='auto'/'auto_po2'); both show in configs.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from .quantizers import get_quantizer, serialize_quantizer


@keras.saving.register_keras_serializable(package="qkeras")
class Clip(keras.constraints.Constraint):
    """Clips weights to [min_value, max_value] after an optional inner constraint."""

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, constraint: Any = None, quantizer: Any = None):
        self.min_value = min_value
        self.max_value = max_value
        self.constraint = keras.constraints.get(constraint)
        if isinstance(self.constraint, Clip):
            self.constraint = None
        self.quantizer = get_quantizer(quantizer)

    def __call__(self, w: Any) -> Any:
        if self.constraint:
            w = self.constraint(w)
            if self.quantizer:
                w = self.quantizer(w)
        return ops.clip(w, self.min_value, self.max_value)

    def get_config(self) -> dict:
        return {"min_value": self.min_value, "max_value": self.max_value}

    @classmethod
    def from_config(cls, config: dict) -> "Clip":
        config = dict(config)
        if isinstance(config.get("constraint"), Clip):
            config["constraint"] = None
        return cls(**config)


@keras.saving.register_keras_serializable(package="qkeras")
class QInitializer(keras.initializers.Initializer):
    """Wraps an initializer: rescales it when the quantizer's resolution exceeds the values'
    spread, and clips to the quantizer's range (QKeras behaviour)."""

    def __init__(self, initializer: Any, use_scale: bool, quantizer: Any):
        self.initializer = keras.initializers.get(initializer)
        self.use_scale = use_scale
        self.quantizer = get_quantizer(quantizer)

    def __call__(self, shape: Any, dtype: Any = None) -> Any:
        x = ops.convert_to_numpy(self.initializer(shape, dtype))
        qmax = float(self.quantizer.max())
        delta = qmax * 2.0 ** -float(self.quantizer.bits)
        if delta > np.std(x) and hasattr(self.initializer, "scale"):
            q = ops.convert_to_numpy(self.quantizer(x))
            if np.max(np.abs(q)) == 0.0:
                scale = qmax / np.sqrt(np.mean(x * x))
            else:
                scale = np.sum(q * q) / np.sum(q * x)
            self.initializer.scale *= max(float(scale), 1.0)
            x = ops.convert_to_numpy(self.initializer(shape, dtype))
        return ops.convert_to_tensor(np.clip(x, -qmax, qmax), dtype=dtype or "float32")

    def get_config(self) -> dict:
        return {
            "initializer": keras.initializers.serialize(self.initializer),
            "use_scale": self.use_scale,
            "quantizer": serialize_quantizer(self.quantizer),
        }


def get_constraint(identifier: Any, quantizer: Any) -> Any:
    """QKeras' ``get_constraint``: the given constraint, or ``Clip`` from the quantizer's max()."""
    if identifier:
        if isinstance(identifier, dict) and identifier.get("class_name") == "Clip":
            return Clip.from_config(identifier["config"])
        return keras.constraints.get(identifier)
    max_value = max(1.0, float(quantizer.max())) if hasattr(quantizer, "max") else 1.0
    return Clip(-max_value, max_value, identifier, quantizer)


def get_initializer(identifier: Any) -> Any:
    """QKeras' ``get_initializer``: None, a `QInitializer` from its config dict, or ``keras.initializers.get``."""
    if identifier is None:
        return None
    if isinstance(identifier, dict) and identifier.get("class_name") == "QInitializer":
        return QInitializer.from_config(identifier["config"])
    if isinstance(identifier, (dict, str)):
        return keras.initializers.get(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret initializer identifier: {identifier!r}")


def get_auto_range_constraint_initializer(quantizer: Any, constraint: Any, initializer: Any) -> tuple[Any, Any]:
    """QKeras' automatic (constraint, initializer) for a weight with ``quantizer``."""
    if quantizer is None:
        return constraint, initializer
    constraint = get_constraint(constraint, quantizer)
    if isinstance(initializer, dict) and initializer.get("class_name") == "QInitializer":
        initializer = QInitializer(**initializer["config"])
    initializer = keras.initializers.get(initializer)
    name = type(initializer).__name__ if initializer is not None else None
    if initializer is not None and name not in ("Ones", "Zeros", "QInitializer"):
        if not isinstance(getattr(quantizer, "alpha", None), str) and hasattr(quantizer, "max"):
            initializer = QInitializer(initializer, use_scale=True, quantizer=quantizer)
    return constraint, initializer
