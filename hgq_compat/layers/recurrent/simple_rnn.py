"""QSimpleRNNCell and QSimpleRNN (QKeras ``QSimpleRNNCell``, ``QSimpleRNN``).

QSimpleRNN crashes in QKeras 0.9.0 under tf-keras; here it computes what QKeras' code intends,
with QLSTM's conventions.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from .._signature import constructor
from .cell import QRecurrentCellMixin, cell_parameters
from .rnn import QRNNBase, rnn_parameters


@keras.saving.register_keras_serializable(package="hgq_compat")
class QSimpleRNNCell(QRecurrentCellMixin, keras.layers.SimpleRNNCell):
    """SimpleRNN cell with quantized kernel, recurrent kernel, bias and state (QKeras ``QSimpleRNNCell``).

    ``h_t = activation(x_t @ Q(W) + Q(b) + Qs(h_{t-1}) @ Q(U))``.
    """

    __init__ = constructor(cell_parameters(gated=False), "_init_cell")

    def call(self, inputs: Any, states: Any, training: Any = False) -> Any:
        prev_output = states[0] if isinstance(states, (list, tuple)) else states
        w = self._step_weights(training)
        h_prev = self._quantize_state(prev_output, training)
        if training and 0.0 < self.dropout < 1.0:
            inputs = inputs * self.get_dropout_mask(inputs)
        h = ops.matmul(inputs, w["kernel"])
        if self.use_bias:
            h = h + w["bias"]
        if training and 0.0 < self.recurrent_dropout < 1.0:
            h_prev = h_prev * self.get_recurrent_dropout_mask(prev_output)
        output = self._act(h + ops.matmul(h_prev, w["recurrent_kernel"]), training)
        return output, [output]

    def get_config(self) -> dict:
        return self._cell_config({})


@keras.saving.register_keras_serializable(package="hgq_compat")
class QSimpleRNN(QRNNBase):
    """SimpleRNN with quantized weights and state (QKeras ``QSimpleRNN``)."""

    cell_class = QSimpleRNNCell
    __init__ = constructor(rnn_parameters(QSimpleRNNCell), "_init_rnn")


__all__ = ["QSimpleRNN", "QSimpleRNNCell"]
