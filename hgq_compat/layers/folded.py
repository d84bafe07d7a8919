"""QConv2DBatchnorm, QDepthwiseConv2DBatchnorm and QDenseBatchnorm: a convolution or dense layer
with batch normalization folded into the quantized kernel and bias (QKeras 0.9.0 semantics;
QDenseBatchnorm as QKeras master's ``qkeras/qdense_batchnorm.py``).

Per call (training=True):
1. the float convolution ``y = conv(x, W) + b`` is computed; its batch mean/variance update
   the moving statistics while ``bn_training`` (training and iteration <= ema_freeze_delay)
   as tf-keras' fused batch norm does (moving variance from the Bessel-corrected batch
   variance; QDenseBatchnorm's 2-D batch norm is not fused and uses the batch variance
   itself); ``iteration`` counts training calls;
2. 'batch_stats_folding': ``inv = gamma / sqrt(var + eps)`` with the batch statistics while
   bn_training, else the moving ones; ``folded_bias = inv * (b - mean) + beta``;
   'ema_stats_folding': the kernel is always folded with the moving statistics; while
   bn_training the bias uses the batch statistics and the output is multiplied by
   ``sqrt(moving_var + eps) / sqrt(batch_var + eps)``;
3. ``out = activation(conv(x, Q_k(inv * W)) [* corr] + Q_b(folded_bias))``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import keras
from keras import ops

from ._signature import constructor, nones, parameters, parameters_of
from .conv import QConv2D
from .conv_extra import QDepthwiseConv2D
from .dense import QDense

FOLDING_MODES = ("ema_stats_folding", "batch_stats_folding")
#: QKeras' batch-normalization initializer, regularizer and constraint arguments (in its config order)
_BN_INITIALIZERS = ("beta_initializer", "gamma_initializer", "moving_mean_initializer", "moving_variance_initializer")
_BN_REGULARIZERS = ("beta_regularizer", "gamma_regularizer")
_BN_CONSTRAINTS = ("beta_constraint", "gamma_constraint")


#: QKeras' batch-normalization arguments of the folded layers (after those of the layer folded into)
BN_PARAMETERS = (
    parameters(
        axis=-1,
        momentum=0.99,
        epsilon=0.001,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        moving_mean_initializer="zeros",
        moving_variance_initializer="ones",
    )
    + nones(*_BN_REGULARIZERS, *_BN_CONSTRAINTS)
    + parameters(
        renorm=False,
        renorm_clipping=None,
        renorm_momentum=0.99,
        fused=None,
        trainable=True,
        virtual_batch_size=None,
        adjustment=None,
        ema_freeze_delay=None,
        folding_mode="ema_stats_folding",
    )
)


class QFoldedBatchnormMixin:
    """Batch-norm state and the folding arithmetic shared by the folded convolutions."""

    _ebops_beta_attr = "ebops_beta"
    _kernel_role = "kernel"
    _channel_axes = (-1, 3)
    _bessel_correction = True  # tf-keras' fused batch norm (4-D inputs) updates with the unbiased variance

    def _init_folded(self, arguments: dict, kwargs: dict) -> None:
        """The shared constructor body (`constructor`): the folded layer's own constructor with its
        arguments (and ``trainable``), then the batch-normalization arguments (`BN_PARAMETERS`)."""
        arguments = dict(arguments)
        bn = {p.name: arguments.pop(p.name) for p in BN_PARAMETERS}
        groups = kwargs.pop("groups", 1)  # Keras' Conv2D config key
        if groups != 1:
            raise NotImplementedError(f"{type(self).__name__}: groups={groups!r} is not supported")
        super().__init__(**arguments, trainable=bn.pop("trainable"), **kwargs)
        self._init_bn(bn)

    def _init_bn(self, arguments: Mapping[str, Any]) -> None:
        """Check and keep the batch-normalization arguments (after the layer's base ``__init__``)."""
        axis, folding_mode = arguments["axis"], arguments["folding_mode"]
        renorm, virtual_batch_size, adjustment = (arguments[k] for k in ("renorm", "virtual_batch_size", "adjustment"))
        name = type(self).__name__
        if folding_mode not in FOLDING_MODES:
            raise ValueError(f"{name}: folding_mode={folding_mode!r}; expected one of {FOLDING_MODES}")
        if renorm:
            raise NotImplementedError(f"{name}: renorm=True is not supported")
        if virtual_batch_size is not None:
            raise NotImplementedError(f"{name}: virtual_batch_size is not supported")
        if adjustment is not None:
            raise NotImplementedError(f"{name}: adjustment is not supported")
        axes = axis if isinstance(axis, (list, tuple)) else [axis]
        if len(axes) != 1 or axes[0] not in self._channel_axes:
            raise NotImplementedError(
                f"{name}: axis={axis!r}; only the channel axis "
                f"({' or '.join(map(str, self._channel_axes))}) is supported"
            )
        self.bn_axis = axes[0]
        self.momentum = float(arguments["momentum"])
        self.epsilon = float(arguments["epsilon"])
        for key in ("center", "scale", "renorm_clipping", "renorm_momentum", "fused", "ema_freeze_delay"):
            setattr(self, key, arguments[key])
        self.bn_initializers = {k: keras.initializers.get(arguments[k]) for k in _BN_INITIALIZERS}
        self.bn_regularizers = {k: keras.regularizers.get(arguments[k]) for k in _BN_REGULARIZERS}
        self.bn_constraints = {k: keras.constraints.get(arguments[k]) for k in _BN_CONSTRAINTS}
        self.folding_mode = folding_mode

    def _n_channels(self, input_shape: tuple) -> int:
        raise NotImplementedError

    def build(self, input_shape: tuple) -> None:
        keras_base = self._keras_base()
        keras_base.build(self, input_shape)
        c = self._n_channels(input_shape)
        init, reg, con = self.bn_initializers, self.bn_regularizers, self.bn_constraints
        self.gamma = (
            self.add_weight(
                name="gamma",
                shape=(c,),
                initializer=init["gamma_initializer"],
                regularizer=reg["gamma_regularizer"],
                constraint=con["gamma_constraint"],
                trainable=True,
            )
            if self.scale
            else None
        )
        self.bn_beta = (
            self.add_weight(
                name="beta",
                shape=(c,),
                initializer=init["beta_initializer"],
                regularizer=reg["beta_regularizer"],
                constraint=con["beta_constraint"],
                trainable=True,
            )
            if self.center
            else None
        )
        self.iteration = self.add_weight(
            name="iteration", shape=(), dtype="int64", trainable=False, initializer=keras.initializers.Constant(-1)
        )
        self.moving_mean = self.add_weight(
            name="moving_mean", shape=(c,), trainable=False, initializer=init["moving_mean_initializer"]
        )
        self.moving_variance = self.add_weight(
            name="moving_variance", shape=(c,), trainable=False, initializer=init["moving_variance_initializer"]
        )
        # the bias quantizer applies to the folded bias, which exists without use_bias too
        bias_args = self._weight_quantizer_args.pop("bias", None) if not self.use_bias else None
        self._build_quantizers(input_shape)
        if bias_args is not None:
            from ..quantizers import make_quantizer_layer

            self._weight_quantizer_args["bias"] = bias_args
            layer = None
            if bias_args[0] is not None:
                layer = make_quantizer_layer(bias_args[0], self.mode, self.qconfig.granularity, True, "bias_quantizer")
                layer.build((c,))
            self.bias_quantizer_internal = layer
        self.built = True

    def set_bias_quantizer(self, quantizer: Any) -> None:
        """Give the folded bias a quantizer after construction (QKeras master's
        ``populate_bias_quantizer_from_accumulator``); qkeras mode only."""
        if self.hgq:
            raise NotImplementedError(
                f"{self.name}: set_bias_quantizer is not supported with mode='hgq' (HGQ "
                "bitwidths are variables created when the layer is built)"
            )
        from ..quantizers import get_quantizer, make_quantizer_layer

        q = get_quantizer(quantizer)
        self._weight_quantizer_args["bias"] = (q, 1)
        if self.built:
            layer = make_quantizer_layer(q, self.mode, self.qconfig.granularity, True, "bias_quantizer")
            self._tracker.unlock()
            try:
                self.bias_quantizer_internal = layer
            finally:
                self._tracker.lock()
            layer.build((int(self.moving_mean.shape[0]),))

    def _init_po2_bitwidths(self, layer: Any, q: Any, weight: Any) -> None:
        if weight is getattr(self, self._kernel_role, None) and getattr(self, "moving_variance", None) is not None:
            weight = self._fold(False, None, None)[0]
        super()._init_po2_bitwidths(layer, q, weight)

    # ------------------------------------------------------------------ folding
    def _bn_training(self, training: bool) -> Any:
        if not training:
            return False
        if self.ema_freeze_delay is None or self.ema_freeze_delay < 0:
            return True
        return ops.less_equal(ops.convert_to_tensor(self.iteration), self.ema_freeze_delay)

    def _fold(self, bn_training: Any, mean: Any, variance: Any) -> tuple[Any, Any, Any]:
        """(folded kernel, folded bias, output correction or None), unquantized."""
        kernel = getattr(self, self._kernel_role)
        bias = self.bias if self.use_bias else 0.0
        mv_inv = ops.rsqrt(self.moving_variance + self.epsilon)
        if self.gamma is not None:
            mv_inv = mv_inv * self.gamma
        beta = self.bn_beta if self.bn_beta is not None else 0.0
        mv_bias = mv_inv * (bias - self.moving_mean) + beta
        corr = None
        if bn_training is False:
            inv, folded_bias = mv_inv, mv_bias
        else:
            batch_inv = ops.rsqrt(variance + self.epsilon)
            if self.gamma is not None:
                batch_inv = batch_inv * self.gamma
            folded_bias = ops.where(bn_training, batch_inv * (bias - mean) + beta, mv_bias)
            if self.folding_mode == "batch_stats_folding":
                inv = ops.where(bn_training, batch_inv, mv_inv)
            else:
                inv = mv_inv
                corr = ops.where(
                    bn_training,
                    ops.sqrt(self.moving_variance + self.epsilon) * ops.rsqrt(variance + self.epsilon),
                    ops.ones_like(variance),
                )
        return self._scale_kernel(kernel, inv), folded_bias, corr

    def _scale_kernel(self, kernel: Any, inv: Any) -> Any:
        return inv * kernel

    def get_folded_weights(self) -> list:
        """QKeras' ``[folded kernel, folded bias]`` with the moving statistics, not quantized."""
        k, b, _ = self._fold(False, None, None)
        return [k, ops.broadcast_to(b, tuple(self.moving_mean.shape))]

    def folded_weights(self, training: bool | None = None) -> dict:
        """Quantized folded kernel and bias with the moving statistics (inference)."""
        k, b, _ = self._fold(False, None, None)
        return {
            "folded_kernel": self._quantize(self._kernel_role, k, training),
            "folded_bias": self._quantize("bias", b, training),
        }

    def _quantize(self, role: str, value: Any, training: bool | None) -> Any:
        q = getattr(self, f"{role}_quantizer_internal", None)
        return value if q is None else q(value, training=training)

    def quantized_weight(self, role: str, training: bool | None = None) -> Any:
        if role in ("folded_kernel", "folded_bias"):
            return self.folded_weights(training)[role]
        return super().quantized_weight(role, training)

    def _update_moving(self, bn_training: Any, mean: Any, variance: Any, y: Any) -> None:
        f = 1.0 - self.momentum
        mean = ops.stop_gradient(mean)
        variance = ops.stop_gradient(variance)
        if self._bessel_correction:  # n / (n - 1), n the samples per channel
            if all(d is not None for d in y.shape[:-1]):
                n = math.prod(int(d) for d in y.shape[:-1])
                variance = variance * (n / max(n - 1, 1))
            else:  # batch size unknown while tracing (model.fit)
                n = ops.cast(ops.prod(ops.shape(y)[:-1]), "float64")
                variance = variance * ops.cast(n / ops.maximum(n - 1.0, 1.0), variance.dtype)
        new_mean = self.moving_mean * (1.0 - f) + mean * f
        new_var = self.moving_variance * (1.0 - f) + variance * f
        if bn_training is not True:
            new_mean = ops.where(bn_training, new_mean, ops.convert_to_tensor(self.moving_mean))
            new_var = ops.where(bn_training, new_var, ops.convert_to_tensor(self.moving_variance))
        self.moving_mean.assign(new_mean)
        self.moving_variance.assign(new_var)

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        training = bool(training) and self.trainable
        bn_training = self._bn_training(training)
        mean = variance = None
        if training:
            y = self._apply_kernel(inputs, getattr(self, self._kernel_role))
            if self.use_bias:
                y = ops.add(y, self.bias)
            mean, variance = ops.moments(y, axes=list(range(len(y.shape) - 1)))
            self._update_moving(bn_training, mean, variance, y)
            self.iteration.assign_add(ops.cast(1, self.iteration.dtype))
        kernel, bias, corr = self._fold(bn_training, mean, variance)
        qk = self._quantize(self._kernel_role, kernel, training)
        qb = self._quantize("bias", bias, training)
        out = self._apply_kernel(inputs, qk)
        if corr is not None:
            out = out * corr
        out = ops.add(out, qb)
        self._add_ebops_loss({self._kernel_role: qk, "bias": qb}, training)
        return self.quantize_output(out, training)

    def _ebops(self, input_bits: Any, weights: dict | None = None) -> Any:
        """The EBOPs of the layer folded into, for the quantized folded kernel and bias."""
        if weights is None:
            w = self.folded_weights()
            weights = {self._kernel_role: w["folded_kernel"], "bias": w["folded_bias"]}
        kernel_bits = self.weight_bits(self._kernel_role, weights[self._kernel_role])
        return self._kernel_ebops(input_bits, kernel_bits, self.weight_bits("bias", weights["bias"]))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(self._bn_config())
        return config

    def _bn_config(self) -> dict:
        ser = keras.saving.serialize_keras_object
        config = {
            "axis": self.bn_axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "renorm": False,
            "renorm_clipping": self.renorm_clipping,
            "renorm_momentum": self.renorm_momentum,
            "fused": self.fused,
            "virtual_batch_size": None,
            "adjustment": None,
            "ema_freeze_delay": self.ema_freeze_delay,
            "folding_mode": self.folding_mode,
        }
        for d in (self.bn_initializers, self.bn_regularizers, self.bn_constraints):
            config.update({k: ser(v) for k, v in d.items()})
        return config


@keras.saving.register_keras_serializable(package="hgq_compat")
class QConv2DBatchnorm(QFoldedBatchnormMixin, QConv2D):
    """QConv2D with a folded batch normalization (QKeras ``QConv2DBatchnorm``)."""

    __init__ = constructor(
        parameters_of(QConv2D, drop=("kernel_range", "bias_range", "mask")) + BN_PARAMETERS, "_init_folded"
    )

    def _keras_base(self) -> type:
        return keras.layers.Conv2D

    def _n_channels(self, input_shape: tuple) -> int:
        return self.filters


@keras.saving.register_keras_serializable(package="hgq_compat")
class QDepthwiseConv2DBatchnorm(QFoldedBatchnormMixin, QDepthwiseConv2D):
    """QDepthwiseConv2D with a folded batch normalization (QKeras ``QDepthwiseConv2DBatchnorm``)."""

    _kernel_role = "depthwise_kernel"

    __init__ = constructor(parameters_of(QDepthwiseConv2D) + BN_PARAMETERS, "_init_folded")

    def _keras_base(self) -> type:
        return keras.layers.DepthwiseConv2D

    def _n_channels(self, input_shape: tuple) -> int:
        return int(input_shape[-1]) * self.depth_multiplier

    def _scale_kernel(self, kernel: Any, inv: Any) -> Any:
        return ops.reshape(inv, tuple(kernel.shape[2:])) * kernel


@keras.saving.register_keras_serializable(package="hgq_compat")
class QDenseBatchnorm(QFoldedBatchnormMixin, QDense):
    """QDense with a folded batch normalization (QKeras master ``QDenseBatchnorm``): in inference
    ``activation(x @ Q_k(inv * W) + Q_b(inv * (b - mean) + beta))``, ``inv = gamma / sqrt(var + eps)``."""

    _channel_axes = (-1, 1)
    _bessel_correction = False  # QKeras runs a non-fused (2-D) BatchNormalization: biased batch variance

    __init__ = constructor(parameters_of(QDense) + BN_PARAMETERS, "_init_folded")

    def _keras_base(self) -> type:
        return keras.layers.Dense

    def _n_channels(self, input_shape: tuple) -> int:
        return self.units
