"""QKeras module path ``qkeras.qpooling``: re-exports."""

from .layers import QAveragePooling2D, QGlobalAveragePooling2D

__all__ = ["QAveragePooling2D", "QGlobalAveragePooling2D"]
