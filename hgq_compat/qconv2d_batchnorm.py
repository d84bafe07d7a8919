"""QKeras module path ``qkeras.qconv2d_batchnorm``: re-exports."""

from .layers import QConv2DBatchnorm

__all__ = ["QConv2DBatchnorm"]
