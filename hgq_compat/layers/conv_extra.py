"""QDepthwiseConv2D, QSeparableConv1D/2D and QConv2DTranspose (QKeras signatures).

All share one small family base, `QMultiWeightConvMixin`, on top of `QConvMixin`: the
weights ('depthwise_kernel', 'pointwise_kernel', 'kernel', 'bias') are declared once in
``quantized_weights`` (`QuantizedWeight`), and each layer's ``_conv`` applies them.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from ..core.ebops import (
    conv_transpose_ebops,
    depthwise_conv_ebops,
    separable_conv_ebops,
)
from ._signature import Parameters, constructor, nones, parameters
from .base import QuantizedWeight, kernel_and_bias, kernel_bias_parameters
from .conv import QConvMixin


class QMultiWeightConvMixin(QConvMixin):
    """Convolutions with several quantized weights (``quantized_weights``), applied by ``_conv``."""

    def _quantized_weights(self, training: bool | None) -> dict:
        return {
            w.role: (self.quantized_weight(w.role, training) if w.role != "bias" or self.use_bias else None)
            for w in self.quantized_weights
        }

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        w = self._quantized_weights(training)
        y = self._conv(inputs, w)
        if self.use_bias:
            y = ops.add(y, w["bias"])
        self._add_ebops_loss(w, training)
        return self.quantize_output(y, training)

    def _bits(self, weights: dict | None) -> dict:
        if weights is None:
            weights = self._quantized_weights(None)
        return {role: (self.weight_bits(role, wq) if wq is not None else None) for role, wq in weights.items()}


@keras.saving.register_keras_serializable(package="hgq_compat")
class QDepthwiseConv2D(QMultiWeightConvMixin, keras.layers.DepthwiseConv2D):
    """Depthwise 2-D convolution with quantized weights (QKeras ``QDepthwiseConv2D``)."""

    quantized_weights = kernel_and_bias(4, "depthwise_kernel", "depthwise_quantizer", "depthwise")

    __init__ = constructor(
        parameters("kernel_size", strides=(1, 1), padding="VALID", depth_multiplier=1, data_format=None)
        + kernel_bias_parameters("depthwise")
        + parameters(dilation_rate=(1, 1))
        + nones("depthwise_quantizer", "bias_quantizer", "depthwise_range", "bias_range"),
        "_init_layer",
    )

    def _init_layer(self, arguments: dict, kwargs: dict) -> None:
        super()._init_layer({**arguments, "padding": str(arguments["padding"]).lower()}, kwargs)

    @property
    def depthwise_kernel(self) -> Any:
        return getattr(self, "kernel", None)

    def _conv(self, inputs: Any, w: dict) -> Any:
        return self._apply_kernel(inputs, w["depthwise_kernel"])

    def _apply_kernel(self, inputs: Any, kernel: Any) -> Any:
        return ops.depthwise_conv(inputs, kernel, **self._window, data_format=self.data_format)

    def _ebops(self, input_bits: Any, weights: dict | None = None) -> Any:
        b = self._bits(weights)
        return self._kernel_ebops(input_bits, b["depthwise_kernel"], b["bias"])

    def _kernel_ebops(self, input_bits: Any, kernel_bits: Any, bias_bits: Any) -> Any:
        return depthwise_conv_ebops(input_bits, kernel_bits, bias_bits, **self._window)


def _separable_weights(rank: int) -> tuple[QuantizedWeight, ...]:
    return (
        QuantizedWeight("depthwise_kernel", "depthwise_quantizer", rank, auto_po2=True, auto_range="depthwise"),
        QuantizedWeight("pointwise_kernel", "pointwise_quantizer", rank, auto_po2=True, auto_range="pointwise"),
        QuantizedWeight("bias", "bias_quantizer", 1, auto_range="bias", enabled_by="use_bias"),
    )


def _separable_parameters(rank: int) -> Parameters:
    """QKeras' QSeparableConv1D / QSeparableConv2D arguments (strides and dilation default to 1 per axis)."""
    one = 1 if rank == 1 else (1,) * rank
    return parameters(
        "filters",
        "kernel_size",
        strides=one,
        padding="valid",
        data_format=None,
        dilation_rate=one,
        depth_multiplier=1,
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        pointwise_initializer="glorot_uniform",
        bias_initializer="zeros",
    ) + nones(
        *(f"{w}_regularizer" for w in ("depthwise", "pointwise", "bias", "activity")),
        *(f"{w}_constraint" for w in ("depthwise", "pointwise", "bias")),
        *(f"{w}_quantizer" for w in ("depthwise", "pointwise", "bias")),
    )


class QSeparableConvMixin(QMultiWeightConvMixin):
    """Shared body of QSeparableConv1D and QSeparableConv2D."""

    def _conv(self, inputs: Any, w: dict) -> Any:
        k = (w["depthwise_kernel"], w["pointwise_kernel"])
        return ops.separable_conv(inputs, *k, **self._window, data_format=self.data_format)

    def _ebops(self, input_bits: Any, weights: dict | None = None) -> Any:
        b = self._bits(weights)
        return separable_conv_ebops(input_bits, b["depthwise_kernel"], b["pointwise_kernel"], b["bias"], **self._window)


@keras.saving.register_keras_serializable(package="hgq_compat")
class QSeparableConv1D(QSeparableConvMixin, keras.layers.SeparableConv1D):
    """Separable 1-D convolution with quantized weights (QKeras ``QSeparableConv1D``)."""

    quantized_weights = _separable_weights(3)
    __init__ = constructor(_separable_parameters(1), "_init_layer")


@keras.saving.register_keras_serializable(package="hgq_compat")
class QSeparableConv2D(QSeparableConvMixin, keras.layers.SeparableConv2D):
    """Separable 2-D convolution with quantized weights (QKeras ``QSeparableConv2D``)."""

    quantized_weights = _separable_weights(4)
    __init__ = constructor(_separable_parameters(2), "_init_layer")


@keras.saving.register_keras_serializable(package="hgq_compat")
class QConv2DTranspose(QMultiWeightConvMixin, keras.layers.Conv2DTranspose):
    """Transposed 2-D convolution with quantized weights (QKeras ``QConv2DTranspose``).

    QKeras 0.9.0 cannot run this layer under tf-keras; this implements what its code
    intends: Keras' Conv2DTranspose with the quantized kernel and bias.
    """

    quantized_weights = kernel_and_bias(4)

    __init__ = constructor(
        parameters(
            "filters",
            "kernel_size",
            strides=(1, 1),
            padding="valid",
            output_padding=None,
            data_format=None,
            dilation_rate=(1, 1),
        )
        + kernel_bias_parameters(initializer="glorot_uniform")
        + nones("kernel_quantizer", "bias_quantizer"),
        "_init_layer",
    )

    def _conv(self, inputs: Any, w: dict) -> Any:
        return ops.conv_transpose(
            inputs,
            w["kernel"],
            strides=self.strides,
            padding=self.padding,
            output_padding=self.output_padding,
            dilation_rate=self.dilation_rate,
            data_format=self.data_format,
        )

    def _ebops(self, input_bits: Any, weights: dict | None = None) -> Any:
        b = self._bits(weights)
        out_shape = self.compute_output_shape((None, *self._input_feature_shape))
        return conv_transpose_ebops(input_bits, b["kernel"], b["bias"], output_spatial=tuple(out_shape[1:-1]))
