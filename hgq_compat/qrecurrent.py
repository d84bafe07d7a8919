"""QKeras module path ``qkeras.qrecurrent``: re-exports."""

from .layers import QGRU, QLSTM, QBidirectional, QGRUCell, QLSTMCell, QSimpleRNN, QSimpleRNNCell

__all__ = ["QBidirectional", "QGRU", "QGRUCell", "QLSTM", "QLSTMCell", "QSimpleRNN", "QSimpleRNNCell"]
