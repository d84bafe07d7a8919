"""QAdaptiveActivation: a quantized_bits / quantized_relu activation whose integer bits follow
an exponential moving average of the activation's min and max (QKeras 0.9.0 semantics).

Per call: the output is quantized with the integer bits of the previous call (straight-through;
in training the quantization noise factor is 0 before ``quantization_delay`` steps), then,
while the EMA is not frozen, ``ema_min``/``ema_max`` move towards the min/max of the
unquantized activation (per channel if ``per_channel``) and the integer bits are recomputed
from them (QKeras' ``_get_integer_bits``).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from ..quantizers import fixed, get_quantizer
from ..quantizers.functions import integer_bits_for_range as adaptive_integer_bits
from ..quantizers.functions import qkeras_output
from .base import QuantizedLayerMixin

SUPPORTED = ("quantized_bits", "quantized_relu")


class _AdaptiveQuantizer:
    """QKeras' ``QAdaptiveActivation.quantizer``: the layer's quantizer object, whose ``integer`` is
    the layer's per-channel integer-bits variable (``alpha`` 1, ``symmetric`` the layer's)."""

    def __init__(self, layer: QAdaptiveActivation):
        self._layer = layer
        self.bits = layer.total_bits
        self.symmetric = layer.symmetric
        self.keep_negative = layer.keep_negative
        self.alpha = 1.0
        self.use_sigmoid = 0
        self.negative_slope = layer.relu_neg_slope
        self.relu_upper_bound = layer.relu_upper_bound
        self.is_quantized_clip = False
        self.use_stochastic_rounding = False
        self.qnoise_factor = 1.0
        self.use_ste = True
        self.scale = 1.0

    @property
    def integer(self) -> Any:
        return self._layer.quantizer_integer

    def quantize(self, x: Any, training: bool = False) -> Any:
        x = ops.cast(x, "float32")
        x_u = self._layer._unquantized(x)
        return qkeras_output(x_u, self._layer._quantized(x), self.qnoise_factor, self.use_ste)

    def __str__(self) -> str:
        return self._layer.quantizer_string()

    def get_config(self) -> dict:
        return {"layer": self._layer.name, "quantizer": str(self)}


# QKeras' class names: its tests and QTools read ``type(layer.quantizer).__name__``
class quantized_bits(_AdaptiveQuantizer, fixed.quantized_bits):  # noqa: N801
    pass


class quantized_relu(_AdaptiveQuantizer, fixed.quantized_relu):  # noqa: N801
    pass


@keras.saving.register_keras_serializable(package="hgq_compat")
class QAdaptiveActivation(QuantizedLayerMixin, keras.layers.Layer):
    """QKeras ``QAdaptiveActivation`` (qkeras mode only)."""

    has_ebops = False

    def __init__(
        self,
        activation: str,
        total_bits: int,
        current_step: Any = None,
        symmetric: bool = True,
        quantization_delay: int = 0,
        ema_freeze_delay: int | None = None,
        ema_decay: float = 0.9999,
        per_channel: bool = False,
        po2_rounding: bool = False,
        relu_neg_slope: float = 0.0,
        relu_upper_bound: float | None = None,
        **kwargs: Any,
    ):
        self._init_quantization(kwargs)
        super().__init__(**kwargs)
        if self.hgq:
            raise NotImplementedError(
                "QAdaptiveActivation: mode='hgq' is not supported (its integer bits follow an "
                "EMA of the range; use QActivation with an HGQ quantizer instead)"
            )
        if activation not in SUPPORTED:
            raise ValueError(
                f"QAdaptiveActivation: activation={activation!r}; it must be one of {SUPPORTED} without parameters"
            )
        self._activation_name = activation
        self.total_bits = int(total_bits)
        self.symmetric = bool(symmetric)
        self.quantization_delay = int(quantization_delay)
        self.ema_freeze_delay = None if ema_freeze_delay is None else int(ema_freeze_delay)
        self.ema_decay = float(ema_decay)
        self.per_channel = bool(per_channel)
        self.po2_rounding = bool(po2_rounding)
        self.relu_neg_slope = float(relu_neg_slope)
        self.relu_upper_bound = relu_upper_bound
        self.keep_negative = activation == "quantized_bits" or self.relu_neg_slope != 0.0
        self._estimating_step = current_step is None
        # a Keras or backend (tf.Variable) variable is followed; a number is the initial step
        self._external_step = current_step if hasattr(current_step, "assign_add") else None
        self._initial_step = (
            -1 if current_step is None or self._external_step is not None else int(np.asarray(current_step))
        )

    def build(self, input_shape: tuple) -> None:
        channels = int(input_shape[-1]) if self.per_channel else 1
        if self._external_step is not None:
            self.step = self._external_step
        else:
            self.step = self.add_weight(
                name="step",
                shape=(),
                dtype="int64",
                trainable=False,
                initializer=keras.initializers.Constant(self._initial_step),
            )
        self.ema_min = self.add_weight(name="ema_min", shape=(channels,), trainable=False, initializer="zeros")
        self.ema_max = self.add_weight(name="ema_max", shape=(channels,), trainable=False, initializer="zeros")
        self.quantizer_integer = self.add_weight(
            name="quantizer_integer_bits", shape=(channels,), trainable=False, initializer="zeros"
        )
        self.quantizer_integer.assign(self._integer_bits())
        self._quantizer = (quantized_bits if self._activation_name == "quantized_bits" else quantized_relu)(self)
        self._input_feature_shape = tuple(input_shape[1:])
        self.built = True

    #: Variables that QKeras does not save (its quantizer's integer bits): `restore_derived_weights` recomputes them.
    legacy_derived_weights = ("quantizer_integer_bits",)

    def restore_derived_weights(self) -> None:
        """Integer bits from the EMA range, as QKeras sets them at the end of every call."""
        self.quantizer_integer.assign(self._integer_bits())

    def _integer_bits(self) -> Any:
        return adaptive_integer_bits(
            self.ema_min, self.ema_max, self.total_bits, self.symmetric, self.keep_negative, self.po2_rounding
        )

    # ---------------------------------------------------------------- the quantizer
    def _unquantized(self, x: Any) -> Any:
        """The activation without quantization (what qnoise_factor=0 gives)."""
        if self._activation_name == "quantized_bits":
            return x
        y = ops.where(x >= 0, x, x * self.relu_neg_slope)
        if self.relu_upper_bound is not None:
            y = ops.where(x <= self.relu_upper_bound, y, ops.ones_like(x) * self.relu_upper_bound)
        return y

    def _quantized(self, x: Any) -> Any:
        mi = ops.power(2.0, self.quantizer_integer)
        if self._activation_name == "quantized_bits":
            m = float(2 ** (self.total_bits - 1))
            return mi * ops.clip(ops.round(x * m / mi), -m + float(self.symmetric), m - 1) / m
        nsb = self.total_bits - int(self.relu_neg_slope != 0.0)
        m = float(2**nsb)
        p = x * m / mi
        xq = mi * ops.clip(ops.round(p) / m, 0.0, 1.0 - 1.0 / m)
        if self.relu_neg_slope > 0:
            neg = 1.0 / (self.relu_neg_slope * m)
            xq = xq + mi * self.relu_neg_slope * ops.clip(ops.round(p * self.relu_neg_slope) * neg, -1.0, 0.0)
        if self.relu_upper_bound:
            xq = ops.where(xq <= self.relu_upper_bound, xq, ops.ones_like(xq) * self.relu_upper_bound)
        return xq

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        x = ops.cast(inputs, "float32")
        training = bool(training) and self.trainable
        if training and self._estimating_step:
            self.step.assign_add(ops.cast(1, self.step.dtype))
        x_u = self._unquantized(x)
        xq = self._quantized(x)
        if training:
            noise = ops.cast(ops.greater_equal(ops.convert_to_tensor(self.step), self.quantization_delay), "float32")
        else:
            noise = 1.0
        out = x_u + ops.stop_gradient(noise * (xq - x_u))

        if self.ema_freeze_delay:  # as QKeras: the freeze test replaces the training test
            ema_training = ops.logical_not(ops.greater(ops.convert_to_tensor(self.step), self.ema_freeze_delay))
        else:
            ema_training = training
        if ema_training is not False:
            axes = tuple(range(len(x.shape) - 1)) if self.per_channel else tuple(range(len(x.shape)))
            if len(x.shape) == 1:
                axes = (0,)
            act = ops.stop_gradient(x_u)
            new_min = ops.reshape(ops.min(act, axis=axes), (-1,))
            new_max = ops.reshape(ops.max(act, axis=axes), (-1,))
            decay = self.ema_decay
            upd_min = self.ema_min - (self.ema_min - new_min) * (1.0 - decay)
            upd_max = self.ema_max - (self.ema_max - new_max) * (1.0 - decay)
            if ema_training is not True:
                upd_min = ops.where(ema_training, upd_min, ops.convert_to_tensor(self.ema_min))
                upd_max = ops.where(ema_training, upd_max, ops.convert_to_tensor(self.ema_max))
            self.ema_min.assign(upd_min)
            self.ema_max.assign(upd_max)
            self.quantizer_integer.assign(self._integer_bits())
        return out

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def quantizer_string(self) -> str:
        """QKeras' ``str(quantizer)`` for the current integer bits (first channel)."""
        i = int(np.asarray(ops.convert_to_numpy(self.quantizer_integer))[0]) if self.built else 0
        if self._activation_name == "quantized_relu":
            return f"quantized_relu({self.total_bits},{i})"
        return f"quantized_bits({self.total_bits},{i},{int(self.symmetric)},alpha=1.0)"

    @property
    def quantizer(self) -> Any:
        """QKeras' ``quantizer`` object: ``get_quantizer(activation)`` before build, then a
        ``quantized_bits`` / ``quantized_relu`` of ``total_bits`` bits whose ``integer`` is the layer's
        integer-bits variable (its ``str`` is `quantizer_string`)."""
        if not self.built:
            return get_quantizer(self._activation_name)
        return self._quantizer

    @property
    def activation(self) -> Any:
        """QKeras' ``activation``: the `quantizer` object."""
        return self.quantizer

    def get_config(self) -> dict:
        config = super().get_config()
        step = self._initial_step
        if self.built and self._external_step is None:
            step = int(ops.convert_to_numpy(self.step))
        config.update(
            {
                "activation": self._activation_name,
                "total_bits": self.total_bits,
                "current_step": step,
                "symmetric": self.symmetric,
                "quantization_delay": self.quantization_delay,
                "ema_freeze_delay": self.ema_freeze_delay,
                "ema_decay": self.ema_decay,
                "per_channel": self.per_channel,
                "po2_rounding": self.po2_rounding,
                "relu_neg_slope": self.relu_neg_slope,
                "relu_upper_bound": self.relu_upper_bound,
            }
        )
        config.update(self._quantization_config())
        return config
