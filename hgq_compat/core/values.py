"""Variable values as copies that own their memory, for copying weights between models."""

from __future__ import annotations

from typing import Any

import numpy as np
from keras import ops


def value_copy(variable: Any) -> np.ndarray:
    """A NumPy copy of ``variable``'s value. Assign this, never the variable itself, into another
    model: on JAX ``target.assign(source)`` shares the source's buffer, which the other model's
    jitted training step donates (deletes), and the source model then fails."""
    return np.array(ops.convert_to_numpy(variable))
