"""QKeras 0.9.0 element-wise helpers in ``keras.ops``: the internal sigmoid, hard/smooth/binary
sigmoid and tanh, straight-through rounding, stochastic rounding and the least-squares scale.

Clip and ReLU are written with ``where`` so that their gradients are those of TensorFlow's
``clip_by_value`` (1 on the closed interval, 0 outside) and ``relu``/``leaky_relu`` (0 resp.
``alpha`` at 0) on every backend: JAX's ``clip``/``maximum`` split the gradient at a tie.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

EPSILON = 1e-7  # keras.backend.epsilon(), used by QKeras
LOG2 = np.float32(np.log(2.0))  # QKeras divides float32 logs by np.log(2.0) (cast to float32 by TF)

SIGMOID_MODES = ("real", "hard", "smooth")
_default_sigmoid_type = "hard"  # QKeras' name
_state = {"sigmoid": _default_sigmoid_type}


# ---------------------------------------------------------------------------- basic ops


def clip(x: Any, lo: Any, hi: Any) -> Any:
    """``clip_by_value`` with TensorFlow's gradient (1 where lo <= x <= hi, else 0)."""
    x = ops.convert_to_tensor(x)
    lo_t = ops.cast(lo, x.dtype) * ops.ones_like(x)
    hi_t = ops.cast(hi, x.dtype) * ops.ones_like(x)
    return ops.where(x < lo_t, lo_t, ops.where(x > hi_t, hi_t, x))


def relu(x: Any, alpha: float = 0.0) -> Any:
    """``tf.keras.backend.relu(x, alpha)``: relu (gradient 0 at 0) or leaky relu (gradient alpha at 0);
    NaN stays NaN."""
    x = ops.convert_to_tensor(x)
    if alpha:
        return ops.where(x > 0, x, x * alpha)
    return ops.where(x <= 0, ops.zeros_like(x), x)


def nan_where_overflow(xq: Any, p: Any) -> Any:
    """``xq``, NaN where ``p`` (QKeras' scaled input x * m / m_i) is not finite: QKeras'
    ``_round_through(p)`` computes ``p + (round(p) - p)``, which is inf - inf there.

    Computed as ``xq + 0 * |p|`` (+0.0 for finite p, NaN otherwise): three element-wise ops
    instead of a test, a select and a NaN-filled tensor. A -0.0 in ``xq`` comes out as +0.0, which
    both callers give anyway (QKeras' ``x + (xq - x)`` and the relu's quantizer do)."""
    return xq + ops.stop_gradient(0.0 * ops.abs(p))


def round_through(
    x: Any, use_stochastic_rounding: bool = False, precision: float = 0.5, training: bool = False, seed: Any = None
) -> Any:
    """QKeras ``_round_through``: round (half to even) with identity gradient; with stochastic
    rounding (training only) to multiples of ``precision`` (QKeras' default 0.5)."""
    if use_stochastic_rounding and training:
        return x + ops.stop_gradient(-x + stochastic_round(x, precision, seed))
    return x + ops.stop_gradient(-x + ops.round(x))


def stochastic_round(x: Any, precision: float = 0.5, seed: Any = None) -> Any:
    """QKeras ``stochastic_round``: floor or ceil of x / precision, up with probability of the fraction."""
    scale = 1.0 / precision
    scale_x = x * scale
    fraction = scale_x - ops.floor(scale_x)
    r = keras.random.uniform(ops.shape(x), dtype="float32", seed=seed)
    return ops.where(fraction < r, ops.floor(scale_x), ops.ceil(scale_x)) / scale


def stochastic_round_po2(x: Any, seed: Any = None) -> Any:
    """QKeras ``stochastic_round_po2``: exponent of |x| rounded down or up at random, unbiased in value."""
    y = ops.abs(x)
    x_log2 = ops.round(ops.log(y + EPSILON) / LOG2)
    po2 = ops.power(2.0, x_log2)
    left = ops.where(po2 > y, x_log2 - 1, x_log2)
    right = ops.where(po2 > y, x_log2, x_log2 + 1)
    lo, hi = ops.power(2.0, left), ops.power(2.0, right)
    val = lo + (hi - lo) * keras.random.uniform(ops.shape(y), dtype="float32", seed=seed)
    return ops.where(y < val, left, right)


def sign_through(x: Any) -> Any:
    return x + ops.stop_gradient(-x + ops.sign(x))


