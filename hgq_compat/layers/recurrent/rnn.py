"""Shared machinery of the quantized recurrent layers: `QRNNBase`, a Keras RNN around a
quantized cell (QSimpleRNN, QLSTM and QGRU subclass it).

The layers quantize the weights once per call, outside the time loop, and add the EBOPs loss
(HGQ mode) there: per time step, input bits x kernel bits plus state bits x recurrent-kernel
bits plus the bias bits (`recurrent_ebops`). The state bits are the state quantizer's bitwidths,
or ``default_input_bits`` without a state quantizer. The cell's attributes (``units``,
``kernel_quantizer``, ...) read through the layer, as in Keras and QKeras.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from .._signature import Parameters, nones, parameters, parameters_of
from ..base import QuantizedLayerMixin, quantization_config_dict

_RNN_PARAMETERS = parameters(
    return_sequences=False, return_state=False, go_backwards=False, stateful=False, unroll=False
)


def rnn_parameters(cell_class: type, trailing: tuple[str, ...] = ()) -> Parameters:
    """QKeras' arguments of the RNN layer around ``cell_class``: the cell's (without ``seed``), with
    ``activity_regularizer`` after ``bias_regularizer``, then the RNN's, then the cell's ``trailing`` ones."""
    cell = {p.name: p for p in parameters_of(cell_class, drop=("seed",))}
    head: list = []
    for name, p in cell.items():
        if name not in trailing:
            head += [p, *nones("activity_regularizer")] if name == "bias_regularizer" else [p]
    return (*head, *_RNN_PARAMETERS, *(cell[name] for name in trailing))


class QRNNBase(QuantizedLayerMixin, keras.layers.RNN):
    """Shared body of QSimpleRNN, QLSTM and QGRU: a Keras RNN around a quantized cell (``cell_class``)
    that quantizes the weights once per call and adds the EBOPs loss (HGQ mode)."""

    cell_class: type

    def _init_rnn(self, arguments: dict, kwargs: dict) -> None:
        """The shared constructor body (`constructor`): the cell (`cell_class`) from the cell's
        arguments, then Keras' RNN from the others (`rnn_parameters`)."""
        arguments = dict(arguments)
        rnn = {p.name: arguments.pop(p.name) for p in _RNN_PARAMETERS}
        activity_regularizer = arguments.pop("activity_regularizer")
        kwargs.pop("implementation", None)  # Keras 2's SimpleRNN config key
        self._init_quantization(kwargs)
        kwargs.pop("quantization_config", None)
        if kwargs.pop("time_major", False):
            raise NotImplementedError(
                f"{type(self).__name__}: time_major=True is not supported (Keras 3 RNNs are "
                "batch-major); transpose the input instead"
            )
        kwargs.pop("enable_caching_device", None)
        kwargs.pop("cell", None)
        if rnn["stateful"] and self.hgq:
            raise NotImplementedError(f"{type(self).__name__}: stateful=True is not supported with mode='hgq'")
        cell = self.cell_class(
            **arguments,
            **quantization_config_dict(self.qconfig),
            seed=kwargs.pop("seed", None),
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
        )
        keras.layers.RNN.__init__(self, cell, **rnn, activity_regularizer=activity_regularizer, **kwargs)
        self.input_spec = keras.layers.InputSpec(ndim=3)

    def build(self, sequences_shape: tuple, initial_state_shape: Any = None) -> None:
        super().build(sequences_shape, initial_state_shape)
        self.cell.has_ebops = False  # counted (over all time steps) by this layer
        self._input_feature_shape = tuple(sequences_shape[1:])

    def call(self, sequences: Any, initial_state: Any = None, mask: Any = None, training: Any = False) -> Any:
        cell = self.cell
        weights = cell.quantized_weights(training)
        object.__setattr__(cell, "_cached_weights", weights)
        try:
            output = super().call(sequences, initial_state=initial_state, mask=mask, training=training)
        finally:
            object.__setattr__(cell, "_cached_weights", None)
        if training and self.hgq:
            steps = sequences.shape[1] if sequences.shape[1] is not None else ops.shape(sequences)[1]
            self.add_loss(cell.beta * cell._ebops(self.input_bits(), weights, steps))
        return output

    # ---------------------------------------------------------------- quantization API
    def input_bits(self) -> Any:
        """Bits per input element: shape (T, n_in), or (1, n_in) (per step) when T is unknown."""
        steps, n_in = self._input_feature_shape
        if steps is None:
            return ops.full((1, n_in), self.qconfig.default_input_bits, dtype="float32")
        return super().input_bits()

    def _ebops(self, input_bits: Any, weights: dict | None = None) -> Any:
        steps = self._input_feature_shape[0]
        return self.cell._ebops(input_bits, weights, 1 if steps is None else steps)

    @property
    def quantizers(self) -> list:
        return self.cell.quantizers

    def weight_roles(self) -> list[str]:
        return self.cell.weight_roles()

    def quantized_weight(self, role: str, training: bool | None = None) -> Any:
        return self.cell.quantized_weight(role, training)

    def weight_bits(self, role: str, wq: Any) -> Any:
        return self.cell.weight_bits(role, wq)

    def get_prunable_weights(self) -> list:
        return [self.cell.kernel, self.cell.recurrent_kernel]

    def reinitialize_bitwidths(self) -> None:
        self.cell.reinitialize_bitwidths()

    def get_quantization_config(self) -> dict:
        return self.cell.get_quantization_config()

    def get_config(self) -> dict:
        config = keras.layers.RNN.get_config(self)
        config.pop("cell", None)
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype"):
            cell_config.pop(key, None)
        config.update(cell_config)
        config["activity_regularizer"] = keras.regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: Any = None) -> "QRNNBase":
        config = dict(config)
        config.pop("cell", None)
        if config.get("implementation") == 0:
            config["implementation"] = 1
        return cls(**config)

    # ---------------------------------------------------------------- the cell's attributes
    @property
    def units(self) -> int:
        """The cell's ``units``."""
        return self.cell.units

    @property
    def activation(self) -> Any:
        """The cell's ``activation``."""
        return self.cell.activation

    @property
    def use_bias(self) -> bool:
        """The cell's ``use_bias``."""
        return self.cell.use_bias

    @property
    def kernel_initializer(self) -> Any:
        """The cell's ``kernel_initializer``."""
        return self.cell.kernel_initializer

    @property
    def recurrent_initializer(self) -> Any:
        """The cell's ``recurrent_initializer``."""
        return self.cell.recurrent_initializer

    @property
    def bias_initializer(self) -> Any:
        """The cell's ``bias_initializer``."""
        return self.cell.bias_initializer

    @property
    def kernel_regularizer(self) -> Any:
        """The cell's ``kernel_regularizer``."""
        return self.cell.kernel_regularizer

    @property
    def recurrent_regularizer(self) -> Any:
        """The cell's ``recurrent_regularizer``."""
        return self.cell.recurrent_regularizer

    @property
    def bias_regularizer(self) -> Any:
        """The cell's ``bias_regularizer``."""
        return self.cell.bias_regularizer

    @property
    def kernel_constraint(self) -> Any:
        """The cell's ``kernel_constraint``."""
        return self.cell.kernel_constraint

    @property
    def recurrent_constraint(self) -> Any:
        """The cell's ``recurrent_constraint``."""
        return self.cell.recurrent_constraint

    @property
    def bias_constraint(self) -> Any:
        """The cell's ``bias_constraint``."""
        return self.cell.bias_constraint

    @property
    def kernel_quantizer(self) -> Any:
        """The cell's ``kernel_quantizer``."""
        return self.cell.kernel_quantizer

    @property
    def recurrent_quantizer(self) -> Any:
        """The cell's ``recurrent_quantizer``."""
        return self.cell.recurrent_quantizer

    @property
    def bias_quantizer(self) -> Any:
        """The cell's ``bias_quantizer``."""
        return self.cell.bias_quantizer

    @property
    def state_quantizer(self) -> Any:
        """The cell's ``state_quantizer``."""
        return self.cell.state_quantizer

    @property
    def kernel_quantizer_internal(self) -> Any:
        """The cell's ``kernel_quantizer_internal``."""
        return self.cell.kernel_quantizer_internal

    @property
    def recurrent_quantizer_internal(self) -> Any:
        """The cell's ``recurrent_quantizer_internal``."""
        return self.cell.recurrent_quantizer_internal

    @property
    def bias_quantizer_internal(self) -> Any:
        """The cell's ``bias_quantizer_internal``."""
        return self.cell.bias_quantizer_internal

    @property
    def state_quantizer_internal(self) -> Any:
        """The cell's ``state_quantizer_internal``."""
        return self.cell.state_quantizer_internal

    @property
    def dropout(self) -> float:
        """The cell's ``dropout``."""
        return self.cell.dropout

    @property
    def recurrent_dropout(self) -> float:
        """The cell's ``recurrent_dropout``."""
        return self.cell.recurrent_dropout


__all__ = ["QRNNBase"]
