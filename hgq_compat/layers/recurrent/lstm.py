"""QLSTMCell and QLSTM (QKeras ``QLSTMCell``, ``QLSTM``): both previous states (h and c) pass
through ``state_quantizer``.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from .._signature import constructor, parameters
from .cell import QRecurrentCellMixin, cell_parameters
from .rnn import QRNNBase, rnn_parameters


@keras.saving.register_keras_serializable(package="hgq_compat")
class QLSTMCell(QRecurrentCellMixin, keras.layers.LSTMCell):
    """LSTM cell with quantized kernel, recurrent kernel, bias and states (QKeras ``QLSTMCell``).

    Both previous states (h and c) pass through ``state_quantizer`` before use.
    """

    __init__ = constructor(
        cell_parameters(
            gated=True, after_initializers=parameters(unit_forget_bias=True), last=parameters(implementation=1)
        ),
        "_init_cell",
    )

    def call(self, inputs: Any, states: Any, training: Any = False) -> Any:
        w = self._step_weights(training)
        h_tm1 = self._quantize_state(states[0], training)
        c_tm1 = self._quantize_state(states[1], training)
        k, rk, b = w["kernel"], w["recurrent_kernel"], w["bias"]
        u = self.units
        if self.implementation == 1:
            if training and 0.0 < self.dropout < 1.0:
                dp = self.get_dropout_mask(inputs)
                xs = [inputs * dp[j] for j in range(4)]
            else:
                xs = [inputs] * 4
            ks = ops.split(k, 4, axis=1)
            x = [ops.matmul(xs[j], ks[j]) for j in range(4)]
            if self.use_bias:
                bs = ops.split(b, 4, axis=0)
                x = [x[j] + bs[j] for j in range(4)]
            if training and 0.0 < self.recurrent_dropout < 1.0:
                rdp = self.get_recurrent_dropout_mask(h_tm1)
                hs = [h_tm1 * rdp[j] for j in range(4)]
            else:
                hs = [h_tm1] * 4
            i = self._ract(x[0] + ops.matmul(hs[0], rk[:, :u]), training)
            f = self._ract(x[1] + ops.matmul(hs[1], rk[:, u : 2 * u]), training)
            c = f * c_tm1 + i * self._act(x[2] + ops.matmul(hs[2], rk[:, 2 * u : 3 * u]), training)
            o = self._ract(x[3] + ops.matmul(hs[3], rk[:, 3 * u :]), training)
        else:
            if training and 0.0 < self.dropout < 1.0:
                inputs = inputs * self.get_dropout_mask(inputs)
            z = ops.matmul(inputs, k)
            z = z + ops.matmul(h_tm1, rk)
            if self.use_bias:
                z = z + b
            z0, z1, z2, z3 = ops.split(z, 4, axis=1)
            i = self._ract(z0, training)
            f = self._ract(z1, training)
            c = f * c_tm1 + i * self._act(z2, training)
            o = self._ract(z3, training)
        h = o * self._act(c, training)
        return h, [h, c]

    def get_config(self) -> dict:
        return self._cell_config(
            {
                "recurrent_activation": self._recurrent_activation_config,
                "unit_forget_bias": self.unit_forget_bias,
                "implementation": self.implementation,
            }
        )


@keras.saving.register_keras_serializable(package="hgq_compat")
class QLSTM(QRNNBase):
    """LSTM with quantized weights and states (QKeras ``QLSTM``)."""

    cell_class = QLSTMCell
    __init__ = constructor(rnn_parameters(QLSTMCell), "_init_rnn")

    @property
    def recurrent_activation(self) -> Any:
        """The cell's ``recurrent_activation``."""
        return self.cell.recurrent_activation

    @property
    def unit_forget_bias(self) -> bool:
        """The cell's ``unit_forget_bias``."""
        return self.cell.unit_forget_bias

    @property
    def implementation(self) -> int:
        """The cell's ``implementation``."""
        return self.cell.implementation


__all__ = ["QLSTM", "QLSTMCell"]
