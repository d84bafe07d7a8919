"""QScaleShift (QKeras master ``qkeras.qmac``): ``activation(q(w) * x + q(b))`` with one scalar
weight and one scalar bias shared by the whole input."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from ..core.ebops import scale_shift_ebops
from .base import QuantizedLayerMixin, QuantizedWeight


@keras.saving.register_keras_serializable(package="hgq_compat")
class QScaleShift(QuantizedLayerMixin, keras.layers.Layer):
    """Quantized scale and shift (QKeras master signature); weights ``weight`` and ``bias`` of shape (1, 1).

    Extra keyword arguments as `QDense` (``mode``, ``granularity``, ...)."""

    # as QKeras: both (1, 1) weights are kernel-like (auto_po2) and get a QInitializer (no constraint)
    quantized_weights = (
        QuantizedWeight("weight", "weight_quantizer", 2, auto_po2=True, auto_range="weight"),
        QuantizedWeight("bias", "bias_quantizer", 2, auto_po2=True, auto_range="bias"),
    )

    def __init__(
        self,
        weight_quantizer: Any = None,
        bias_quantizer: Any = None,
        use_bias: bool = True,
        activation: Any = None,
        weight_initializer: Any = "he_normal",
        weight_regularizer: Any = None,
        bias_initializer: Any = "zeros",
        bias_regularizer: Any = None,
        **kwargs: Any,
    ):
        args = self._declare_quantized_weights(
            kwargs,
            weight_quantizer=weight_quantizer,
            bias_quantizer=bias_quantizer,
            weight_initializer=weight_initializer,
            bias_initializer=bias_initializer,
        )
        kwargs.pop("quantization_config", None)
        super().__init__(**kwargs)
        self.use_bias = bool(use_bias)
        self.weight_initializer, self.bias_initializer = args["weight_initializer"], args["bias_initializer"]
        self.weight_regularizer = keras.regularizers.get(weight_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.activation = self._set_activation(activation)

    def build(self, input_shape: tuple) -> None:
        self.weight = self.add_weight(
            name="weight",
            shape=(1, 1),
            initializer=self.weight_initializer,
            regularizer=self.weight_regularizer,
            trainable=True,
        )
        self.bias = (
            self.add_weight(
                name="bias",
                shape=(1, 1),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                trainable=True,
            )
            if self.use_bias
            else None
        )
        self._build_quantizers(input_shape)
        self.built = True

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        wq = self.quantized_weight("weight", training)
        y = ops.multiply(inputs, wq)
        bq = None
        if self.use_bias:
            bq = self.quantized_weight("bias", training)
            y = ops.add(bq, y)
        self._add_ebops_loss({"weight": wq, "bias": bq}, training)
        return self.quantize_output(y, training)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def _ebops(self, input_bits: Any, weights: dict | None = None) -> Any:
        if weights is None:
            weights = {
                "weight": self.quantized_weight("weight"),
                "bias": self.quantized_weight("bias") if self.use_bias else None,
            }
        channels = int(input_bits.shape[-1])
        wb = self.weight_bits("weight", weights["weight"])
        bb = None
        if self.use_bias:
            bb = ops.broadcast_to(ops.reshape(self.weight_bits("bias", weights["bias"]), (1,)), (channels,))
        return scale_shift_ebops(input_bits, ops.reshape(wb, (1,)), bb)

    def get_prunable_weights(self) -> list:
        return [self.weight, self.bias]

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(self._quantization_config())
        config.update(
            {
                "use_bias": self.use_bias,
                "activation": self._serialize_activation(),
                "weight_initializer": keras.initializers.serialize(self.weight_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "weight_regularizer": keras.regularizers.serialize(self.weight_regularizer),
                "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
            }
        )
        return config


__all__ = ["QScaleShift"]
