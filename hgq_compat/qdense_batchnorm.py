"""QKeras module path ``qkeras.qdense_batchnorm``: re-exports."""

from .layers import QDenseBatchnorm

__all__ = ["QDenseBatchnorm"]
