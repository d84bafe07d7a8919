"""Quantized recurrent layers (QKeras ``qrecurrent``): QSimpleRNN, QLSTM, QGRU, their cells,
and QBidirectional, laid out as ``keras/src/layers/rnn/``.

- `cell`: shared machinery of the cells (weight/state quantizers, activations, EBOPs, config);
- `rnn`: `QRNNBase`, shared machinery of the layers (weights quantized once per call, EBOPs loss);
- `simple_rnn`, `lstm`, `gru`: each cell and its layer;
- `bidirectional`: `QBidirectional`.

Every name stays importable from here (``hgq_compat.layers.recurrent.QLSTM``), from
``hgq_compat.layers`` and from ``hgq_compat.qrecurrent``; serialized names are ``hgq_compat>QLSTM``, ...
"""

from ...quantizers.functions import hard_sigmoid
from .bidirectional import QBidirectional
from .cell import QRecurrentCellMixin, resolve_activation
from .gru import QGRU, QGRUCell
from .lstm import QLSTM, QLSTMCell
from .rnn import QRNNBase
from .simple_rnn import QSimpleRNN, QSimpleRNNCell

__all__ = [
    "QBidirectional",
    "QGRU",
    "QGRUCell",
    "QLSTM",
    "QLSTMCell",
    "QRNNBase",
    "QRecurrentCellMixin",
    "QSimpleRNN",
    "QSimpleRNNCell",
    "hard_sigmoid",
    "resolve_activation",
]
