"""Saved QKeras models (Keras 2 HDF5 / JSON, qkeras-v3 ``.keras``) to Keras 3 hgq_compat models.

``convert_qkeras_model(path, weights=None, hgq=False)`` is the entry point; the files are
read with h5py only (no TensorFlow Keras 2, no qkeras) and never modified.
"""

from .converter import (
    ConversionResult,
    LayerReport,
    build_from_config,
    convert,
    convert_qkeras_model,
    load_legacy_weights,
    reinitialize_bitwidths,
)
from .reader import LegacyConversionError, LegacyNotImplementedError, LegacySource, read_source

__all__ = [
    "ConversionResult",
    "LayerReport",
    "LegacyConversionError",
    "LegacyNotImplementedError",
    "LegacySource",
    "build_from_config",
    "convert",
    "convert_qkeras_model",
    "load_legacy_weights",
    "read_source",
    "reinitialize_bitwidths",
]
