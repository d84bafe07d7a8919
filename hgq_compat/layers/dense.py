"""QDense: Keras Dense with quantized kernel, bias and output (QKeras signature)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from ..core.ebops import dense_ebops
from .base import QuantizedLayerMixin


@keras.saving.register_keras_serializable(package="hgq_compat")
class QDense(QuantizedLayerMixin, keras.layers.Dense):
    """Dense layer with quantized weights (QKeras ``QDense``).

    Extra keyword arguments (all optional, defaulting to the `quantization_config` scope):
    ``mode`` ('qkeras' or 'hgq'), ``granularity``, ``activation_granularity``, ``beta``
    (EBOPs weight in the loss) and ``default_input_bits``.
    """

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "he_normal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, kernel_quantizer: Any = None,
                 bias_quantizer: Any = None, kernel_range: Any = None, bias_range: Any = None, **kwargs: Any):
        self._init_quantization(kwargs)
        kwargs.pop("quantization_config", None)
        self.kernel_quantizer = self._set_weight_quantizer("kernel", kernel_quantizer, 2, auto_po2=True)
        self.bias_quantizer = self._set_weight_quantizer("bias", bias_quantizer, 1)
        kernel_constraint, kernel_initializer = self.auto_range(self.kernel_quantizer, kernel_constraint, kernel_initializer)
        if use_bias:
            bias_constraint, bias_initializer = self.auto_range(self.bias_quantizer, bias_constraint, bias_initializer)
        super().__init__(units=units, activation=None, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint, **kwargs)
        self.kernel_range = kernel_range
        self.bias_range = bias_range
        self.activation = self._set_activation(activation)

    def build(self, input_shape: tuple) -> None:
        super().build(input_shape)
        self._build_quantizers(input_shape)

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        kq = self.quantized_weight("kernel", training)
        y = ops.matmul(inputs, kq)
        bq = None
        if self.use_bias:
            bq = self.quantized_weight("bias", training)
            y = ops.add(y, bq)
        self._add_ebops_loss({"kernel": kq, "bias": bq}, training)
        return self.quantize_output(y, training)

    def _ebops(self, input_bits: Any, weights: dict | None = None) -> Any:
        if weights is None:
            weights = {"kernel": self.quantized_weight("kernel"),
                       "bias": self.quantized_weight("bias") if self.use_bias else None}
        bias_bits = self.weight_bits("bias", weights["bias"]) if self.use_bias else None
        return dense_ebops(input_bits, self.weight_bits("kernel", weights["kernel"]), bias_bits)

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("quantization_config", None)
        config["activation"] = self._serialize_activation()
        config.update(self._quantization_config())
        config.update({"kernel_range": self.kernel_range, "bias_range": self.bias_range})
        return config
