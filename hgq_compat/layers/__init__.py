"""Quantized layers: one shared base (`QuantizedLayerMixin`) and thin QKeras-named classes."""

from .activation import QActivation
from .adaptive import QAdaptiveActivation
from .base import QuantizedLayerMixin
from .conv import QConv1D, QConv2D
from .conv_extra import QConv2DTranspose, QDepthwiseConv2D, QSeparableConv1D, QSeparableConv2D
from .conv_transpose import QDepthwiseConv2DTranspose, QSeparableConv2DTranspose
from .dense import QDense
from .folded import QConv2DBatchnorm, QDenseBatchnorm, QDepthwiseConv2DBatchnorm
from .normalization import QBatchNormalization
from .pooling import QAveragePooling2D, QGlobalAveragePooling2D
from .recurrent import QGRU, QLSTM, QBidirectional, QGRUCell, QLSTMCell, QSimpleRNN, QSimpleRNNCell
from .scale_shift import QScaleShift
from .softmax import QSoftmax

__all__ = [
    "QActivation",
    "QAdaptiveActivation",
    "QAveragePooling2D",
    "QBatchNormalization",
    "QBidirectional",
    "QConv1D",
    "QConv2D",
    "QConv2DBatchnorm",
    "QConv2DTranspose",
    "QDense",
    "QDenseBatchnorm",
    "QDepthwiseConv2D",
    "QDepthwiseConv2DBatchnorm",
    "QDepthwiseConv2DTranspose",
    "QGRU",
    "QGRUCell",
    "QGlobalAveragePooling2D",
    "QLSTM",
    "QLSTMCell",
    "QScaleShift",
    "QSeparableConv1D",
    "QSeparableConv2D",
    "QSeparableConv2DTranspose",
    "QSimpleRNN",
    "QSimpleRNNCell",
    "QSoftmax",
    "QuantizedLayerMixin",
]
