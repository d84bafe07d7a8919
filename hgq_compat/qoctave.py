"""QKeras module path ``qkeras.qoctave``: re-exports (QKeras' float ``OctaveConv2D`` is not ported)."""

from .layers.octave import GetActivationSuffix, QOctaveConv2D

__all__ = ["GetActivationSuffix", "QOctaveConv2D"]
