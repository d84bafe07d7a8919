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
from .base import QuantizedWeight, kernel_and_bias
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

    def __init__(
        self,
        kernel_size: Any,
        strides: Any = (1, 1),
        padding: str = "VALID",
        depth_multiplier: int = 1,
        data_format: str | None = None,
        activation: Any = None,
        use_bias: bool = True,
        depthwise_initializer: Any = "he_normal",
        bias_initializer: Any = "zeros",
        depthwise_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        depthwise_constraint: Any = None,
        bias_constraint: Any = None,
        dilation_rate: Any = (1, 1),
        depthwise_quantizer: Any = None,
        bias_quantizer: Any = None,
        depthwise_range: Any = None,
        bias_range: Any = None,
        **kwargs: Any,
    ):
        super().__init__(
            **self._declare_quantized_weights(
                kwargs,
                kernel_size=kernel_size,
                strides=strides,
                padding=str(padding).lower(),
                depth_multiplier=depth_multiplier,
                data_format=data_format or "channels_last",
                activation=None,
                use_bias=use_bias,
                depthwise_initializer=depthwise_initializer,
                bias_initializer=bias_initializer,
                depthwise_regularizer=depthwise_regularizer,
                bias_regularizer=bias_regularizer,
                activity_regularizer=activity_regularizer,
                depthwise_constraint=depthwise_constraint,
                bias_constraint=bias_constraint,
                dilation_rate=dilation_rate,
                depthwise_quantizer=depthwise_quantizer,
                bias_quantizer=bias_quantizer,
            ),
            **kwargs,
        )
        self._finish_init(activation, {"depthwise_range": depthwise_range, "bias_range": bias_range})

    @property
    def depthwise_kernel(self) -> Any:
        return getattr(self, "kernel", None)

    def _conv(self, inputs: Any, w: dict) -> Any:
        return ops.depthwise_conv(
            inputs,
            w["depthwise_kernel"],
            strides=self.strides,
            padding=self.padding,
            dilation_rate=self.dilation_rate,
            data_format=self.data_format,
        )

    def _ebops(self, input_bits: Any, weights: dict | None = None) -> Any:
        b = self._bits(weights)
        return depthwise_conv_ebops(
            input_bits,
            b["depthwise_kernel"],
            b["bias"],
            strides=self.strides,
            padding=self.padding,
            dilation_rate=self.dilation_rate,
        )


def _separable_weights(rank: int) -> tuple[QuantizedWeight, ...]:
    return (
        QuantizedWeight("depthwise_kernel", "depthwise_quantizer", rank, auto_po2=True, auto_range="depthwise"),
        QuantizedWeight("pointwise_kernel", "pointwise_quantizer", rank, auto_po2=True, auto_range="pointwise"),
        QuantizedWeight("bias", "bias_quantizer", 1, auto_range="bias", enabled_by="use_bias"),
    )


class QSeparableConvMixin(QMultiWeightConvMixin):
    """Shared body of QSeparableConv1D and QSeparableConv2D."""

    def _conv(self, inputs: Any, w: dict) -> Any:
        return ops.separable_conv(
            inputs,
            w["depthwise_kernel"],
            w["pointwise_kernel"],
            strides=self.strides,
            padding=self.padding,
            dilation_rate=self.dilation_rate,
            data_format=self.data_format,
        )

    def _ebops(self, input_bits: Any, weights: dict | None = None) -> Any:
        b = self._bits(weights)
        return separable_conv_ebops(
            input_bits,
            b["depthwise_kernel"],
            b["pointwise_kernel"],
            b["bias"],
            strides=self.strides,
            padding=self.padding,
            dilation_rate=self.dilation_rate,
        )


