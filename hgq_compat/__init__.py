"""hgq-compat: QKeras on Keras 3, with High Granularity Quantization.

Swap ``qkeras`` for ``hgq_compat`` in your imports; numbers stay QKeras's own. Turn on HGQ
(trainable per-element bitwidths, EBOPs-regularized training) per layer with ``mode='hgq'``
or for a whole model with ``quantization_config(mode='hgq')``.
"""

__version__ = "0.1.0"

from .constraints import Clip, QInitializer, get_auto_range_constraint_initializer
from .core import FixedPointQuantizer, QuantSpec, QuantizationConfig, quantization_config
from .estimate import print_qstats
from .layers import (QActivation, QAdaptiveActivation, QAveragePooling2D, QBatchNormalization, QBidirectional,
                     QConv1D, QConv2D, QConv2DBatchnorm, QConv2DTranspose, QDense, QDepthwiseConv2D,
                     QDepthwiseConv2DBatchnorm, QGlobalAveragePooling2D, QGRU, QGRUCell, QLSTM, QLSTMCell,
                     QScaleShift, QSeparableConv1D, QSeparableConv2D, QSimpleRNN, QSimpleRNNCell)
from .legacy import convert_qkeras_model
from .quantizers import *  # noqa: F401,F403 (every QKeras quantizer name)
from .quantizers import get_quantizer
from .training import (BetaScheduler, FreeEBOPs, LinearSchedule, LogSchedule, ParetoFront, PieceWiseSchedule,
                       jitter_bitwidths, layer_ebops, model_ebops, reset_minmax, set_beta, trace_minmax)
