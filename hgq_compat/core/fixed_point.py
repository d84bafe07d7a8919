"""Fixed-point rounding and overflow with the HGQ surrogate gradient, in ``keras.ops`` only.

The forward pass is exact: ``xq = q(x)`` with no ``x + (xq - x)`` round-off, so outputs
can be compared bit for bit with the hls4ml C simulation. Gradients:

- d(xq)/dx: 1 (``ste='identity'``) or 1 inside the representable range and 0 outside
  (``ste='clip'``);
- d(xq)/df = ln2 * (x - xq) inside the range (the HGQ surrogate: the quantization error
  scales as 2**-f);
- under SAT/SAT_SYM, clipped elements take the gradient of the bound they hit, which
  depends on i and f.

Bitwidths are float tensors rounded to integers in the forward pass (straight-through).
"""

from __future__ import annotations

import math
from typing import Any

from keras import ops, random

LN2 = math.log(2.0)


def round_through(v: Any) -> Any:
    """Round to the nearest integer in the forward pass, identity gradient."""
    return v + ops.stop_gradient(ops.round(v) - v)


def round_values(v: Any, round_mode: str, training: bool = False, seed: Any = None) -> Any:
    """Round ``v`` (already scaled by 2**f) to integers; no gradient handling."""
    if round_mode in ("S_RND", "S_RND_CONV"):
        if training:
            noise = random.uniform(ops.shape(v), dtype=v.dtype, seed=seed)
            return ops.floor(v + noise)
        round_mode = "RND" if round_mode == "S_RND" else "RND_CONV"
    if round_mode == "RND_CONV":
        return ops.round(v)
    if round_mode == "TRN":
        return ops.floor(v)
    if round_mode == "RND":
        return ops.floor(v + 0.5)
    if round_mode == "RND_INF":
        return ops.sign(v) * ops.floor(ops.abs(v) + 0.5)
    raise ValueError(f"round_mode={round_mode!r} is not accepted; accepted values: TRN, RND, RND_CONV, RND_INF, S_RND, S_RND_CONV")


def value_bounds(k: Any, i: Any, f: Any, overflow: str) -> tuple[Any, Any]:
    """(min, max) representable values of fixed point (k, i, f)."""
    hi = ops.power(2.0, i) - ops.power(2.0, -f)
    lo = -k * hi if overflow == "SAT_SYM" else -k * ops.power(2.0, i)
    return lo, hi


def quantize_values(x: Any, k: Any, i: Any, f: Any, round_mode: str = "RND_CONV", overflow: str = "SAT",
                    training: bool = False, seed: Any = None) -> Any:
    """Forward values only: fixed point (k, i, f) with integer i and f given as tensors."""
    scale = ops.power(2.0, f)
    v = round_values(x * scale, round_mode, training, seed)
    n = ops.power(2.0, i + f)  # 2**(i+f): number of non-negative integer codes
    if overflow == "WRAP":
        lo = -k * n
        v = ops.mod(v - lo, n * (1.0 + k)) + lo
    else:
        hi = n - 1.0
        lo = -k * hi if overflow == "SAT_SYM" else -k * n
        v = ops.minimum(ops.maximum(v, lo), hi)
    xq = v / scale
    return ops.where(k + i + f > 0, xq, ops.zeros_like(xq))


def quantize(x: Any, k: Any, i: Any, f: Any, round_mode: str = "RND_CONV", overflow: str = "SAT",
             ste: str = "identity", training: bool = False, seed: Any = None, surrogate: bool = True) -> Any:
    """Quantize ``x`` to fixed point (k, i, f) with the gradients described in the module doc.

    Args:
        x: float tensor.
        k: keep_negative, 0 or 1 (number or tensor broadcastable to x).
        i: integer bits excluding sign (tensor broadcastable to x; rounded in the forward pass).
        f: fractional bits (tensor broadcastable to x; rounded in the forward pass).
        surrogate: add the gradients w.r.t. i and f (HGQ). Off for fixed QKeras quantizers.
    """
    x = ops.convert_to_tensor(x)
    i_r = round_through(ops.cast(i, x.dtype))
    f_r = round_through(ops.cast(f, x.dtype))
    i_v, f_v = ops.stop_gradient(i_r), ops.stop_gradient(f_r)
    xq = ops.stop_gradient(quantize_values(ops.stop_gradient(x), k, i_v, f_v, round_mode, overflow, training, seed))

    if ste == "identity" and not surrogate:
        return xq + (x - ops.stop_gradient(x))

    lo_v, hi_v = value_bounds(k, i_v, f_v, overflow)
    if overflow == "WRAP":
        in_range = None
    else:
        strict_low = isinstance(k, (int, float)) and k == 0
        above_lo = (x > lo_v) if strict_low else (x >= lo_v)
        in_range = ops.logical_and(above_lo, x <= hi_v)

    if ste == "identity" or in_range is None:
        g = x
    else:
        g = ops.where(in_range, x, ops.zeros_like(x))

    if surrogate:
        err = ops.stop_gradient(x - xq)
        g_f = LN2 * err * f_r
        if in_range is not None:
            g_f = ops.where(in_range, g_f, ops.zeros_like(g_f))
            lo, hi = value_bounds(k, i_r, f_r, overflow)
            g_f = g_f + ops.where(x > hi_v, hi * ops.ones_like(x), ops.zeros_like(x))
            g_f = g_f + ops.where(x < lo_v, lo * ops.ones_like(x), ops.zeros_like(x))
        g = g + g_f
    return xq + (g - ops.stop_gradient(g))


def bits_of(k: Any, i: Any, f: Any) -> Any:
    """Total bitwidth max(k + round(i) + round(f), 0) in bits, differentiable (straight-through)."""
    return ops.relu(k + round_through(i) + round_through(f))
