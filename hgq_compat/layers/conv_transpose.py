"""QDepthwiseConv2DTranspose and QSeparableConv2DTranspose (QKeras master signatures and numerics).

Both are Keras' Conv2DTranspose with their own weights, built as QKeras master builds them (the
kernel, pointwise kernel and bias use ``kernel_*`` / ``bias_*`` initializers, regularizers and
constraints; no automatic Clip constraint):

- `QDepthwiseConv2DTranspose`: ``depthwise_kernel`` (kh, kw, C, group_size). The C input channels
  are split into C / group_size groups; group i is transposed-convolved with
  ``kernel[:, :, g*i:g*(i+1), :]`` into g channels, so the output has C channels (``filters`` only
  sizes the bias). Then ``depthwise_activation``. As in QKeras the bias weight is created but never
  added, ``activation`` / ``depth_multiplier`` are stored but not applied, and ``output_padding``
  is ignored (QKeras never passes it on to Conv2DTranspose; a warning says so).
- `QSeparableConv2DTranspose`: the same with group_size 1 and ``depthwise_kernel`` (kh, kw, 1, C),
  then ``depthwise_activation``, then a 1x1 transposed convolution with ``pointwise_kernel``
  (1, 1, filters, C) (stride 1, no output padding), the bias, ``pointwise_activation``.

A grouped transposed convolution is one ``ops.conv_transpose`` with the block-diagonal (kh, kw, C, C)
kernel (`grouped_transpose_kernel`): the products outside the blocks are exact zeros.
"""

from __future__ import annotations

import warnings
from typing import Any

import keras
import numpy as np
from keras import ops

from ..core.ebops import conv_transpose_ebops, dense_ebops
from ..quantizers import (
    get_quantizer,
    is_quantizer,
    make_quantizer_layer,
    serialize_quantizer,
)
from ._signature import constructor, nones, parameters
from .base import QuantizedWeight, _broadcast_bits, kernel_and_bias
from .conv_extra import QMultiWeightConvMixin


