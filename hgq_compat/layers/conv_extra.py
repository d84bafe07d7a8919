"""QDepthwiseConv2D, QSeparableConv1D/2D and QConv2DTranspose (QKeras signatures).

All share one small family base, `QMultiWeightConvMixin`, on top of `QConvMixin`: the
weights ('depthwise_kernel', 'pointwise_kernel', 'kernel', 'bias') are declared once as
(role, rank, auto_po2) and the mixin parses their quantizers, applies QKeras' automatic
Clip/QInitializer and serializes them.
"""

from __future__ import annotations

from typing import Any, Sequence

import keras
from keras import ops

from ..core.ebops import conv_transpose_ebops, depthwise_conv_ebops, separable_conv_ebops
from .conv import QConvMixin


class QMultiWeightConvMixin(QConvMixin):
    """Convolutions whose quantized weights are listed in ``_weight_roles``: tuples
    (role, rank offset to the spatial rank, auto_po2, keras constraint/initializer prefix)."""

    _weight_roles: Sequence[tuple[str, int, bool, str]] = ()

    def _prepare_weights(self, rank: int, kwargs: dict, quantizers: dict, weight_args: dict) -> dict:
        """Parse the quantizers (before the Keras base __init__) and return ``weight_args``
        with QKeras' automatic constraints and initializers applied."""
        self._init_quantization(kwargs)
        args = dict(weight_args)
        for role, extra_rank, auto_po2, prefix in self._weight_roles:
            q = self._set_weight_quantizer(role, quantizers.get(role), rank + extra_rank if role != "bias" else 1,
                                           auto_po2=auto_po2)
            setattr(self, f"{role.replace('_kernel', '')}_quantizer", q)
            if role == "bias" and not args["use_bias"]:
                continue
            args[f"{prefix}_constraint"], args[f"{prefix}_initializer"] = self.auto_range(
                q, args[f"{prefix}_constraint"], args[f"{prefix}_initializer"])
        return args

    def _finish_init(self, activation: Any, ranges: dict) -> None:
        if self.data_format != "channels_last":
            raise NotImplementedError(f"{type(self).__name__}: data_format={self.data_format!r}; "
                                      "only 'channels_last' is supported")
        for key, value in ranges.items():
            setattr(self, key, value)
        self._range_keys = tuple(ranges)
        self.activation = self._set_activation(activation)

    def _quantized_weights(self, training: bool | None) -> dict:
        return {role: (self.quantized_weight(role, training) if role != "bias" or self.use_bias else None)
                for role, *_ in self._weight_roles}

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

    def get_config(self) -> dict:
        config = self._base_config()
        config["activation"] = self._serialize_activation()
        qconfig = self._quantization_config()
        for role in ("depthwise_kernel", "pointwise_kernel"):  # QKeras' argument names
            if f"{role}_quantizer" in qconfig:
                qconfig[f"{role.replace('_kernel', '')}_quantizer"] = qconfig.pop(f"{role}_quantizer")
        config.update(qconfig)
        for key in self._range_keys:
            config[key] = getattr(self, key)
        return config

    def _base_config(self) -> dict:
        return super(QConvMixin, self).get_config()


