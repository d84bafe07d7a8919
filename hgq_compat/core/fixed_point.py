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

import numpy as np
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
    # floor(v + 0.5) is wrong in float32 where the + 0.5 rounds (v just below a tie, |v| >= 2**23);
    # floor(v) plus a comparison is exact everywhere
    if round_mode == "RND":
        fl = ops.floor(v)
        return fl + ops.cast(v - fl >= 0.5, v.dtype)
    if round_mode == "RND_INF":
        a = ops.abs(v)
        fl = ops.floor(a)
        return ops.sign(v) * (fl + ops.cast(a - fl >= 0.5, v.dtype))
    raise ValueError(
        f"round_mode={round_mode!r} is not accepted; accepted values: TRN, RND, RND_CONV, RND_INF, S_RND, S_RND_CONV"
    )


def value_bounds(k: Any, i: Any, f: Any, overflow: str) -> tuple[Any, Any]:
    """(min, max) representable values of fixed point (k, i, f)."""
    hi = ops.power(2.0, i) - ops.power(2.0, -f)
    lo = -k * hi if overflow == "SAT_SYM" else -k * ops.power(2.0, i)
    return lo, hi


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _tensor(v: Any, dtype: Any) -> Any:
    """``v`` as a plain tensor of ``dtype``: variables are read here, outside the custom-gradient
    functions (TensorFlow refuses variables used inside them)."""
    t = ops.cast(ops.convert_to_tensor(v), dtype)
    read = getattr(t, "read_value", None)  # a raw backend variable that cast passed through
    return read() if read is not None else t


def quantize_values(
    x: Any,
    k: Any,
    i: Any,
    f: Any,
    round_mode: str = "RND_CONV",
    overflow: str = "SAT",
    training: bool = False,
    seed: Any = None,
) -> Any:
    """Forward values only: fixed point (k, i, f) with integer i and f given as tensors."""
    if _is_number(k) and _is_number(i) and _is_number(f) and float(i).is_integer() and float(f).is_integer():
        return _quantize_values_const(x, k, float(i), float(f), round_mode, overflow, training, seed)
    scale = ops.power(2.0, f)
    v = round_values(x * scale, round_mode, training, seed)
    n = ops.power(2.0, i + f)  # 2**(i+f): number of non-negative integer codes
    keep = k + i + f > 0  # bitwidth-shaped; elements with no bits are 0
    if overflow == "WRAP":
        lo = -k * n
        span = n * (1.0 + k)
        v = ops.mod(ops.mod(v, span) - lo, span) + lo  # mod first: v - lo is inexact for |v| >= 2**24
        return ops.where(keep, v / scale, 0.0)
    hi = n - 1.0
    lo = -k * hi if overflow == "SAT_SYM" else -k * n
    # pruned elements: clip to [0, 0] (on the small bitwidth shape) instead of a full-size select
    v = ops.minimum(ops.maximum(v, ops.where(keep, lo, 0.0)), ops.where(keep, hi, 0.0))
    return v / scale


def _quantize_values_const(
    x: Any, k: Any, i: float, f: float, round_mode: str, overflow: str, training: bool, seed: Any
) -> Any:
    """`quantize_values` for bitwidths known in Python: the same float32 operations, with the
    constants folded and the pruning test decided here."""
    if k + i + f <= 0:
        return ops.zeros_like(x)
    scale = 2.0**f
    v = round_values(x * scale, round_mode, training, seed)
    n = 2.0 ** (i + f)
    if overflow == "WRAP":
        lo = -k * n
        span = n * (1.0 + k)
        v = ops.mod(ops.mod(v, span) - lo, span) + lo  # mod first: v - lo is inexact for |v| >= 2**24
    else:
        hi = n - 1.0
        lo = -k * hi if overflow == "SAT_SYM" else -k * n
        v = ops.minimum(ops.maximum(v, lo), hi)
    return v / scale


def _reduce_to(g: Any, shape: tuple) -> Any:
    """Sum ``g`` over the axes that were broadcast from ``shape`` (the gradient of a broadcast)."""
    rank = len(g.shape)
    lead = rank - len(shape)
    inner = [lead + a for a, d in enumerate(shape) if d == 1 and g.shape[lead + a] != 1]
    if not inner:
        return ops.sum(g, axis=tuple(range(lead))) if lead else g
    return ops.reshape(ops.sum(g, axis=tuple(range(lead)) + tuple(inner), keepdims=True), shape)