def qkeras_output(x: Any, xq: Any, qnoise_factor: float = 1.0, use_ste: bool = True) -> Any:
    """QKeras' output mixing, literally: ``x + sg(qnoise * (xq - x))`` or
    ``(1 - qnoise) * x + sg(qnoise * xq)``."""
    if use_ste:
        if isinstance(qnoise_factor, (int, float)) and qnoise_factor == 1.0:  # 1.0 * v is v: one op less
            return x + ops.stop_gradient(-x + xq)
        return x + ops.stop_gradient(qnoise_factor * (-x + xq))
    return (1 - qnoise_factor) * x + ops.stop_gradient(qnoise_factor * xq)


# ---------------------------------------------------------------------------- integer bits


def integer_bits_for_range(
    min_value: Any, max_value: Any, bits: int, symmetric: bool, keep_negative: bool, is_clipping: bool
) -> Any:
    """Integer bits (float tensor) covering [min_value, max_value] with ``bits`` bits (QKeras' rule:
    log2 of the bounds rounded (``is_clipping``) or ceiled, at most ``bits - keep_negative``)."""
    if not keep_negative:
        min_value = ops.maximum(min_value, 0.0)
        max_value = ops.maximum(max_value, 0.0)
    unsigned = bits - int(keep_negative)
    ln2 = float(np.log(2.0))
    min_log2 = ops.log(ops.abs(min_value)) / ln2
    max_log2 = ops.log(ops.abs(max_value)) / ln2
    rnd = ops.round if is_clipping else ops.ceil
    min_int = rnd(ops.where(min_log2 > 0, min_log2, 0.0))
    max_int = rnd(ops.where(max_log2 > 0, max_log2, 0.0))
    if not is_clipping:
        max_po2 = ops.power(2.0, max_int) - ops.power(2.0, ops.minimum(max_int - unsigned, 0.0))
        max_int = ops.where(max_value <= max_po2, max_int, max_int + 1)
        if symmetric:
            min_po2 = -ops.power(2.0, min_int) + ops.power(2.0, ops.minimum(min_int - unsigned, 0.0))
            min_int = ops.where(min_po2 <= min_value, min_int, min_int + 1)
    integer = ops.maximum(min_int, max_int)
    return ops.minimum(float(unsigned), integer)


def _get_integer_bits(
    min_value: Any,
    max_value: Any,
    bits: int = 8,
    symmetric: bool = False,
    keep_negative: bool = False,
    is_clipping: bool = True,
) -> Any:
    """QKeras' ``_get_integer_bits``: `integer_bits_for_range` as an int32 tensor."""
    return ops.cast(integer_bits_for_range(min_value, max_value, bits, symmetric, keep_negative, is_clipping), "int32")


# ---------------------------------------------------------------------------- sigmoids


def set_internal_sigmoid(mode: str) -> None:
    """QKeras' ``set_internal_sigmoid``: the sigmoid used by quantized_tanh/sigmoid/ulaw,
    quantized_relu(use_sigmoid=1) and the stochastic quantizers: 'hard' (default), 'smooth' or 'real'."""
    if mode not in SIGMOID_MODES:
        raise ValueError("mode has to be 'real', 'hard' or 'smooth'.")
    _state["sigmoid"] = mode


def get_internal_sigmoid() -> str:
    """The mode set by `set_internal_sigmoid`."""
    return _state["sigmoid"]


def hard_sigmoid(x: Any) -> Any:
    """QKeras ``hard_sigmoid``: clip(0.5 x + 0.5, 0, 1) (not Keras 3's relu6(x + 3) / 6)."""
    return clip(0.5 * x + 0.5, 0.0, 1.0)


def smooth_sigmoid(x: Any) -> Any:
    """QKeras ``smooth_sigmoid``: clip(0.1875 x + 0.5, 0, 1)."""
    return clip(0.1875 * x + 0.5, 0.0, 1.0)


def binary_sigmoid(x: Any) -> Any:
    """QKeras ``binary_sigmoid``: round(hard_sigmoid(x)) with straight-through gradient."""
    return round_through(hard_sigmoid(x))


def hard_tanh(x: Any) -> Any:
    """QKeras ``hard_tanh``: 2 hard_sigmoid(x) - 1."""
    return 2.0 * hard_sigmoid(x) - 1.0


def smooth_tanh(x: Any) -> Any:
    """QKeras ``smooth_tanh``: 2 smooth_sigmoid(x) - 1."""
    return 2.0 * smooth_sigmoid(x) - 1.0


