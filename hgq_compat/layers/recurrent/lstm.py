"""QLSTMCell and QLSTM (QKeras ``QLSTMCell``, ``QLSTM``): both previous states (h and c) pass
through ``state_quantizer``.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from .cell import QRecurrentCellMixin, _weight_args
from .rnn import QRNNBase


@keras.saving.register_keras_serializable(package="hgq_compat")
class QLSTMCell(QRecurrentCellMixin, keras.layers.LSTMCell):
    """LSTM cell with quantized kernel, recurrent kernel, bias and states (QKeras ``QLSTMCell``).

    Both previous states (h and c) pass through ``state_quantizer`` before use.
    """

    def __init__(
        self,
        units: int,
        activation: Any = "quantized_tanh",
        recurrent_activation: Any = "hard_sigmoid",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        unit_forget_bias: bool = True,
        kernel_regularizer: Any = None,
        recurrent_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        kernel_quantizer: Any = None,
        recurrent_quantizer: Any = None,
        bias_quantizer: Any = None,
        state_quantizer: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        implementation: int = 1,
        seed: Any = None,
        **kwargs: Any,
    ):
        if implementation not in (0, 1, 2):
            raise ValueError(f"implementation={implementation!r} is not accepted; accepted values: 1, 2")
        args = self._setup_cell_quantizers(
            kwargs,
            use_bias,
            1,
            kernel_quantizer,
            recurrent_quantizer,
            bias_quantizer,
            state_quantizer,
            _weight_args(
                kernel_initializer,
                recurrent_initializer,
                bias_initializer,
                kernel_constraint,
                recurrent_constraint,
                bias_constraint,
            ),
        )
        super().__init__(
            units,
            activation=None,
            recurrent_activation=None,
            use_bias=use_bias,
            unit_forget_bias=unit_forget_bias,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            seed=seed,
            implementation=max(int(implementation), 1),
            **args,
            **kwargs,
        )
        self._set_activations(activation, recurrent_activation, has_recurrent=True)

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

    def __init__(
        self,
        units: int,
        activation: Any = "quantized_tanh",
        recurrent_activation: Any = "hard_sigmoid",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        unit_forget_bias: bool = True,
        kernel_regularizer: Any = None,
        recurrent_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        kernel_quantizer: Any = None,
        recurrent_quantizer: Any = None,
        bias_quantizer: Any = None,
        state_quantizer: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        implementation: int = 1,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        **kwargs: Any,
    ):
        cell_kwargs = self._pop_rnn_kwargs(kwargs, stateful)
        cell = QLSTMCell(
            units,
            activation=activation,
            recurrent_activation=recurrent_activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            unit_forget_bias=unit_forget_bias,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
            kernel_quantizer=kernel_quantizer,
            recurrent_quantizer=recurrent_quantizer,
            bias_quantizer=bias_quantizer,
            state_quantizer=state_quantizer,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            implementation=implementation,
            **cell_kwargs,
        )
        self._finish_rnn_init(
            cell, return_sequences, return_state, go_backwards, stateful, unroll, activity_regularizer, kwargs
        )

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
