"""QKeras ``qkeras.autoqkeras``: AutoQKeras and AutoQKerasScheduler (QKeras' signatures; the search
is HGQ training toward the goal, see `autoqkeras_internal`), the forgiving factors, the default
quantization config and the model-summary helper."""

from .autoqkeras_internal import Q_LAYERS, REGISTERED_LAYERS, SEQUENCE_LAYERS, AutoQKeras, AutoQKerasScheduler
from .quantization_config import default_quantization_config
from .utils import print_qmodel_summary

__all__ = [
    "AutoQKeras",
    "AutoQKerasScheduler",
    "Q_LAYERS",
    "REGISTERED_LAYERS",
    "SEQUENCE_LAYERS",
    "default_quantization_config",
    "print_qmodel_summary",
]