@keras.saving.register_keras_serializable(package="hgq_compat")
class QSeparableConv1D(QSeparableConvMixin, keras.layers.SeparableConv1D):
    """Separable 1-D convolution with quantized weights (QKeras ``QSeparableConv1D``)."""

    quantized_weights = _separable_weights(3)

    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: Any = 1,
        depth_multiplier: int = 1,
        activation: Any = None,
        use_bias: bool = True,
        depthwise_initializer: Any = "glorot_uniform",
        pointwise_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        depthwise_regularizer: Any = None,
        pointwise_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        depthwise_constraint: Any = None,
        pointwise_constraint: Any = None,
        bias_constraint: Any = None,
        depthwise_quantizer: Any = None,
        pointwise_quantizer: Any = None,
        bias_quantizer: Any = None,
        **kwargs: Any,
    ):
        super().__init__(
            **self._declare_quantized_weights(
                kwargs,
                filters=filters,
                kernel_size=kernel_size,
                strides=strides,
                padding=padding,
                data_format=data_format or "channels_last",
                dilation_rate=dilation_rate,
                depth_multiplier=depth_multiplier,
                activation=None,
                use_bias=use_bias,
                depthwise_initializer=depthwise_initializer,
                pointwise_initializer=pointwise_initializer,
                bias_initializer=bias_initializer,
                depthwise_regularizer=depthwise_regularizer,
                pointwise_regularizer=pointwise_regularizer,
                bias_regularizer=bias_regularizer,
                activity_regularizer=activity_regularizer,
                depthwise_constraint=depthwise_constraint,
                pointwise_constraint=pointwise_constraint,
                bias_constraint=bias_constraint,
                depthwise_quantizer=depthwise_quantizer,
                pointwise_quantizer=pointwise_quantizer,
                bias_quantizer=bias_quantizer,
            ),
            **kwargs,
        )
        self._finish_init(activation, {})


@keras.saving.register_keras_serializable(package="hgq_compat")
class QSeparableConv2D(QSeparableConvMixin, keras.layers.SeparableConv2D):
    """Separable 2-D convolution with quantized weights (QKeras ``QSeparableConv2D``)."""

    quantized_weights = _separable_weights(4)

    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = (1, 1),
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: Any = (1, 1),
        depth_multiplier: int = 1,
        activation: Any = None,
        use_bias: bool = True,
        depthwise_initializer: Any = "glorot_uniform",
        pointwise_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        depthwise_regularizer: Any = None,
        pointwise_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        depthwise_constraint: Any = None,
        pointwise_constraint: Any = None,
        bias_constraint: Any = None,
        depthwise_quantizer: Any = None,
        pointwise_quantizer: Any = None,
        bias_quantizer: Any = None,
        **kwargs: Any,
    ):
        super().__init__(
            **self._declare_quantized_weights(
                kwargs,
                filters=filters,
                kernel_size=kernel_size,
                strides=strides,
                padding=padding,
                data_format=data_format or "channels_last",
                dilation_rate=dilation_rate,
                depth_multiplier=depth_multiplier,
                activation=None,
                use_bias=use_bias,
                depthwise_initializer=depthwise_initializer,
                pointwise_initializer=pointwise_initializer,
                bias_initializer=bias_initializer,
                depthwise_regularizer=depthwise_regularizer,
                pointwise_regularizer=pointwise_regularizer,
                bias_regularizer=bias_regularizer,
                activity_regularizer=activity_regularizer,
                depthwise_constraint=depthwise_constraint,
                pointwise_constraint=pointwise_constraint,
                bias_constraint=bias_constraint,
                depthwise_quantizer=depthwise_quantizer,
                pointwise_quantizer=pointwise_quantizer,
                bias_quantizer=bias_quantizer,
            ),
            **kwargs,
        )
        self._finish_init(activation, {})


@keras.saving.register_keras_serializable(package="hgq_compat")
class QConv2DTranspose(QMultiWeightConvMixin, keras.layers.Conv2DTranspose):
    """Transposed 2-D convolution with quantized weights (QKeras ``QConv2DTranspose``).

    QKeras 0.9.0 cannot run this layer under tf-keras; this implements what its code
    intends: Keras' Conv2DTranspose with the quantized kernel and bias.
    """

    quantized_weights = kernel_and_bias(4)

    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = (1, 1),
        padding: str = "valid",
        output_padding: Any = None,
        data_format: str | None = None,
        dilation_rate: Any = (1, 1),
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        kernel_quantizer: Any = None,
        bias_quantizer: Any = None,
        **kwargs: Any,
    ):
        super().__init__(
            **self._declare_quantized_weights(
                kwargs,
                filters=filters,
                kernel_size=kernel_size,
                strides=strides,
                padding=padding,
                output_padding=output_padding,
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
        self._finish_init(activation, {})

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