@keras.saving.register_keras_serializable(package="hgq_compat")
class QDepthwiseConv2D(QMultiWeightConvMixin, keras.layers.DepthwiseConv2D):
    """Depthwise 2-D convolution with quantized weights (QKeras ``QDepthwiseConv2D``)."""

    _weight_roles = (("depthwise_kernel", 2, True, "depthwise"), ("bias", 0, False, "bias"))

    def __init__(self, kernel_size: Any, strides: Any = (1, 1), padding: str = "VALID", depth_multiplier: int = 1,
                 data_format: str | None = None, activation: Any = None, use_bias: bool = True,
                 depthwise_initializer: Any = "he_normal", bias_initializer: Any = "zeros",
                 depthwise_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 depthwise_constraint: Any = None, bias_constraint: Any = None, dilation_rate: Any = (1, 1),
                 depthwise_quantizer: Any = None, bias_quantizer: Any = None, depthwise_range: Any = None,
                 bias_range: Any = None, **kwargs: Any):
        args = self._prepare_weights(2, kwargs, {"depthwise_kernel": depthwise_quantizer, "bias": bias_quantizer}, dict(
            use_bias=use_bias, depthwise_initializer=depthwise_initializer, bias_initializer=bias_initializer,
            depthwise_constraint=depthwise_constraint, bias_constraint=bias_constraint))
        super().__init__(kernel_size=kernel_size, strides=strides, padding=str(padding).lower(),
                         depth_multiplier=depth_multiplier, data_format=data_format or "channels_last",
                         activation=None, depthwise_regularizer=depthwise_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         dilation_rate=dilation_rate, **args, **kwargs)
        self._finish_init(activation, {"depthwise_range": depthwise_range, "bias_range": bias_range})

    @property
    def depthwise_kernel(self) -> Any:
        return getattr(self, "kernel", None)

    def _conv(self, inputs: Any, w: dict) -> Any:
        return ops.depthwise_conv(inputs, w["depthwise_kernel"], strides=self.strides, padding=self.padding,
                                  dilation_rate=self.dilation_rate, data_format=self.data_format)

    def _ebops(self, input_bits: Any, weights: dict | None = None) -> Any:
        b = self._bits(weights)
        return depthwise_conv_ebops(input_bits, b["depthwise_kernel"], b["bias"], strides=self.strides,
                                    padding=self.padding, dilation_rate=self.dilation_rate)


class QSeparableConvMixin(QMultiWeightConvMixin):
    _weight_roles = (("depthwise_kernel", 2, True, "depthwise"), ("pointwise_kernel", 2, True, "pointwise"),
                     ("bias", 0, False, "bias"))

    def _init_separable(self, rank: int, filters: int, kernel_size: Any, strides: Any, padding: str,
                        data_format: Any, dilation_rate: Any, depth_multiplier: int, activation: Any, use_bias: bool,
                        initializers: dict, regularizers: dict, constraints: dict, quantizers: dict,
                        kwargs: dict) -> None:
        args = self._prepare_weights(rank, kwargs, quantizers, dict(use_bias=use_bias, **initializers, **constraints))
        keras_cls = keras.layers.SeparableConv1D if rank == 1 else keras.layers.SeparableConv2D
        keras_cls.__init__(self, filters=filters, kernel_size=kernel_size, strides=strides, padding=padding,
                           data_format=data_format or "channels_last", dilation_rate=dilation_rate,
                           depth_multiplier=depth_multiplier, activation=None, **regularizers, **args, **kwargs)
        self._finish_init(activation, {})

    def _conv(self, inputs: Any, w: dict) -> Any:
        return ops.separable_conv(inputs, w["depthwise_kernel"], w["pointwise_kernel"], strides=self.strides,
                                  padding=self.padding, dilation_rate=self.dilation_rate, data_format=self.data_format)

    def _ebops(self, input_bits: Any, weights: dict | None = None) -> Any:
        b = self._bits(weights)
        return separable_conv_ebops(input_bits, b["depthwise_kernel"], b["pointwise_kernel"], b["bias"],
                                    strides=self.strides, padding=self.padding, dilation_rate=self.dilation_rate)


def _separable_args(depthwise_initializer, pointwise_initializer, bias_initializer, depthwise_regularizer,
                    pointwise_regularizer, bias_regularizer, activity_regularizer, depthwise_constraint,
                    pointwise_constraint, bias_constraint, depthwise_quantizer, pointwise_quantizer, bias_quantizer):
    return dict(
        initializers=dict(depthwise_initializer=depthwise_initializer, pointwise_initializer=pointwise_initializer,
                          bias_initializer=bias_initializer),
        regularizers=dict(depthwise_regularizer=depthwise_regularizer, pointwise_regularizer=pointwise_regularizer,
                          bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer),
        constraints=dict(depthwise_constraint=depthwise_constraint, pointwise_constraint=pointwise_constraint,
                         bias_constraint=bias_constraint),
        quantizers={"depthwise_kernel": depthwise_quantizer, "pointwise_kernel": pointwise_quantizer,
                    "bias": bias_quantizer})


