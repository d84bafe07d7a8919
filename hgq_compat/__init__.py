"""hgq-compat: QKeras on Keras 3, with High Granularity Quantization.

Swap ``qkeras`` for ``hgq_compat`` in your imports; numbers stay QKeras's own. Turn on HGQ
(trainable per-element bitwidths, EBOPs-regularized training) per layer with ``mode='hgq'``
or for a whole model with ``quantization_config(mode='hgq')``.
"""

__version__ = "0.1.0"

from .core import FixedPointQuantizer, QuantSpec, QuantizationConfig, quantization_config
from .layers import QActivation, QConv1D, QConv2D, QDense
from .quantizers import get_quantizer, quantized_bits, quantized_relu
from .training import FreeEBOPs, layer_ebops, model_ebops, reset_minmax, set_beta, trace_minmax

__all__ = [
    "FixedPointQuantizer", "FreeEBOPs", "QActivation", "QConv1D", "QConv2D", "QDense", "QuantSpec",
    "QuantizationConfig", "get_quantizer", "layer_ebops", "model_ebops", "quantization_config",
    "quantized_bits", "quantized_relu", "reset_minmax", "set_beta", "trace_minmax", "__version__",
]
