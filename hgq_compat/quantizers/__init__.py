"""QKeras quantizers on Keras 3: same names, signatures, strings and numbers as QKeras 0.9.0.

Each quantizer is a callable object (QKeras-mode numbers, straight-through gradient) that
also lowers itself to a `QuantSpec`. Layers use the spec to build an HGQ
`FixedPointQuantizer` in HGQ mode; quantizers that are not fixed point refuse HGQ mode.
"""

from .base import (QUANTIZERS, BaseQuantizer, QKerasModeQuantizer, get_quantizer, is_quantizer,
                   make_quantizer_layer, register_quantizer, serialize_quantizer)
from .fixed import quantized_bits, quantized_relu

__all__ = [
    "QUANTIZERS", "BaseQuantizer", "QKerasModeQuantizer", "get_quantizer", "is_quantizer", "make_quantizer_layer",
    "quantized_bits", "quantized_relu", "register_quantizer", "serialize_quantizer",
]
