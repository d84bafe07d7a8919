"""QKeras module path ``qkeras.qmac`` (QKeras master): re-exports."""

from .layers.scale_shift import QScaleShift

__all__ = ["QScaleShift"]
