"""hgq-compat: QKeras on Keras 3, with High Granularity Quantization.

Swap ``qkeras`` for ``hgq_compat`` in your imports; numbers stay QKeras's own. Turn on HGQ
(trainable per-element bitwidths, EBOPs-regularized training) per layer with ``mode='hgq'``
or for a whole model with ``quantization_config(mode='hgq')``.
"""

__version__ = "0.1.0"

import sys as _sys

from . import _quiet

if _quiet.wanted(
    _sys.argv, getattr(_sys, "orig_argv", ())
):  # the hgq-compat command: no TensorFlow start-up log lines unless --verbose
    _quiet.load_backend_quietly()

# ``from hgq_compat import *`` gives every name ``from qkeras import *`` gives (QKeras 0.9.0 leaks np, tf,
# K, keras, Keras layer classes...; see _star.py and tests/fixtures/qkeras_star_names.json), as Keras 3
# objects, plus hgq_compat's own names. Internal subpackages (core, layers, legacy, ...) are not exported.
import types as _types

from . import _star
from .b2t import BinaryToThermometer
from .bn_folding_utils import unfold_model
from .constraints import Clip, QInitializer, get_auto_range_constraint_initializer, get_constraint, get_initializer
from .core import FixedPointQuantizer, QuantizationConfig, QuantSpec, quantization_config
from .estimate import (
    analyze_accumulator,
    analyze_accumulator_from_sample,
    create_activation_cache,
    extract_model_operations,
    get_operation_type,
    get_quant_mode,
    print_qstats,
)
from .layers import (
    QGRU,
    QLSTM,
    QActivation,
    QAdaptiveActivation,
    QAveragePooling2D,
    QBatchNormalization,
    QBidirectional,
    QConv1D,
    QConv2D,
    QConv2DBatchnorm,
    QConv2DTranspose,
    QDense,
    QDenseBatchnorm,
    QDepthwiseConv2D,
    QDepthwiseConv2DBatchnorm,
    QDepthwiseConv2DTranspose,
    QGlobalAveragePooling2D,
    QGRUCell,
    QLSTMCell,
    QScaleShift,
    QSeparableConv1D,
    QSeparableConv2D,
    QSeparableConv2DTranspose,
    QSimpleRNN,
    QSimpleRNNCell,
    QSoftmax,
)
from .layers.octave import GetActivationSuffix, QOctaveConv2D
from .legacy import convert_qkeras_model
from .quantizers import *  # noqa: F401,F403 (every QKeras quantizer name)
from .quantizers import get_quantizer
from .safe_eval import Bool, GetArg, GetParams, IsBool, IsNum, Num, Str, safe_eval  # noqa: F401 (leaked by QKeras)
from .softmax_swap import SoftmaxSwapReport, swap_softmax
from .training import (
    BetaScheduler,
    FineTuneSettings,
    FreeEBOPs,
    LinearSchedule,
    LogSchedule,
    ParetoFront,
    PieceWiseSchedule,
    fine_tune,
    jitter_bitwidths,
    layer_ebops,
    model_ebops,
    reset_minmax,
    select_pareto_point,
    set_beta,
    to_hgq,
    trace_minmax,
)
from .utils import get_model_sparsity

globals().update(_star.EAGER)
_QKERAS_MODULES = [
    "b2t",
    "bn_folding_utils",
    "estimate",
    "qconv2d_batchnorm",
    "qconvolutional",
    "qdepthwise_conv2d_transpose",
    "qdepthwiseconv2d_batchnorm",
    "qlayers",
    "qnormalization",
    "qoctave",
    "qpooling",
    "qrecurrent",
    "qseparable_conv2d_transpose",
    "qtools",
    "quantizers",
    "utils",
]
_LAZY_MODULES = ("qtools",)  # imported on first use (QTools needs networkx)
__all__ = sorted(
    {n for n, v in globals().items() if not n.startswith("_") and not isinstance(v, _types.ModuleType)}
    | set(_star.EAGER)
    | set(_star.tf_names())
    | set(_QKERAS_MODULES)
)


def __getattr__(name: str) -> object:
    """TensorFlow names and `qtools` on first use (``hgq_compat.tf``); an explanation for QKeras names not ported."""
    if name in _LAZY_MODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    return _star.lazy(name)
