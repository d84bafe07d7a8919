"""QAveragePooling2D and QGlobalAveragePooling2D (QKeras signatures).

QKeras computes ``keras_average(x) * area * average_quantizer(1 / area)`` and then applies
``activation`` (a quantizer or a Keras activation).
"""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

from ..core.ebops import pooling_ebops
from ..quantizers import is_quantizer, make_quantizer_layer
from .base import QuantizedLayerMixin, _serialize


class QAveragePoolingMixin(QuantizedLayerMixin):
    """Shared body: quantized 1/area factor, output quantizer, EBOPs of the adds."""

    def _init_pooling(self, kwargs: dict, average_quantizer: Any) -> None:
        self._init_quantization(kwargs)
        q = self._parse_quantizer("average_quantizer", average_quantizer)
        if self.hgq and q is not None and is_quantizer(q):
            q.hgq_spec(())  # raises NotImplementedError for non fixed-point quantizers
        self.average_quantizer = q
        self.quantizers_list = [q]
        # QKeras' average_quantizer_internal before build: the quantizer object (the quantizer layer once built)
        object.__setattr__(self, "average_quantizer_internal", q)

    def _finish_pooling(self, activation: Any) -> None:
        self.activation = self._set_activation(activation)

    def _channels_last_bits(self, input_bits: Any) -> Any:
        """Input bits (no batch axis) with the channel axis last."""
        return ops.transpose(input_bits, (1, 2, 0)) if self.data_format == "channels_first" else input_bits

    @property
    def quantizers(self) -> list:
        return [self.average_quantizer]

    def build(self, input_shape: tuple) -> None:
        self._build_quantizers(input_shape)
        self.average_quantizer_internal = None
        if self.average_quantizer is not None:
            self.average_quantizer_internal = make_quantizer_layer(
                self.average_quantizer, self.mode, (), True, "average_quantizer"
            )
            self.average_quantizer_internal.build(())
        self.built = True

    def _pool_area(self, input_shape: tuple) -> int:
        raise NotImplementedError

    def _average(self, inputs: Any) -> Any:
        """The Keras average pooling of ``inputs`` (padding excluded from each window's count)."""
        return super().call(inputs)

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        x = self._average(inputs)
        if self.average_quantizer_internal is not None:
            area = self._pool_area(tuple(inputs.shape))
            factor = self.average_quantizer_internal(
                ops.convert_to_tensor(1.0 / area, dtype="float32"), training=training
            )
            x = x * float(area)
            x = x * ops.cast(factor, x.dtype)
        if training and self.hgq and self.has_ebops:
            self.add_loss(getattr(self, self._ebops_beta_attr) * self._ebops(self.input_bits()))
        return self.quantize_output(x, training)

    def get_config(self) -> dict:
        config = super().get_config()
        config["average_quantizer"] = _serialize(self.average_quantizer) if self.average_quantizer is not None else None
        config["activation"] = self._serialize_activation()
        config.update(self._quantization_config())
        return config


@keras.saving.register_keras_serializable(package="hgq_compat")
class QAveragePooling2D(QAveragePoolingMixin, keras.layers.AveragePooling2D):
    """Average pooling with a quantized 1/area factor (QKeras ``QAveragePooling2D``)."""

    def __init__(
        self,
        pool_size: Any = (2, 2),
        strides: Any = None,
        padding: str = "valid",
        data_format: str | None = None,
        average_quantizer: Any = None,
        activation: Any = None,
        **kwargs: Any,
    ):
        self._init_pooling(kwargs, average_quantizer)
        super().__init__(
            pool_size=pool_size, strides=strides, padding=padding, data_format=data_format or "channels_last", **kwargs
        )
        self._finish_pooling(activation)

    def _pool_area(self, input_shape: tuple) -> int:
        return math.prod(self.pool_size)

    def _average(self, inputs: Any) -> Any:
        """On torch with padding='same': window sum / number of input pixels in the window, as TensorFlow
        and JAX compute it (Keras 3.15's torch ``average_pool`` pads uneven 'same' borders by replicating
        edge pixels, which then count as inputs). The sums are a depthwise convolution with a ones kernel.
        Elsewhere Keras' own average pooling (TensorFlow's graph-mode convolution does not reproduce its
        average pooling bit for bit)."""
        if self.padding != "same" or keras.backend.backend() != "torch":
            return super()._average(inputs)
        axis = -1 if self.data_format == "channels_last" else 1
        ones = ops.ones(tuple(self.pool_size) + (int(inputs.shape[axis]), 1), dtype=inputs.dtype)
        sums = ops.depthwise_conv(inputs, ones, self.strides, "same", self.data_format)
        px = tuple(inputs.shape[1:3] if axis == -1 else inputs.shape[2:4])
        shape = (1, *px, 1) if axis == -1 else (1, 1, *px)
        counts = ops.depthwise_conv(
            ops.ones(shape, dtype=inputs.dtype), ones[:, :, :1], self.strides, "same", self.data_format
        )
        return sums / counts

    def _ebops(self, input_bits: Any, weights: dict | None = None) -> Any:
        return pooling_ebops(self._channels_last_bits(input_bits), self.pool_size, self.strides, self.padding)


@keras.saving.register_keras_serializable(package="hgq_compat")
class QGlobalAveragePooling2D(QAveragePoolingMixin, keras.layers.GlobalAveragePooling2D):
    """Global average pooling with a quantized 1/area factor (QKeras ``QGlobalAveragePooling2D``)."""

    def __init__(
        self, data_format: str | None = None, average_quantizer: Any = None, activation: Any = None, **kwargs: Any
    ):
        self._init_pooling(kwargs, average_quantizer)
        super().__init__(data_format=data_format or "channels_last", **kwargs)
        if self.keepdims:
            raise NotImplementedError(
                f"{type(self).__name__}: keepdims=True is not supported (QKeras has no such argument)"
            )
        self._finish_pooling(activation)

    def _pool_area(self, input_shape: tuple) -> int:
        h, w = (1, 2) if self.data_format == "channels_last" else (2, 3)
        return int(input_shape[h]) * int(input_shape[w])

    def _ebops(self, input_bits: Any, weights: dict | None = None) -> Any:
        return pooling_ebops(self._channels_last_bits(input_bits))
