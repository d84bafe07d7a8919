"""QKeras module path ``qkeras.qdepthwiseconv2d_batchnorm``: re-exports."""

from .layers import QDepthwiseConv2DBatchnorm

__all__ = ["QDepthwiseConv2DBatchnorm"]
