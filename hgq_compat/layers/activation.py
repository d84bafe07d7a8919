"""QActivation: applies a QKeras quantizer (or a Keras activation) to its input."""

from __future__ import annotations

from typing import Any

import keras

from .base import QuantizedLayerMixin


@keras.saving.register_keras_serializable(package="hgq_compat")
class QActivation(QuantizedLayerMixin, keras.layers.Layer):
    """QKeras ``QActivation``: ``activation`` is a quantizer object, a quantizer string such
    as ``'quantized_relu(4,0)'`` or a Keras activation name."""

    has_ebops = False

    def __init__(self, activation: Any, **kwargs: Any):
        self._init_quantization(kwargs)
        super().__init__(**kwargs)
        self._activation_arg = activation
        act = self._set_activation(activation)
        self.quantizer = act
        self.activation = keras.activations.linear if self._activation_quantizer is not None else act

    def build(self, input_shape: tuple) -> None:
        self._build_quantizers(input_shape)
        self.built = True

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        return self.quantize_output(inputs, training)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config["activation"] = self._serialize_activation()
        config.update(self._quantization_config())
        return config
