"""`FixedPointQuantizer`: the HGQ quantizer layer.

It owns float bitwidth variables ``i`` (integer bits, sign excluded) and ``f`` (fractional
bits) at the granularity of its `QuantSpec`, quantizes with the surrogate gradient of
`fixed_point.quantize`, and reports its bitwidths (bits) for EBOPs. WRAP quantizers with
``range_tracking`` derive ``i`` from the observed value range: a running min/max updated in
training, or by `trace_minmax` before export.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from . import fixed_point
from .distribute import cross_replica_min_max
from .spec import QuantSpec, bitwidth_shape, shared_axes


def float32_dtype(dtype: Any, owner: str) -> Any:
    """The dtype policy of a quantized layer or quantizer: float32 compute.

    Quantized values are exact on their fixed-point grid only in float32 (float16 keeps 11
    significant bits, bfloat16 8), so under a global mixed precision policy
    ('mixed_float16', 'mixed_bfloat16') these layers compute in float32 by themselves
    (``dtype=None`` gives 'float32'); a policy passed explicitly must compute in float32.
    """
    if dtype is None:
        return "float32"
    policy = keras.dtype_policies.get(dtype)
    if policy.compute_dtype != "float32":
        raise ValueError(
            f"{owner}: dtype={policy.name!r} computes in {policy.compute_dtype}, which does not hold "
            "fixed-point values exactly; accepted: dtype=None or a float32 policy ('float32'). Under "
            "a global 'mixed_float16' / 'mixed_bfloat16' policy hgq_compat layers compute in float32 "
            "by themselves (the other layers keep the mixed policy)"
        )
    return dtype


@keras.saving.register_keras_serializable(package="hgq_compat")
class FixedPointQuantizer(keras.layers.Layer):
    """Fixed-point quantizer with per-tensor, per-channel, per-element or axis-shared bitwidths.

    Args:
        spec: a `QuantSpec` (or its config dict). Must be of kind 'fixed'.
        is_weight: True for weight tensors (no batch axis); False for data (axis 0 is batch).
    """

    def __init__(self, spec: QuantSpec | dict | None = None, is_weight: bool = False, **kwargs: Any):
        kwargs["dtype"] = float32_dtype(kwargs.get("dtype"), type(self).__name__)
        super().__init__(**kwargs)
        if spec is None:
            spec = QuantSpec()
        if isinstance(spec, dict):
            spec = QuantSpec.from_config(spec)
        if not isinstance(spec, QuantSpec):
            raise ValueError(f"spec={spec!r} is not accepted; accepted values: a QuantSpec or its config dict")
        if not spec.is_fixed_point:
            raise ValueError(f"FixedPointQuantizer needs a spec of kind 'fixed', got kind={spec.kind!r}")
        self.spec = spec
        self.is_weight = bool(is_weight)
        self.tracing = False
        self.seed_generator = keras.random.SeedGenerator() if spec.round_mode.startswith("S_") else None

    # ------------------------------------------------------------------ build
    def _tensor_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape) if self.is_weight else tuple(input_shape[1:])

    def build(self, input_shape: tuple) -> None:
        shape = self._tensor_shape(input_shape)
        bw_shape = bitwidth_shape(self.spec.granularity, shape, argument=f"granularity of {self.name}")
        self._shared = shared_axes(self.spec.granularity, len(shape))
        self.i = self.add_weight(
            name="i",
            shape=bw_shape,
            initializer=keras.initializers.Constant(self.spec.integer),
            trainable=self.spec.trainable_i and not self.spec.range_tracking,
        )
        self.f = self.add_weight(
            name="f",
            shape=bw_shape,
            initializer=keras.initializers.Constant(self.spec.fractional),
            trainable=self.spec.trainable_f,
        )
        if self.spec.range_tracking:
            self.vmin = self.add_weight(name="vmin", shape=bw_shape, initializer="zeros", trainable=False)
            self.vmax = self.add_weight(name="vmax", shape=bw_shape, initializer="zeros", trainable=False)
        super().build(input_shape)

    # ------------------------------------------------------------------ forward
    def _update_range(self, x: Any) -> None:
        axes = tuple(a if self.is_weight else a + 1 for a in self._shared)
        if not self.is_weight:
            axes = (0,) + axes
        lo = ops.min(x, axis=axes, keepdims=True) if axes else x
        hi = ops.max(x, axis=axes, keepdims=True) if axes else x
        if not self.is_weight:
            lo, hi = cross_replica_min_max(lo[0], hi[0])  # each tf.distribute replica sees part of the batch
        self.vmin.assign(ops.minimum(self.vmin, ops.stop_gradient(lo)))
        self.vmax.assign(ops.maximum(self.vmax, ops.stop_gradient(hi)))

    def integer_bits(self) -> Any:
        """Integer bits (excluding sign) as a float tensor of the bitwidth shape."""
        if not self.spec.range_tracking:
            return self.i
        f = ops.round(ops.stop_gradient(self.f))
        amax = ops.maximum(self.vmax, -self.vmin)
        return ops.ceil(ops.log2(amax + ops.power(2.0, -f)))

    def call(self, x: Any, training: bool | None = None) -> Any:
        if self.spec.range_tracking and (training or self.tracing):
            self._update_range(x)
        seed = self.seed_generator if self.seed_generator is not None else None
        relu = self.spec.prefn == "relu"  # fused into the quantizer (free for unsigned saturating ones)
        x_in = x
        if not relu:
            x = self._prefn(x)
        y = fixed_point.quantize(
            x,
            self.spec.keep_negative,
            self.integer_bits(),
            self.f,
            round_mode=self.spec.round_mode,
            overflow=self.spec.overflow,
            ste=self.spec.ste,
            training=bool(training),
            seed=seed,
            surrogate=self.spec.trainable,
            relu=relu,
        )
        if self.spec.prefn in (None, "relu"):
            # +-inf gives NaN, as the QKeras quantizers do (their x + (xq - x) is inf - inf); the
            # bounded pre-functions (hard sigmoid / tanh) saturate there, in QKeras too. 0 * x is
            # 0 for finite x (no gradient, y unchanged) and NaN for +-inf and NaN: cheaper than a where.
            y = y + 0.0 * ops.cast(x_in, y.dtype)
        return y

    def _prefn(self, x: Any) -> Any:
        """The spec's element-wise pre-function, with QKeras' float32 arithmetic:
        hard_sigmoid = clip(0.5 x + 0.5, 0, 1), hard_tanh = 2 hard_sigmoid(x) - 1 (not clip(x, -1, 1):
        0.5 x + 0.5 rounds, which moves values near rounding ties), relu."""
        fn = self.spec.prefn
        if fn is None:
            return x
        x = ops.convert_to_tensor(x)
        if fn == "relu":
            return ops.where(x > 0, x, ops.zeros_like(x))
        s = 0.5 * x + 0.5
        one = ops.ones_like(s)
        s = ops.where(s < 0.0, 0.0 * one, ops.where(s > 1.0, one, s))  # gradient 1 on [0, 1], as tf.clip_by_value
        if fn == "hard_sigmoid":
            return s
        return 2.0 * s - 1.0

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    # ------------------------------------------------------------------ bitwidths
    def bits(self) -> Any:
        """Bitwidth k + i + f (bits) per variable element, differentiable w.r.t. i and f."""
        return fixed_point.bits_of(float(self.spec.keep_negative), self.integer_bits(), self.f)

    def kif(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(k, i, f) as integer numpy arrays of the bitwidth shape, as used in the forward pass."""
        i = np.round(ops.convert_to_numpy(self.integer_bits())).astype(np.int64)
        f = np.round(ops.convert_to_numpy(self.f)).astype(np.int64)
        k = np.full_like(i, self.spec.keep_negative)
        return k, i, f

    def assign_bitwidths(self, integer: Any = None, fractional: Any = None) -> None:
        """Set i and/or f (bits); arrays broadcast to the bitwidth shape."""
        if integer is not None:
            if self.spec.range_tracking:
                raise ValueError(f"{self.name}: integer bits of a range-tracking quantizer come from trace_minmax")
            self.i.assign(np.broadcast_to(np.asarray(integer, "float32"), self.i.shape))
        if fractional is not None:
            self.f.assign(np.broadcast_to(np.asarray(fractional, "float32"), self.f.shape))

    def reset_minmax(self) -> None:
        """Forget the observed range (range-tracking quantizers only)."""
        if self.spec.range_tracking:
            self.vmin.assign(np.zeros(self.vmin.shape, "float32"))
            self.vmax.assign(np.zeros(self.vmax.shape, "float32"))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"spec": self.spec.get_config(), "is_weight": self.is_weight})
        return config
