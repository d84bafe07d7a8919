"""HGQ machinery: fixed-point quantization, bitwidth variables, EBOPs, config scopes.

Knows nothing about QKeras.
"""

from .config import QuantizationConfig, current_config, quantization_config
from .quantizer import FixedPointQuantizer
from .spec import QuantSpec

__all__ = ["FixedPointQuantizer", "QuantSpec", "QuantizationConfig", "current_config", "quantization_config"]
