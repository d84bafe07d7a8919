"""QConv1D and QConv2D: Keras convolutions with quantized kernel, bias and output."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from ..core.ebops import conv_ebops
from .base import QKernelBiasMixin, kernel_and_bias


def _kernel_mask(mask: Any) -> np.ndarray | None:
    """QKeras master's QConv2D ``mask``: (kernel_h, kernel_w, ...) values, reshaped to (h, w, 1, 1)."""
    if mask is None:
        return None
    mask = np.asarray(mask, dtype=np.float32)
    if mask.ndim < 2:
        raise ValueError(
            f"QConv2D: mask of rank {mask.ndim} is not accepted; accepted: rank >= 2 (kernel_h, kernel_w, ...)"
        )
    return np.reshape(mask, (mask.shape[0], mask.shape[1], 1, 1))


class QConvMixin(QKernelBiasMixin):
    """Shared body of the quantized convolutions (channels_last)."""

    def _finish_init(self, activation: Any, ranges: dict) -> None:
        if self.data_format != "channels_last":
            raise NotImplementedError(
                f"{type(self).__name__}: data_format={self.data_format!r}; only 'channels_last' is supported"
            )
        super()._finish_init(activation, ranges)

    def _apply_kernel(self, inputs: Any, kernel: Any) -> Any:
        if self.padding == "causal":
            return ops.conv(
                ops.pad(inputs, self._compute_causal_padding()),
                kernel,
                strides=self.strides,
                padding="valid",
                dilation_rate=self.dilation_rate,
                data_format=self.data_format,
            )
        return self.convolution_op(inputs, kernel)

    def _kernel_ebops(self, input_bits: Any, kernel_bits: Any, bias_bits: Any) -> Any:
        return conv_ebops(
            input_bits,
            kernel_bits,
            bias_bits,
            strides=self.strides,
            padding=self.padding,
            dilation_rate=self.dilation_rate,
        )


@keras.saving.register_keras_serializable(package="hgq_compat")
class QConv1D(QConvMixin, keras.layers.Conv1D):
    """1-D convolution with quantized weights (QKeras ``QConv1D``)."""

    quantized_weights = kernel_and_bias(3)

    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        dilation_rate: Any = 1,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "he_normal",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        kernel_quantizer: Any = None,
        bias_quantizer: Any = None,
        kernel_range: Any = None,
        bias_range: Any = None,
        **kwargs: Any,
    ):
        super().__init__(
            **self._declare_quantized_weights(
                kwargs,
                filters=filters,
                kernel_size=kernel_size,
                strides=strides,
                padding=padding,
                dilation_rate=dilation_rate,
                activation=None,
                use_bias=use_bias,
                kernel_initializer=kernel_initializer,
                bias_initializer=bias_initializer,
                kernel_regularizer=kernel_regularizer,
                bias_regularizer=bias_regularizer,
                activity_regularizer=activity_regularizer,
                kernel_constraint=kernel_constraint,
                bias_constraint=bias_constraint,
                kernel_quantizer=kernel_quantizer,
                bias_quantizer=bias_quantizer,
            ),
            **kwargs,
        )
        self._finish_init(activation, {"kernel_range": kernel_range, "bias_range": bias_range})


@keras.saving.register_keras_serializable(package="hgq_compat")
class QConv2D(QConvMixin, keras.layers.Conv2D):
    """2-D convolution with quantized weights (QKeras ``QConv2D``)."""

    quantized_weights = kernel_and_bias(4)

    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = (1, 1),
        padding: str = "valid",
        data_format: str = "channels_last",
        dilation_rate: Any = (1, 1),
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "he_normal",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        kernel_range: Any = None,
        bias_range: Any = None,
        kernel_quantizer: Any = None,
        bias_quantizer: Any = None,
        mask: Any = None,
        **kwargs: Any,
    ):
        self._kernel_mask = _kernel_mask(mask)
        super().__init__(
            **self._declare_quantized_weights(
                kwargs,
                filters=filters,
                kernel_size=kernel_size,
                strides=strides,
                padding=padding,
                data_format=data_format or "channels_last",
                dilation_rate=dilation_rate,
                activation=None,
                use_bias=use_bias,
                kernel_initializer=kernel_initializer,
                bias_initializer=bias_initializer,
                kernel_regularizer=kernel_regularizer,
                bias_regularizer=bias_regularizer,
                activity_regularizer=activity_regularizer,
                kernel_constraint=kernel_constraint,
                bias_constraint=bias_constraint,
                kernel_quantizer=kernel_quantizer,
                bias_quantizer=bias_quantizer,
            ),
            **kwargs,
        )
        self._finish_init(activation, {"kernel_range": kernel_range, "bias_range": bias_range})

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
