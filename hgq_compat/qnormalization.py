"""QKeras module path ``qkeras.qnormalization``: re-exports."""

from .layers import QBatchNormalization

__all__ = ["QBatchNormalization"]
