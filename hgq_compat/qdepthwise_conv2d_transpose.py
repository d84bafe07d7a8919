"""QKeras module path ``qkeras.qdepthwise_conv2d_transpose``: re-exports."""

from .layers import QDepthwiseConv2DTranspose

__all__ = ["QDepthwiseConv2DTranspose"]
