"""QKeras quantizers on Keras 3: same names, signatures, strings and numbers as QKeras 0.9.0.

Each quantizer is a callable object (QKeras-mode numbers, straight-through gradient) that
also lowers itself to a `QuantSpec`. Layers use the spec to build an HGQ
`FixedPointQuantizer` in HGQ mode; quantizers that are not fixed point refuse HGQ mode.
"""

from .activations import quantized_hswish, quantized_sigmoid, quantized_tanh, quantized_ulaw
from .base import (
    QUANTIZERS,
    BaseQuantizer,
    QKerasModeQuantizer,
    get_quantizer,
    is_quantizer,
    make_quantizer_layer,
    register_quantizer,
    serialize_quantizer,
)
from .binary import bernoulli, binary, stochastic_binary, stochastic_ternary, ternary
from .fixed import quantized_bits, quantized_relu
from .functions import (  # noqa: F401 (QKeras private names its tests import)
    _default_sigmoid_type,
    _get_integer_bits,
    binary_sigmoid,
    binary_tanh,
    get_internal_sigmoid,
    get_quantized_initializer,
    get_weight_scale,
    hard_sigmoid,
    hard_tanh,
    set_internal_sigmoid,
    smooth_sigmoid,
    smooth_tanh,
    stochastic_round,
    stochastic_round_po2,
)
from .linear import quantized_linear
from .po2 import quantized_po2, quantized_relu_po2

__all__ = [
    "QUANTIZERS",
    "BaseQuantizer",
    "QKerasModeQuantizer",
    "get_quantizer",
    "is_quantizer",
    "make_quantizer_layer",
    "quantized_bits",
    "quantized_linear",
    "quantized_relu",
    "register_quantizer",
    "serialize_quantizer",
    "quantized_tanh",
    "quantized_sigmoid",
    "quantized_ulaw",
    "quantized_hswish",
    "quantized_po2",
    "quantized_relu_po2",
    "binary",
    "stochastic_binary",
    "ternary",
    "stochastic_ternary",
    "bernoulli",
    "set_internal_sigmoid",
    "get_internal_sigmoid",
    "hard_sigmoid",
    "smooth_sigmoid",
    "binary_sigmoid",
    "hard_tanh",
    "smooth_tanh",
    "binary_tanh",
    "get_weight_scale",
    "get_quantized_initializer",
    "stochastic_round",
    "stochastic_round_po2",
]
from .scale import (
    _get_least_squares_scale,
    _get_rolled_back_shape,
    _get_scale,  # noqa: E402,F401 (QKeras master)
    _get_scaling_axis,
    _get_unrolled_shape,
)