def _quantize_sat(x: Any, k: Any, i_v: Any, f_v: Any, round_mode: str, overflow: str) -> tuple[Any, Any, Any]:
    """`quantize_values` for SAT / SAT_SYM with integer-valued tensors i_v, f_v; also returns
    2**f and 2**(i+f). Pruned elements (k + i + f <= 0) get the code range [0, 0]: with
    integer bitwidths, relu(2**(i+f) - 1) and floor(2**(i+f)) are the code bounds that
    `quantize_values` selects with k + i + f > 0."""
    scale = ops.power(2.0, f_v)
    n = ops.power(2.0, i_v + f_v)
    v = round_values(x * scale, round_mode)
    hi = ops.relu(n - 1.0)
    if k == 0:
        lo = -k * 0.0  # a scalar (same value and sign as -k * floor(n)): cheaper than a broadcast
    else:
        lo = -k * hi if overflow == "SAT_SYM" else -k * ops.floor(n)
    return ops.minimum(ops.maximum(v, lo), hi) / scale, scale, n


def _quantize_fast(
    x: Any, k: Any, i: Any, f: Any, round_mode: str, overflow: str, ste: str, surrogate: bool, relu: bool = False
) -> Any:
    """`quantize` for a numeric k and deterministic rounding, with a hand-written gradient.

    The forward pass is `quantize_values` itself; the backward pass gives the gradients of
    the module doc (those of the autodiff formulation `_quantize_autodiff`) without
    materialising the surrogate terms in the forward pass.
    """
    strict_low = k == 0
    clip_x = ste != "identity"

    def grad_x(xv: Any, upstream: Any, lo_v: Any, hi_v: Any) -> tuple[Any, Any, Any, Any]:
        """(d/dx, upstream inside the range, above, below): the gradient w.r.t. x, the upstream
        gradient with clipped elements zeroed, and the masks of the elements beyond the bounds
        (lo_v, hi_v) = `value_bounds`."""
        if overflow == "WRAP" or (not clip_x and not surrogate):
            return upstream, upstream, None, None
        above = xv > hi_v
        if relu:  # masks of relu(x): relu(x) >= 0 > hi where hi < 0 (a negative bitwidth)
            above = ops.logical_or(above, hi_v < 0.0)
        below = (xv <= lo_v) if strict_low else (xv < lo_v)
        up_in = ops.where(ops.logical_or(above, below), 0.0, upstream)
        return (up_in if clip_x else upstream), up_in, above, below

    if _is_number(i) and _is_number(f):
        # fixed bitwidths known in Python: only x is differentiated
        i_n, f_n = float(round(i)), float(round(f))

        @ops.custom_gradient
        def q_x(xv: Any) -> Any:
            xq = quantize_values(xv, k, i_n, f_n, round_mode, overflow)
            xq = ops.where(ops.equal(xq, 0.0), 0.0, xq)  # +0.0, never -0.0 (as x + (xq - x) gives)

            def grad(*args: Any, upstream: Any = None) -> Any:
                if upstream is None:
                    (upstream,) = args
                if not clip_x:
                    return upstream
                return grad_x(xv, upstream, *value_bounds(k, i_n, f_n, overflow))[0]

            return xq, grad

        return q_x(x)

    i_t = _tensor(i, x.dtype)
    f_t = _tensor(f, x.dtype)
    i_shape, f_shape = tuple(i_t.shape), tuple(f_t.shape)
    bw_shape = tuple(np.broadcast_shapes(i_shape, f_shape))

    @ops.custom_gradient
    def q_xif(xv: Any, iv: Any, fv: Any) -> Any:
        i_v, f_v = ops.round(iv), ops.round(fv)
        if overflow == "WRAP":
            xq, scale, n = quantize_values(xv, k, i_v, f_v, round_mode, overflow), None, None
        else:
            xq, scale, n = _quantize_sat(xv, k, i_v, f_v, round_mode, overflow)
        # + 0: zeros come out as +0.0, as x + (xq - x) gives. A runtime scalar zero: a constant 0
        # would be folded away, a bitwidth-shaped one would make this a (slower) broadcast.
        xq = xq + 0.0 * ops.abs(ops.sum(f_v))

        def grad(*args: Any, upstream: Any = None) -> Any:
            if upstream is None:
                (upstream,) = args
            if n is None:
                g_x, up_in, above, below = upstream, upstream, None, None
            else:
                # value_bounds from the forward's 2**f and 2**(i+f): 2**i - 2**-f = (2**(i+f) - 1) / 2**f
                p_i, p_f = n / scale, 1.0 / scale
                hi_v = (n - 1.0) / scale
                if k == 0:
                    lo_v = -k * 0.0  # scalar, same value as -k * 2**i
                else:
                    lo_v = -k * hi_v if overflow == "SAT_SYM" else -k * p_i
                g_x, up_in, above, below = grad_x(xv, upstream, lo_v, hi_v)
            if not surrogate:
                return g_x, ops.zeros_like(iv), ops.zeros_like(fv)
            # d xq / d f = ln2 (x - xq) inside the range (and everywhere under WRAP)
            g_f = _reduce_to(up_in * (xv - xq), f_shape)
            if above is None:
                return g_x, ops.zeros_like(iv), LN2 * g_f
            # Clipped elements take the gradient of the bound they hit: hi = 2**i - 2**-f,
            # lo = -k 2**i (SAT) or -k hi (SAT_SYM); the bounds are bitwidth-shaped, so the
            # upstream gradients are summed over the shared axes first. With a negative
            # bitwidth (hi < lo) an element can be beyond both bounds and takes both.
            up_hi = _reduce_to(ops.where(above, upstream, 0.0), bw_shape)
            g_f = g_f + _reduce_to(p_f * up_hi, f_shape)
            g_i = p_i * up_hi
            if k != 0:
                up_lo = _reduce_to(ops.where(below, upstream, 0.0), bw_shape)
                g_i = g_i - k * p_i * up_lo
                if overflow == "SAT_SYM":
                    g_f = g_f - _reduce_to(k * p_f * up_lo, f_shape)
            return g_x, LN2 * _reduce_to(g_i, i_shape), LN2 * g_f

        return xq, grad

    return q_xif(x, i_t, f_t)


