"""QKeras module path ``qkeras.qconvolutional``: re-exports."""

from .layers import QConv1D, QConv2D, QConv2DTranspose, QDepthwiseConv2D, QSeparableConv1D, QSeparableConv2D

__all__ = ["QConv1D", "QConv2D", "QConv2DTranspose", "QDepthwiseConv2D", "QSeparableConv1D", "QSeparableConv2D"]