@keras.saving.register_keras_serializable(package="hgq_compat")
class QSeparableConv1D(QSeparableConvMixin, keras.layers.SeparableConv1D):
    """Separable 1-D convolution with quantized weights (QKeras ``QSeparableConv1D``)."""

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, depth_multiplier: int = 1,
                 activation: Any = None, use_bias: bool = True, depthwise_initializer: Any = "glorot_uniform",
                 pointwise_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 depthwise_regularizer: Any = None, pointwise_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, depthwise_constraint: Any = None, pointwise_constraint: Any = None,
                 bias_constraint: Any = None, depthwise_quantizer: Any = None, pointwise_quantizer: Any = None,
                 bias_quantizer: Any = None, **kwargs: Any):
        self._init_separable(1, filters, kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier,
                             activation, use_bias, kwargs=kwargs, **_separable_args(
                                 depthwise_initializer, pointwise_initializer, bias_initializer,
                                 depthwise_regularizer, pointwise_regularizer, bias_regularizer,
                                 activity_regularizer, depthwise_constraint, pointwise_constraint, bias_constraint,
                                 depthwise_quantizer, pointwise_quantizer, bias_quantizer))


@keras.saving.register_keras_serializable(package="hgq_compat")
class QSeparableConv2D(QSeparableConvMixin, keras.layers.SeparableConv2D):
    """Separable 2-D convolution with quantized weights (QKeras ``QSeparableConv2D``)."""

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = (1, 1), depth_multiplier: int = 1,
                 activation: Any = None, use_bias: bool = True, depthwise_initializer: Any = "glorot_uniform",
                 pointwise_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 depthwise_regularizer: Any = None, pointwise_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, depthwise_constraint: Any = None, pointwise_constraint: Any = None,
                 bias_constraint: Any = None, depthwise_quantizer: Any = None, pointwise_quantizer: Any = None,
                 bias_quantizer: Any = None, **kwargs: Any):
        self._init_separable(2, filters, kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier,
                             activation, use_bias, kwargs=kwargs, **_separable_args(
                                 depthwise_initializer, pointwise_initializer, bias_initializer,
                                 depthwise_regularizer, pointwise_regularizer, bias_regularizer,
                                 activity_regularizer, depthwise_constraint, pointwise_constraint, bias_constraint,
                                 depthwise_quantizer, pointwise_quantizer, bias_quantizer))


@keras.saving.register_keras_serializable(package="hgq_compat")
class QConv2DTranspose(QMultiWeightConvMixin, keras.layers.Conv2DTranspose):
    """Transposed 2-D convolution with quantized weights (QKeras ``QConv2DTranspose``).

    QKeras 0.9.0 cannot run this layer under tf-keras; this implements what its code
    intends: Keras' Conv2DTranspose with the quantized kernel and bias.
    """

    _weight_roles = (("kernel", 2, True, "kernel"), ("bias", 0, False, "bias"))

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
                 output_padding: Any = None, data_format: str | None = None, dilation_rate: Any = (1, 1),
                 activation: Any = None, use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None, bias_constraint: Any = None,
                 kernel_quantizer: Any = None, bias_quantizer: Any = None, **kwargs: Any):
        args = self._prepare_weights(2, kwargs, {"kernel": kernel_quantizer, "bias": bias_quantizer}, dict(
            use_bias=use_bias, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
            kernel_constraint=kernel_constraint, bias_constraint=bias_constraint))
        super().__init__(filters=filters, kernel_size=kernel_size, strides=strides, padding=padding,
                         output_padding=output_padding, data_format=data_format or "channels_last",
                         dilation_rate=dilation_rate, activation=None, kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer, **args, **kwargs)
        self._finish_init(activation, {})

    def _conv(self, inputs: Any, w: dict) -> Any:
        return ops.conv_transpose(inputs, w["kernel"], strides=self.strides, padding=self.padding,
                                  output_padding=self.output_padding, dilation_rate=self.dilation_rate,
                                  data_format=self.data_format)

    def _ebops(self, input_bits: Any, weights: dict | None = None) -> Any:
        b = self._bits(weights)
        out_shape = self.compute_output_shape((None, *self._input_feature_shape))
        return conv_transpose_ebops(input_bits, b["kernel"], b["bias"], output_spatial=tuple(out_shape[1:-1]))