def quantize(
    x: Any,
    k: Any,
    i: Any,
    f: Any,
    round_mode: str = "RND_CONV",
    overflow: str = "SAT",
    ste: str = "identity",
    training: bool = False,
    seed: Any = None,
    surrogate: bool = True,
    relu: bool = False,
) -> Any:
    """Quantize ``x`` to fixed point (k, i, f) with the gradients described in the module doc.

    Args:
        x: float tensor.
        k: keep_negative, 0 or 1 (number or tensor broadcastable to x).
        i: integer bits excluding sign (tensor broadcastable to x; rounded in the forward pass).
        f: fractional bits (tensor broadcastable to x; rounded in the forward pass).
        surrogate: add the gradients w.r.t. i and f (HGQ). Off for fixed QKeras quantizers.
        relu: quantize ``relu(x)`` (outputs and gradients exactly as ``quantize(relu(x), ...)``);
            for k=0 with SAT/SAT_SYM this costs nothing, as the clip at 0 does the relu's work.
    """
    x = ops.convert_to_tensor(x)
    stochastic = round_mode.startswith("S_") and training
    x = _tensor(x, x.dtype)
    if relu and not (_is_number(k) and k == 0 and overflow != "WRAP" and ste == "clip" and not stochastic):
        x, relu = ops.where(x > 0, x, ops.zeros_like(x)), False
    if _is_number(k) and not stochastic:
        return _quantize_fast(x, k, i, f, round_mode, overflow, ste, surrogate, relu)
    return _quantize_autodiff(x, k, i, f, round_mode, overflow, ste, training, seed, surrogate)


def _quantize_autodiff(
    x: Any,
    k: Any,
    i: Any,
    f: Any,
    round_mode: str = "RND_CONV",
    overflow: str = "SAT",
    ste: str = "identity",
    training: bool = False,
    seed: Any = None,
    surrogate: bool = True,
) -> Any:
    """`quantize` written with straight-through tricks and automatic differentiation: the
    reference formulation, used for tensor k and stochastic rounding."""
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
    """Total bitwidth max(k + round(i) + round(f), 0) in bits, differentiable (straight-through):
    the gradient w.r.t. i and f is 1 where the bitwidth is positive."""
    if not _is_number(k):
        return ops.relu(k + round_through(i) + round_through(f))
    dtype = getattr(i, "dtype", None)
    dtype = "float32" if dtype is None or "float" not in str(dtype) else dtype
    i = _tensor(i, dtype)
    f = _tensor(f, i.dtype)
    i_shape, f_shape = tuple(i.shape), tuple(f.shape)

    @ops.custom_gradient
    def bits(iv: Any, fv: Any) -> Any:
        total = k + ops.round(iv) + ops.round(fv)

        def grad(*args: Any, upstream: Any = None) -> Any:
            if upstream is None:
                (upstream,) = args
            g = ops.where(total > 0, upstream, 0.0)
            return _reduce_to(g, i_shape), _reduce_to(g, f_shape)

        return ops.relu(total), grad

    return bits(i, f)
