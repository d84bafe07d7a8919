"""QSimpleRNNCell and QSimpleRNN (QKeras ``QSimpleRNNCell``, ``QSimpleRNN``).

QSimpleRNN crashes in QKeras 0.9.0 under tf-keras; here it computes what QKeras' code intends,
with QLSTM's conventions.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from .cell import QRecurrentCellMixin, _weight_args
from .rnn import QRNNBase


@keras.saving.register_keras_serializable(package="hgq_compat")
class QSimpleRNNCell(QRecurrentCellMixin, keras.layers.SimpleRNNCell):
    """SimpleRNN cell with quantized kernel, recurrent kernel, bias and state (QKeras ``QSimpleRNNCell``).

    ``h_t = activation(x_t @ Q(W) + Q(b) + Qs(h_{t-1}) @ Q(U))``.
    """

    def __init__(
        self,
        units: int,
        activation: Any = "quantized_tanh",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
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
        seed: Any = None,
        **kwargs: Any,
    ):
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
            use_bias=use_bias,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            seed=seed,
            **args,
            **kwargs,
        )
        self._set_activations(activation)

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

    def __init__(
        self,
        units: int,
        activation: Any = "quantized_tanh",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
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
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        **kwargs: Any,
    ):
        kwargs.pop("implementation", None)
        cell_kwargs = self._pop_rnn_kwargs(kwargs, stateful)
        cell = QSimpleRNNCell(
            units,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
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
            **cell_kwargs,
        )
        self._finish_rnn_init(
            cell, return_sequences, return_state, go_backwards, stateful, unroll, activity_regularizer, kwargs
        )


__all__ = ["QSimpleRNN", "QSimpleRNNCell"]