def binary_tanh(x: Any) -> Any:
    """QKeras ``binary_tanh``: 2 binary_sigmoid(x) - 1 (outputs -1 and 1)."""
    return 2.0 * binary_sigmoid(x) - 1.0


def internal_sigmoid(x: Any) -> Any:
    """QKeras' ``_sigmoid``: the function chosen by `set_internal_sigmoid`."""
    mode = _state["sigmoid"]
    if mode == "hard":
        return hard_sigmoid(x)
    if mode == "smooth":
        return smooth_sigmoid(x)
    return ops.sigmoid(x)


QKERAS_FUNCTIONS = {
    f.__name__: f for f in (hard_sigmoid, smooth_sigmoid, binary_sigmoid, hard_tanh, smooth_tanh, binary_tanh)
}
"""QKeras' own activation functions, which its ``get_quantizer`` resolves before Keras' ones."""


# ---------------------------------------------------------------------------- scales


def channel_axes(rank: int, scale_axis: int | None = None) -> list[int]:
    """QKeras ``_get_scaling_axis`` (channels_last): all axes but ``scale_axis`` (default the last)."""
    if scale_axis is not None:
        return [a for a in range(rank) if a != scale_axis]
    return list(range(rank - 1))


def po2_round(scale: Any) -> Any:
    """2 ** round(log2(scale + eps)), as QKeras computes it."""
    return ops.power(2.0, ops.round(ops.log(scale + EPSILON) / LOG2))


def get_scale(alpha: Any, x: Any, q: Any, scale_axis: int | None = None) -> Any:
    """QKeras ``_get_scale``: least-squares per-channel scale for alpha 'auto'/'auto_po2'
    (per element for 1-D tensors), else 1.0, the array, or float(alpha)."""
    if isinstance(alpha, str) and "auto" in alpha:
        rank = len(x.shape)
        if rank > 1:
            axes = channel_axes(rank, scale_axis)
            qx = ops.mean(x * q, axis=axes, keepdims=True)
            qq = ops.mean(q * q, axis=axes, keepdims=True)
        else:
            qx, qq = x * q, q * q
        scale = qx / (qq + EPSILON)
        if alpha == "auto_po2":
            scale = po2_round(scale)
        return scale
    if alpha is None:
        return 1.0
    if isinstance(alpha, np.ndarray):
        return alpha
    return float(alpha)


def is_po2(value: Any) -> bool:
    """True if ``value`` is a positive power of two (a Python number)."""
    if isinstance(value, (bool, str)) or value is None or isinstance(value, np.ndarray):
        return False
    try:
        v = float(value)
    except (TypeError, ValueError):
        return False
    return v > 0 and float(np.mod(np.log2(v), 1)) == 0.0


def alpha_text(alpha: Any) -> str:
    """``alpha`` as QKeras' ``__str__`` writes it (strings quoted)."""
    return "'" + alpha + "'" if isinstance(alpha, str) else str(alpha)


# ---------------------------------------------------------------------------- QKeras helpers


def get_weight_scale(quantizer: Any, x: Any = None) -> Any:
    """QKeras ``get_weight_scale``: the quantizer's last per-channel scale as NumPy (``alpha``
    'auto'/'auto_po2'), else 1.0. ``x`` is ignored (kept for QKeras' signature)."""
    scale = getattr(quantizer, "scale", None)
    if scale is None:
        return 1.0
    return ops.convert_to_numpy(scale) if not isinstance(scale, (int, float)) else scale


def get_quantized_initializer(w_initializer: Any, w_range: float) -> Any:
    """QKeras ``get_quantized_initializer``: a named initializer scaled to ``w_range`` (he_*, glorot_*,
    random_uniform); anything else is returned as given."""
    variance = {
        "he_normal": (2 * w_range, "fan_in", "normal"),
        "he_uniform": (2 * w_range, "fan_in", "uniform"),
        "glorot_normal": (w_range, "fan_avg", "normal"),
        "glorot_uniform": (w_range, "fan_avg", "uniform"),
    }
    if isinstance(w_initializer, str):
        if w_initializer in variance:
            scale, mode, distribution = variance[w_initializer]
            return keras.initializers.VarianceScaling(scale=scale, mode=mode, distribution=distribution)
        if w_initializer == "random_uniform":
            return keras.initializers.RandomUniform(-w_range, w_range)
    return w_initializer
