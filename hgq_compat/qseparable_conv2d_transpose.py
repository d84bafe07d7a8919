"""QKeras module path ``qkeras.qseparable_conv2d_transpose``: re-exports."""

from .layers import QSeparableConv2DTranspose

__all__ = ["QSeparableConv2DTranspose"]
