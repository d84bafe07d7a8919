"""QConv1D and QConv2D: Keras convolutions with quantized kernel, bias and output."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from ..core.ebops import conv_ebops
from ._signature import constructor, nones, parameters
from .base import QKernelBiasMixin, kernel_and_bias, kernel_bias_parameters


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

    @property
    def _window(self) -> dict:
        """The sliding window (``strides``, ``padding``, ``dilation_rate``), as the convolution ops and
        the EBOPs functions take it."""
        return {"strides": self.strides, "padding": self.padding, "dilation_rate": self.dilation_rate}

    def _apply_kernel(self, inputs: Any, kernel: Any) -> Any:
        if self.padding == "causal":
            inputs = ops.pad(inputs, self._compute_causal_padding())
            return ops.conv(inputs, kernel, **{**self._window, "padding": "valid"}, data_format=self.data_format)
        return self.convolution_op(inputs, kernel)

    def _kernel_ebops(self, input_bits: Any, kernel_bits: Any, bias_bits: Any) -> Any:
        return conv_ebops(input_bits, kernel_bits, bias_bits, **self._window)


@keras.saving.register_keras_serializable(package="hgq_compat")
class QConv1D(QConvMixin, keras.layers.Conv1D):
    """1-D convolution with quantized weights (QKeras ``QConv1D``)."""

    quantized_weights = kernel_and_bias(3)

    __init__ = constructor(
        parameters("filters", "kernel_size", strides=1, padding="valid", dilation_rate=1)
        + kernel_bias_parameters()
        + nones("kernel_quantizer", "bias_quantizer", "kernel_range", "bias_range"),
        "_init_layer",
    )


@keras.saving.register_keras_serializable(package="hgq_compat")
class QConv2D(QConvMixin, keras.layers.Conv2D):
    """2-D convolution with quantized weights (QKeras ``QConv2D``)."""

    quantized_weights = kernel_and_bias(4)

    __init__ = constructor(
        parameters(
            "filters", "kernel_size", strides=(1, 1), padding="valid", data_format="channels_last", dilation_rate=(1, 1)
        )
        + kernel_bias_parameters()
        + nones("kernel_range", "bias_range", "kernel_quantizer", "bias_quantizer", "mask"),
        "_init_layer",
    )

    def _init_layer(self, arguments: dict, kwargs: dict) -> None:
        arguments = dict(arguments)
        self._kernel_mask = _kernel_mask(arguments.pop("mask"))
        super()._init_layer(arguments, kwargs)

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
