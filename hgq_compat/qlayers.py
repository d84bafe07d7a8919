"""QKeras module path ``qkeras.qlayers``: re-exports."""

from .constraints import Clip, QInitializer, get_auto_range_constraint_initializer, get_constraint, get_initializer
from .layers import QActivation, QAdaptiveActivation, QDense
from .quantizers import *  # noqa: F401,F403 (QKeras' qlayers re-exports its quantizers)
from .quantizers import get_quantizer

__all__ = [
    "Clip",
    "QActivation",
    "QAdaptiveActivation",
    "QDense",
    "QInitializer",
    "get_auto_range_constraint_initializer",
    "get_constraint",
    "get_initializer",
    "get_quantizer",
]
