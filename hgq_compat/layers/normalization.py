"""QBatchNormalization: Keras BatchNormalization with quantized gamma, beta, mean and variance.

As QKeras 0.9.0: gamma/beta are quantized by their quantizers; in inference the moving mean
and variance go through ``mean_quantizer`` / ``variance_quantizer``; in training the batch
mean and variance do, and the moving averages are updated with the unquantized batch
statistics (``moving -= (moving - batch) * (1 - momentum)``). The output is
``x * inv + (beta - mean * inv)`` with ``inv = gamma / sqrt(variance + epsilon)``.
"""

from __future__ import annotations

import warnings
from typing import Any

import keras
from keras import ops

from ..core.ebops import scale_shift_ebops
from .base import QuantizedLayerMixin, QuantizedWeight

_DISABLED = ("fused", "renorm", "virtual_batch_size", "adjustment", "renorm_clipping", "renorm_momentum")


@keras.saving.register_keras_serializable(package="hgq_compat")
class QBatchNormalization(QuantizedLayerMixin, keras.layers.BatchNormalization):
    """Batch normalization with quantized parameters (QKeras ``QBatchNormalization``).

    The defaults are QKeras': power-of-two quantizers for all four parameters.
    """

    _ebops_beta_attr = "ebops_beta"
    # QKeras order of `quantizers`: gamma, beta, mean, variance
    quantized_weights = (
        QuantizedWeight("gamma", "gamma_quantizer", 1, auto_po2=True, auto_range="gamma", enabled_by="scale"),
        QuantizedWeight("beta", "beta_quantizer", 1, auto_range="beta", enabled_by="center"),
        QuantizedWeight("moving_mean", "mean_quantizer", 1),
        QuantizedWeight("moving_variance", "variance_quantizer", 1, auto_po2=True),
    )

    def __init__(
        self,
        axis: int = -1,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        activation: Any = None,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        moving_mean_initializer: Any = "zeros",
        moving_variance_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_quantizer: Any = "quantized_po2(5)",
        gamma_quantizer: Any = "quantized_relu_po2(6, 2048)",
        mean_quantizer: Any = "quantized_po2(5)",
        variance_quantizer: Any = "quantized_relu_po2(6, quadratic_approximation=True)",
        gamma_constraint: Any = None,
        beta_constraint: Any = None,
        beta_range: Any = None,
        gamma_range: Any = None,
        inverse_quantizer: Any = None,
        **kwargs: Any,
    ):
        for key in _DISABLED:  # QKeras warns and drops these
            if kwargs.pop(key, None):
                warnings.warn(f"QBatchNormalization: {key} is disabled (as in QKeras); ignoring it")
        if kwargs.pop("synchronized", False):
            raise NotImplementedError("QBatchNormalization: synchronized=True is not supported")
        args = self._declare_quantized_weights(
            kwargs,
            axis=axis,
            momentum=momentum,
            epsilon=epsilon,
            center=center,
            scale=scale,
            beta_initializer=beta_initializer,
            gamma_initializer=gamma_initializer,
            moving_mean_initializer=moving_mean_initializer,
            moving_variance_initializer=moving_variance_initializer,
            beta_regularizer=beta_regularizer,
            gamma_regularizer=gamma_regularizer,
            beta_constraint=beta_constraint,
            gamma_constraint=gamma_constraint,
            beta_quantizer=beta_quantizer,
            gamma_quantizer=gamma_quantizer,
            mean_quantizer=mean_quantizer,
            variance_quantizer=variance_quantizer,
        )
        self.inverse_quantizer = self._inverse_quantizer(inverse_quantizer, gamma_quantizer, variance_quantizer)
        super().__init__(**args, **kwargs)
        self.beta_range = beta_range
        self.gamma_range = gamma_range
        self._activation_arg = activation  # stored and saved, never applied (as QKeras)

    def _inverse_quantizer(self, inverse: Any, gamma: Any, variance: Any) -> Any:
        """QKeras master's ``inverse_quantizer`` of gamma / sqrt(variance + epsilon) (QKeras mode only)."""
        if inverse is None:
            return None
        from ..quantizers import get_quantizer
        from .base import deserialize_quantizer_arg

        if gamma is not None or variance is not None:
            raise ValueError(
                "QBatchNormalization: If using the inverse quantizer, the gamma and variance quantizers "
                "should not be used in order to avoid quantizing a value twice (pass gamma_quantizer="
                "None, variance_quantizer=None)"
            )
        if self.hgq:
            raise NotImplementedError(
                "QBatchNormalization: inverse_quantizer is not available in HGQ mode; accepted: mode='qkeras'"
            )
        return get_quantizer(deserialize_quantizer_arg(inverse))

    def build(self, input_shape: tuple) -> None:
        super().build(input_shape)
        self._build_quantizers(input_shape)

    def get_prunable_weights(self) -> list:
        """None (as QKeras: batch-normalization parameters are not pruned)."""
        return []

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def _stat_quantizer(self, role: str) -> Any:
        return getattr(self, f"{role}_quantizer_internal", None)

    def _q(self, role: str, value: Any, training: bool | None) -> Any:
        q = self._stat_quantizer(role)
        return value if q is None else q(value, training=training)

    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        ndims = len(inputs.shape)
        axis = self.axis if isinstance(self.axis, int) else self.axis[0]
        axis = axis % ndims
        reduction_axes = [i for i in range(ndims) if i != axis]
        bshape = [1] * ndims
        bshape[axis] = int(inputs.shape[axis])

        gamma = self.quantized_weight("gamma", training) if self.scale else None
        beta = self.quantized_weight("beta", training) if self.center else None
        if training and self.trainable:
            x32 = ops.cast(inputs, "float32")
            mean, variance = ops.moments(x32, axes=reduction_axes)
            self._update_moving(self.moving_mean, mean)
            self._update_moving(self.moving_variance, variance)
            qmean = self._q("moving_mean", mean, training)
            qvar = self._q("moving_variance", variance, training)
        else:
            qmean = self.quantized_weight("moving_mean", training)
            qvar = self.quantized_weight("moving_variance", training)
        inv, shift = self._scale_shift(gamma, beta, qmean, qvar)
        out = inputs * ops.reshape(ops.cast(inv, inputs.dtype), bshape) + ops.reshape(
            ops.cast(shift, inputs.dtype), bshape
        )
        self._add_ebops_loss({"gamma": gamma, "beta": beta}, training)
        return out

    def _scale_shift(self, gamma: Any, beta: Any, qmean: Any, qvar: Any) -> tuple[Any, Any]:
        inv = ops.rsqrt(ops.add(qvar, self.epsilon))
        if gamma is not None:
            inv = inv * gamma
        if self.inverse_quantizer is not None:
            inv = self.inverse_quantizer(inv)
        shift = -qmean * inv if beta is None else beta - qmean * inv
        return inv, shift

    def inference_scale_shift(self) -> tuple[Any, Any]:
        """(scale, shift) per channel of the inference call, which computes ``x * scale + shift``
        in the input's dtype (the hls4ml export reads them here)."""
        gamma = self.quantized_weight("gamma", False) if self.scale else None
        beta = self.quantized_weight("beta", False) if self.center else None
        return self._scale_shift(
            gamma, beta, self.quantized_weight("moving_mean", False), self.quantized_weight("moving_variance", False)
        )

    def _update_moving(self, variable: Any, value: Any) -> None:
        decay = 1.0 - self.momentum
        value = ops.stop_gradient(ops.cast(value, variable.dtype))
        variable.assign(variable - (variable - value) * decay)

    def _ebops(self, input_bits: Any, weights: dict | None = None) -> Any:
        if weights is None:
            weights = {
                "gamma": self.quantized_weight("gamma") if self.scale else None,
                "beta": self.quantized_weight("beta") if self.center else None,
            }
        axis = (self.axis if isinstance(self.axis, int) else self.axis[0]) % (len(self._input_feature_shape) + 1)
        if axis != len(self._input_feature_shape):
            raise NotImplementedError("QBatchNormalization: EBOPs need axis=-1")
        gb = self.weight_bits("gamma", weights["gamma"]) if weights["gamma"] is not None else None
        bb = self.weight_bits("beta", weights["beta"]) if weights["beta"] is not None else None
        return scale_shift_ebops(input_bits, gb, bb)

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("synchronized", None)
        config.update(self._quantization_config())
        config.update(
            {
                "activation": self._activation_arg
                if not callable(self._activation_arg)
                else keras.activations.serialize(self._activation_arg),
                "beta_range": self.beta_range,
                "gamma_range": self.gamma_range,
            }
        )
        if self.inverse_quantizer is not None:  # QKeras master's key (absent in 0.9.0 configs)
            from ..quantizers import serialize_quantizer

            config["inverse_quantizer"] = serialize_quantizer(self.inverse_quantizer)
        return config


__all__ = ["QBatchNormalization"]
