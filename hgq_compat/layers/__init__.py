"""Quantized layers: one shared base (`QuantizedLayerMixin`) and thin QKeras-named classes."""

from .activation import QActivation
from .base import QuantizedLayerMixin
from .conv import QConv1D, QConv2D
from .dense import QDense

__all__ = ["QActivation", "QConv1D", "QConv2D", "QDense", "QuantizedLayerMixin"]
