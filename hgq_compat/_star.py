"""What ``from qkeras import *`` leaks besides QKeras' own names, as Keras 3 objects.

QKeras 0.9.0 has no ``__all__``: its star import hands out every public name of the modules it
star-imports, among them ``np``, ``tf``, ``K``, ``keras`` and Keras layer classes, and scripts rely
on them. ``hgq_compat.__all__`` lists the same names (recorded in
tests/fixtures/qkeras_star_names.json); this module supplies the ones that are not hgq_compat's own.

- ``EAGER``: name -> object, cheap to import (numpy, Keras 3, the standard library).
- ``TF_NAMES``: name -> module path, TensorFlow objects imported on first use (``tf`` only when
  TensorFlow is importable; hgq_compat never imports it otherwise).
- ``UNAVAILABLE``: name -> why it does not exist on Keras 3 and what to use instead.
"""

from __future__ import annotations
import __future__

import importlib
import importlib.util
import logging
import re
import sys
import warnings
from collections import defaultdict
from typing import Any

import keras
import numpy as np

_LAYERS = (
    "Activation",
    "Add",
    "AveragePooling2D",
    "BatchNormalization",
    "Bidirectional",
    "Conv1D",
    "Conv2D",
    "Conv2DTranspose",
    "Dense",
    "DepthwiseConv2D",
    "Dropout",
    "GRUCell",
    "GlobalAveragePooling2D",
    "InputLayer",
    "InputSpec",
    "LSTMCell",
    "Layer",
    "RNN",
    "SeparableConv1D",
    "SeparableConv2D",
    "SimpleRNNCell",
    "UpSampling2D",
)

EAGER: dict[str, Any] = {
    **{name: getattr(keras.layers, name) for name in _LAYERS},
    "Model": keras.Model,
    "Constraint": keras.constraints.Constraint,
    "Initializer": keras.initializers.Initializer,
    "to_categorical": keras.utils.to_categorical,
    "deserialize_keras_object": keras.saving.deserialize_keras_object,
    "keras": keras,
    # Keras 3's backend module, what `import keras.backend as K` gives: epsilon, floatx, clear_session,
    # image_data_format... Keras 2's tensor functions (K.sum, K.eval, ...) are keras.ops / NumPy now.
    "K": keras.backend,
    # QKeras leaked tensorflow.python.framework.ops; on Keras 3 tensor functions live in keras.ops.
    "ops": keras.ops,
    "activations": keras.activations,
    "constraints": keras.constraints,
    "initializers": keras.initializers,
    "regularizers": keras.regularizers,
    "np": np,
    "re": re,
    "sys": sys,
    "logging": logging,
    "warnings": warnings,
    "defaultdict": defaultdict,
    "range": range,  # six.moves.range
    "absolute_import": __future__.absolute_import,
    "division": __future__.division,
    "print_function": __future__.print_function,
}

# The same TensorFlow objects QKeras leaked (TensorFlow is a dependency; imported on first use).
TF_NAMES: dict[str, str] = {
    "tf": "tensorflow",
    "six": "six",
    "array_ops": "tensorflow.python.ops.array_ops",
    "math_ops": "tensorflow.python.ops.math_ops",
    "nn": "tensorflow.python.ops.nn",
    "context": "tensorflow.python.eager.context",
    "nest": "tensorflow.python.util.nest",
    "tf_utils": "tensorflow.python.framework.smart_cond",
    "conv_utils": "tensorflow.python.keras.utils.conv_utils",
}

_TFMOT = (
    "needs tensorflow_model_optimization, which runs on tf-keras (Keras 2) only; prune with HGQ "
    "instead (mode='hgq': bitwidths trained to zero bits prune weights, see migration_guide)"
)
UNAVAILABLE: dict[str, str] = {
    "PrunableLayer": _TFMOT,
    "OctaveConv2D": "qkeras.qoctave's float OctaveConv2D is not ported; use QOctaveConv2D (hgq_compat.qoctave)",
    "QMobileNetSeparableConv2D": "not ported; use QDepthwiseConv2D followed by a 1x1 QConv2D",
    **{
        name: f"pyparsing's {name}, leaked by qkeras.safe_eval; pyparsing is not a dependency: "
        f"`from pyparsing import {name}`"
        for name in ("Group", "Optional", "Regex", "Suppress", "delimitedList")
    },
}


def tf_names() -> list[str]:
    """The TF_NAMES that can be imported here (all of them when TensorFlow is installed)."""
    if importlib.util.find_spec("tensorflow") is None:
        return [
            n
            for n, path in TF_NAMES.items()
            if not path.startswith("tensorflow") and importlib.util.find_spec(path) is not None
        ]
    return list(TF_NAMES)


def lazy(name: str) -> Any:
    """The object for a ``TF_NAMES`` name; AttributeError explaining an ``UNAVAILABLE`` one."""
    if name in TF_NAMES:
        return importlib.import_module(TF_NAMES[name])
    if name in UNAVAILABLE:
        raise AttributeError(f"hgq_compat has no {name!r} (QKeras 0.9.0 exports it): {UNAVAILABLE[name]}")
    raise AttributeError(f"module 'hgq_compat' has no attribute {name!r}")
