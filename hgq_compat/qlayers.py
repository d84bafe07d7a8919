"""QKeras module path ``qkeras.qlayers``: re-exports."""

from .layers import QActivation, QDense
from .quantizers import get_quantizer

__all__ = ["QActivation", "QDense", "get_quantizer"]