def grouped_transpose_kernel(kernel: Any, group_size: int) -> Any:
    """A grouped kernel (kh, kw, C, g) as the (kh, kw, C, C) kernel of one transposed convolution:
    output channel o reads input channel i through ``kernel[..., o, i % g]`` when o // g == i // g,
    and is 0 otherwise."""
    c = int(kernel.shape[2])
    full = ops.tile(kernel, (1, 1, 1, c // group_size))
    group = np.arange(c) // group_size
    mask = (group[:, None] == group[None, :]).astype("float32")
    return full * ops.convert_to_tensor(mask, dtype=full.dtype)


#: QKeras master's stride, padding and depth arguments of both transposed convolutions
_TRANSPOSE_SHAPE = parameters(strides=(1, 1), padding="valid", output_padding=None, depth_multiplier=1)


class QConvTransposeMixin(QMultiWeightConvMixin):
    """Shared body of the QKeras master transposed convolutions with their own weights."""

    _output_activation: str  #: the argument whose quantizer is the output quantizer

    def _init_layer(self, arguments: dict, kwargs: dict) -> None:
        """The shared constructor body (`constructor`): ``arguments`` the QKeras arguments by name."""
        arguments = dict(arguments)
        if "group_size" in arguments:
            self.group_size = int(arguments.pop("group_size"))
        self.depth_multiplier = arguments.pop("depth_multiplier")
        activations = {key: arguments.pop(key) for key in list(arguments) if key.endswith("_activation")}
        activation = kwargs.pop("activation", None)  # stored, not applied (as QKeras)
        keras_args = self._declare_quantized_weights(kwargs, **arguments)
        if keras_args.pop("output_padding", None) is not None:
            warnings.warn(
                f"{type(self).__name__}: output_padding is ignored, as in QKeras master (whose layer "
                "never passes it on to Conv2DTranspose)",
                stacklevel=3,
            )
        groups = kwargs.pop("groups", 1)  # tf-keras' Conv2DTranspose config key (always 1 there)
        if groups not in (None, 1):
            raise ValueError(f"{type(self).__name__}: groups={groups!r}; only 1 is accepted (use group_size)")
        keras.layers.Conv2DTranspose.__init__(self, activation=None, **keras_args, **kwargs)
        if self.data_format != "channels_last":
            raise NotImplementedError(
                f"{type(self).__name__}: data_format={self.data_format!r}; only 'channels_last' is supported"
            )
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:  # as QKeras (Keras 2's conv2d_transpose)
            raise ValueError(
                f"{type(self).__name__}: `strides > 1` not supported in conjunction with "
                f"`dilation_rate > 1`. Received: strides={self.strides} and "
                f"dilation_rate={self.dilation_rate}"
            )
        if self.dilation_rate[0] != self.dilation_rate[1]:
            raise ValueError(
                f"{type(self).__name__}: Expected the 2 dimensions of the `dilation_rate` argument to be "
                f"equal to each other. Received: dilation_rate={self.dilation_rate}"
            )
        # stored, as QKeras, but never applied: parsed as `_set_activation` does, without its HGQ-mode refusal of
        # quantizers that are not fixed point (a quantizer that is never applied is accepted in both modes)
        # also Keras 3's serialized functions (qkeras-v3: {'module': 'keras.activations', ...})
        act = get_quantizer(activation)
        self.activation = act if is_quantizer(act) else keras.activations.get(act)
        if self.activation is not keras.activations.linear:
            warnings.warn(
                f"{type(self).__name__}: activation={activation!r} is not applied (as in QKeras); "
                "use depthwise_activation / pointwise_activation",
                stacklevel=3,
            )
        self._activation_args = {key: self._split_activation(value) for key, value in activations.items()}
        for key in self._activation_args:
            setattr(self, key, self._activation_object(key))  # QKeras' attribute: get_quantizer(<key>)
        self._activation_quantizer = self._activation_args[self._output_activation][0]

    def _split_activation(self, value: Any) -> tuple:
        """(quantizer, None) or (None, Keras activation), parsed by `_set_activation`; (None, None) for None."""
        if value is None:
            return None, None
        act = self._set_activation(value)
        return (act, None) if self._activation_quantizer is not None else (None, act)

    def _activation_object(self, key: str) -> Any:
        """QKeras' ``get_quantizer(<key>)``: the quantizer, the Keras activation or None."""
        q, fn = self._activation_args[key]
        return q if q is not None else fn

    def get_prunable_weights(self) -> list:
        """As QKeras master: the kernels and the bias (if any)."""
        return [getattr(self, role) for role in self.weight_roles()]

    def float_activations(self) -> dict:
        """{argument: Keras function} of the depthwise/pointwise activations that are not QKeras quantizers."""
        return {key: fn for key, (q, fn) in self._activation_args.items() if q is None and fn is not None}

    def _activate(self, key: str, layer: Any, y: Any, training: bool | None) -> Any:
        if layer is not None:
            return layer(y, training=training)
        fn = self._activation_args[key][1]
        return y if fn is None else fn(y)

    def build(self, input_shape: tuple) -> None:
        c = int(input_shape[-1])
        self._check_channels(c)
        self.input_spec = keras.layers.InputSpec(min_ndim=4, axes={-1: c})
        for role, shape in self._shapes(c).items():
            if role == "bias":
                self.bias = (
                    self.add_weight(
                        name="bias",
                        shape=shape,
                        initializer=self.bias_initializer,
                        regularizer=self.bias_regularizer,
                        constraint=self.bias_constraint,
                        dtype=self.dtype,
                    )
                    if self.use_bias
                    else None
                )
            else:
                setattr(
                    self,
                    role,
                    self.add_weight(
                        name=role,
                        shape=shape,
                        initializer=self.kernel_initializer,
                        regularizer=self.kernel_regularizer,
                        constraint=self.kernel_constraint,
                        dtype=self.dtype,
                    ),
                )
        self._build_quantizers(input_shape)

    def _check_channels(self, c: int) -> None:
        pass

    def _transpose(self, inputs: Any, kernel: Any) -> Any:
        return ops.conv_transpose(
            inputs,
            kernel,
            strides=self.strides,
            padding=self.padding,
            output_padding=self.output_padding,
            dilation_rate=self.dilation_rate,
            data_format=self.data_format,
        )

    def _spatial_shape(self, input_shape: tuple) -> tuple:
        return tuple(keras.layers.Conv2DTranspose.compute_output_shape(self, input_shape)[:-1])

    def get_quantizers(self) -> list:
        return self.quantizers + [self._activation_object(key) for key in self._activation_args]

    def get_config(self) -> dict:
        config = keras.layers.Conv2DTranspose.get_config(self)
        config["activation"] = keras.activations.serialize(self.activation)
        config.update(self._quantization_config())
        config["depth_multiplier"] = self.depth_multiplier
        config["groups"] = 1  # QKeras' (tf-keras') key
        for key, (q, fn) in self._activation_args.items():
            config[key] = (
                serialize_quantizer(q) if q is not None else (None if fn is None else keras.activations.serialize(fn))
            )
        return config


@keras.saving.register_keras_serializable(package="hgq_compat")
class QDepthwiseConv2DTranspose(QConvTransposeMixin, keras.layers.Conv2DTranspose):
    """Grouped (depthwise for group_size=1) transposed 2-D convolution with a quantized kernel
    (QKeras master ``QDepthwiseConv2DTranspose``); output channels = input channels."""

    quantized_weights = kernel_and_bias(4, "depthwise_kernel", "depthwise_kernel_quantizer", auto_range=None)

    _output_activation = "depthwise_activation"
    __init__ = constructor(
        parameters("filters", "kernel_size", group_size=1)
        + _TRANSPOSE_SHAPE
        + nones("depthwise_activation")
        + parameters(use_bias=True)
        + nones("depthwise_kernel_quantizer", "bias_quantizer"),
        "_init_layer",
    )

    def _shapes(self, c: int) -> dict:
        return {"depthwise_kernel": (*self.kernel_size, c, self.group_size), "bias": (self.filters,)}

    def _check_channels(self, c: int) -> None:
        if self.group_size < 1 or c % self.group_size:
            raise ValueError(
                f"{type(self).__name__} {self.name!r}: input channels ({c}) should be exactly divisible "
                f"by group_size ({self.group_size})"
            )

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (*self._spatial_shape(input_shape), input_shape[-1])

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        kq = self.quantized_weight("depthwise_kernel", training)
        y = self._transpose(inputs, grouped_transpose_kernel(kq, self.group_size))
        self._add_ebops_loss({"depthwise_kernel": kq}, training)
        return self._activate("depthwise_activation", self.output_quantizer, y, training)

    def _ebops(self, input_bits: Any, weights: dict | None = None) -> Any:
        kq = self.quantized_weight("depthwise_kernel") if weights is None else weights["depthwise_kernel"]
        bits = grouped_transpose_kernel(self.weight_bits("depthwise_kernel", kq), self.group_size)
        return conv_transpose_ebops(input_bits, bits)

    def get_config(self) -> dict:
        config = super().get_config()
        config["group_size"] = self.group_size
        return config


@keras.saving.register_keras_serializable(package="hgq_compat")
class QSeparableConv2DTranspose(QConvTransposeMixin, keras.layers.Conv2DTranspose):
    """Depthwise transposed 2-D convolution, then a pointwise one, with quantized kernels, bias and
    intermediate/output activations (QKeras master ``QSeparableConv2DTranspose``)."""

    quantized_weights = (
        QuantizedWeight("depthwise_kernel", "depthwise_kernel_quantizer", 4, auto_po2=True),
        *kernel_and_bias(4, "pointwise_kernel", "pointwise_kernel_quantizer", auto_range=None),
    )

    _output_activation = "pointwise_activation"
    __init__ = constructor(
        parameters("filters", "kernel_size")
        + _TRANSPOSE_SHAPE
        + nones("depthwise_activation", "pointwise_activation")
        + parameters(use_bias=True)
        + nones("depthwise_kernel_quantizer", "pointwise_kernel_quantizer", "bias_quantizer"),
        "_init_layer",
    )

    def _init_layer(self, arguments: dict, kwargs: dict) -> None:
        super()._init_layer(arguments, kwargs)
        # an instance attribute, set once the layer exists: a class-level None would hide the
        # sublayer assigned in build() from torch's module lookup
        self.depthwise_activation_quantizer = None  # the quantizer layer of depthwise_activation, once built

    def _shapes(self, c: int) -> dict:
        return {
            "depthwise_kernel": (*self.kernel_size, 1, c),
            "pointwise_kernel": (1, 1, self.filters, c),
            "bias": (self.filters,),
        }

    def build(self, input_shape: tuple) -> None:
        super().build(input_shape)
        q = self._activation_args["depthwise_activation"][0]
        if q is not None:
            layer = make_quantizer_layer(
                q, self.mode, self.qconfig.activation_granularity, False, "depthwise_activation_quantizer"
            )
            layer.build(self._mid_shape(input_shape))
            self.depthwise_activation_quantizer = layer

    def _mid_shape(self, input_shape: tuple) -> tuple:
        return (*self._spatial_shape(input_shape), int(input_shape[-1]))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (*self._spatial_shape(input_shape), self.filters)

    @staticmethod
    def _diagonal(depthwise: Any) -> Any:
        kh, kw, _, c = (int(d) for d in depthwise.shape)
        return grouped_transpose_kernel(ops.reshape(depthwise, (kh, kw, c, 1)), 1)

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        w = self._quantized_weights(training)
        x = self._transpose(inputs, self._diagonal(w["depthwise_kernel"]))
        x = self._activate("depthwise_activation", self.depthwise_activation_quantizer, x, training)
        y = ops.conv_transpose(x, w["pointwise_kernel"], strides=1, padding="valid", data_format=self.data_format)
        if self.use_bias:
            y = ops.add(y, w["bias"])
        self._add_ebops_loss(w, training)
        return self._activate("pointwise_activation", self.output_quantizer, y, training)

    def _ebops(self, input_bits: Any, weights: dict | None = None) -> Any:
        """Depthwise products, then pointwise products of the intermediate: at the bits of
        ``depthwise_activation`` when it is a quantizer, else (as `separable_conv_ebops`) per channel
        max(input bits) + max(depthwise kernel bits)."""
        b = self._bits(weights)
        total = conv_transpose_ebops(input_bits, self._diagonal(b["depthwise_kernel"]))
        mid_shape = self._mid_shape((None, *self._input_feature_shape))[1:]
        if self.depthwise_activation_quantizer is not None:
            mid = _broadcast_bits(self.depthwise_activation_quantizer.bits(), mid_shape)
        else:
            c = int(mid_shape[-1])
            in_max = ops.max(ops.reshape(ops.cast(input_bits, "float32"), (-1, c)), axis=0)
            k_max = ops.max(ops.reshape(ops.cast(b["depthwise_kernel"], "float32"), (-1, c)), axis=0)
            mid = _broadcast_bits(ops.where(ops.greater(k_max, 0.0), in_max + k_max, ops.zeros_like(k_max)), mid_shape)
        pointwise = ops.transpose(ops.reshape(b["pointwise_kernel"], (self.filters, -1)))  # (C, filters)
        return total + dense_ebops(mid, pointwise, b["bias"])
