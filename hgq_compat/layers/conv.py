"""QConv1D and QConv2D: Keras convolutions with quantized kernel, bias and output."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from ..core.ebops import conv_ebops
from .base import QuantizedLayerMixin


def _kernel_mask(mask: Any) -> np.ndarray | None:
    """QKeras master's QConv2D ``mask``: (kernel_h, kernel_w, ...) values, reshaped to (h, w, 1, 1)."""
    if mask is None:
        return None
    mask = np.asarray(mask, dtype=np.float32)
    if mask.ndim < 2:
        raise ValueError(f"QConv2D: mask of rank {mask.ndim} is not accepted; accepted: rank >= 2 "
                         "(kernel_h, kernel_w, ...)")
    return np.reshape(mask, (mask.shape[0], mask.shape[1], 1, 1))


class QConvMixin(QuantizedLayerMixin):
    """Shared body of the quantized convolutions (channels_last)."""

    def _prepare_conv_quantizers(self, rank: int, kwargs: dict, kernel_quantizer: Any, bias_quantizer: Any,
                                 weight_args: dict) -> dict:
        """Parse the quantizers before the Keras base __init__; returns the weight arguments
        with QKeras' automatic constraints and initializers applied."""
        self._init_quantization(kwargs)
        self.kernel_quantizer = self._set_weight_quantizer("kernel", kernel_quantizer, rank + 2, auto_po2=True)
        self.bias_quantizer = self._set_weight_quantizer("bias", bias_quantizer, 1)
        args = dict(weight_args)
        args["kernel_constraint"], args["kernel_initializer"] = self.auto_range(
            self.kernel_quantizer, args["kernel_constraint"], args["kernel_initializer"])
        if args["use_bias"]:
            args["bias_constraint"], args["bias_initializer"] = self.auto_range(
                self.bias_quantizer, args["bias_constraint"], args["bias_initializer"])
        return args

    def _finish_conv_init(self, activation: Any, kernel_range: Any, bias_range: Any) -> None:
        if self.data_format != "channels_last":
            raise NotImplementedError(f"{self.name}: data_format={self.data_format!r}; only 'channels_last' is supported")
        self.kernel_range = kernel_range
        self.bias_range = bias_range
        self.activation = self._set_activation(activation)

    def build(self, input_shape: tuple) -> None:
        super().build(input_shape)
        self._build_quantizers(input_shape)

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        kq = self.quantized_weight("kernel", training)
        if self.padding == "causal":
            y = ops.conv(ops.pad(inputs, self._compute_causal_padding()), kq, strides=self.strides, padding="valid",
                         dilation_rate=self.dilation_rate, data_format=self.data_format)
        else:
            y = self.convolution_op(inputs, kq)
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
        return conv_ebops(input_bits, self.weight_bits("kernel", weights["kernel"]), bias_bits,
                          strides=self.strides, padding=self.padding, dilation_rate=self.dilation_rate)

    def get_config(self) -> dict:
        config = super().get_config()
        config["activation"] = self._serialize_activation()
        config.update(self._quantization_config())
        config.update({"kernel_range": self.kernel_range, "bias_range": self.bias_range})
        return config


@keras.saving.register_keras_serializable(package="hgq_compat")
class QConv1D(QConvMixin, keras.layers.Conv1D):
    """1-D convolution with quantized weights (QKeras ``QConv1D``)."""

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 dilation_rate: Any = 1, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "he_normal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, kernel_quantizer: Any = None,
                 bias_quantizer: Any = None, kernel_range: Any = None, bias_range: Any = None, **kwargs: Any):
        args = self._prepare_conv_quantizers(1, kwargs, kernel_quantizer, bias_quantizer, dict(
            use_bias=use_bias, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
            kernel_constraint=kernel_constraint, bias_constraint=bias_constraint))
        super().__init__(filters=filters, kernel_size=kernel_size, strides=strides, padding=padding,
                         dilation_rate=dilation_rate, activation=None, kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer, **args, **kwargs)
        self._finish_conv_init(activation, kernel_range, bias_range)


@keras.saving.register_keras_serializable(package="hgq_compat")
class QConv2D(QConvMixin, keras.layers.Conv2D):
    """2-D convolution with quantized weights (QKeras ``QConv2D``)."""

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
                 data_format: str = "channels_last", dilation_rate: Any = (1, 1), activation: Any = None,
                 use_bias: bool = True, kernel_initializer: Any = "he_normal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, kernel_range: Any = None,
                 bias_range: Any = None, kernel_quantizer: Any = None, bias_quantizer: Any = None, mask: Any = None,
                 **kwargs: Any):
        self._kernel_mask = _kernel_mask(mask)
        args = self._prepare_conv_quantizers(2, kwargs, kernel_quantizer, bias_quantizer, dict(
            use_bias=use_bias, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
            kernel_constraint=kernel_constraint, bias_constraint=bias_constraint))
        super().__init__(filters=filters, kernel_size=kernel_size, strides=strides, padding=padding,
                         data_format=data_format or "channels_last", dilation_rate=dilation_rate, activation=None,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, **args, **kwargs)
        self._finish_conv_init(activation, kernel_range, bias_range)

    def quantized_weight(self, role: str, training: bool | None = None) -> Any:
        """As QKeras master: the quantized kernel times the ``mask`` (if any)."""
        w = super().quantized_weight(role, training)
        if role == "kernel" and self._kernel_mask is not None:
            w = w * ops.convert_to_tensor(self._kernel_mask, dtype=w.dtype)
        return w

    def get_config(self) -> dict:
        config = super().get_config()
        if self._kernel_mask is not None:  # QKeras master's key (absent in 0.9.0 configs)
            config["mask"] = self._kernel_mask.tolist()
        return config
