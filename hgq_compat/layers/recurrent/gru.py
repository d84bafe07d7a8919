"""QGRUCell and QGRU (QKeras ``QGRUCell``, ``QGRU``; ``reset_after=False`` by default).

QGRU crashes in QKeras 0.9.0 under tf-keras; here it computes what QKeras' code intends, with
QLSTM's conventions (QKeras' QGRU uses the *kernel* as recurrent kernel when no recurrent
quantizer is given: a bug, not reproduced here).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from .._signature import constructor, parameters
from .cell import QRecurrentCellMixin, cell_parameters
from .rnn import QRNNBase, rnn_parameters


@keras.saving.register_keras_serializable(package="hgq_compat")
class QGRUCell(QRecurrentCellMixin, keras.layers.GRUCell):
    """GRU cell with quantized kernel, recurrent kernel, bias and state (QKeras ``QGRUCell``).

    QKeras defaults: ``reset_after=False``, ``recurrent_activation='hard_sigmoid'`` (QKeras').
    ``h_t = z * Qs(h_{t-1}) + (1 - z) * hh``.
    """

    __init__ = constructor(
        cell_parameters(gated=True, last=parameters(implementation=1, reset_after=False)), "_init_cell"
    )

    def call(self, inputs: Any, states: Any, training: Any = False) -> Any:
        h_prev = states[0] if isinstance(states, (list, tuple)) else states
        w = self._step_weights(training)
        h_tm1 = self._quantize_state(h_prev, training)
        k, rk = w["kernel"], w["recurrent_kernel"]
        u = self.units
        input_bias = recurrent_bias = None
        if self.use_bias:
            if not self.reset_after:
                input_bias = w["bias"]
            else:
                input_bias, recurrent_bias = w["bias"][0], w["bias"][1]
        if self.implementation == 1:
            if training and 0.0 < self.dropout < 1.0:
                dp = self.get_dropout_mask(inputs)
                xs = [inputs * dp[j] for j in range(3)]
            else:
                xs = [inputs] * 3
            x_z = ops.matmul(xs[0], k[:, :u])
            x_r = ops.matmul(xs[1], k[:, u : 2 * u])
            x_h = ops.matmul(xs[2], k[:, 2 * u :])
            if self.use_bias:
                x_z = x_z + input_bias[:u]
                x_r = x_r + input_bias[u : 2 * u]
                x_h = x_h + input_bias[2 * u :]
            if training and 0.0 < self.recurrent_dropout < 1.0:
                rdp = self.get_recurrent_dropout_mask(h_prev)
                hs = [h_tm1 * rdp[j] for j in range(3)]
            else:
                hs = [h_tm1] * 3
            recurrent_z = ops.matmul(hs[0], rk[:, :u])
            recurrent_r = ops.matmul(hs[1], rk[:, u : 2 * u])
            if self.reset_after and self.use_bias:
                recurrent_z = recurrent_z + recurrent_bias[:u]
                recurrent_r = recurrent_r + recurrent_bias[u : 2 * u]
            z = self._ract(x_z + recurrent_z, training)
            r = self._ract(x_r + recurrent_r, training)
            if self.reset_after:
                recurrent_h = ops.matmul(hs[2], rk[:, 2 * u :])
                if self.use_bias:
                    recurrent_h = recurrent_h + recurrent_bias[2 * u :]
                recurrent_h = r * recurrent_h
            else:
                recurrent_h = ops.matmul(r * hs[2], rk[:, 2 * u :])
        else:
            if training and 0.0 < self.dropout < 1.0:
                inputs = inputs * self.get_dropout_mask(inputs)
            matrix_x = ops.matmul(inputs, k)
            if self.use_bias:
                matrix_x = matrix_x + input_bias
            x_z, x_r, x_h = ops.split(matrix_x, 3, axis=-1)
            if self.reset_after:
                matrix_inner = ops.matmul(h_tm1, rk)
                if self.use_bias:
                    matrix_inner = matrix_inner + recurrent_bias
                recurrent_z, recurrent_r, recurrent_h = ops.split(matrix_inner, 3, axis=-1)
            else:
                matrix_inner = ops.matmul(h_tm1, rk[:, : 2 * u])
                recurrent_z, recurrent_r = ops.split(matrix_inner, 2, axis=-1)
            z = self._ract(x_z + recurrent_z, training)
            r = self._ract(x_r + recurrent_r, training)
            if self.reset_after:
                recurrent_h = r * recurrent_h
            else:
                recurrent_h = ops.matmul(r * h_tm1, rk[:, 2 * u :])
        hh = self._act(x_h + recurrent_h, training)
        h = z * h_tm1 + (1.0 - z) * hh
        return h, [h]

    def get_config(self) -> dict:
        return self._cell_config(
            {
                "recurrent_activation": self._recurrent_activation_config,
                "implementation": self.implementation,
                "reset_after": self.reset_after,
            }
        )


@keras.saving.register_keras_serializable(package="hgq_compat")
class QGRU(QRNNBase):
    """GRU with quantized weights and state (QKeras ``QGRU``; ``reset_after=False`` by default)."""

    cell_class = QGRUCell
    __init__ = constructor(rnn_parameters(QGRUCell, trailing=("reset_after",)), "_init_rnn")

    @property
    def recurrent_activation(self) -> Any:
        """The cell's ``recurrent_activation``."""
        return self.cell.recurrent_activation

    @property
    def implementation(self) -> int:
        """The cell's ``implementation``."""
        return self.cell.implementation

    @property
    def reset_after(self) -> bool:
        """The cell's ``reset_after``."""
        return self.cell.reset_after


__all__ = ["QGRU", "QGRUCell"]
