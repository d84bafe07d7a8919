"""Per-channel power-of-two scales fitted by least squares (QKeras ``alpha='auto_po2'``).

A power-of-two scale ``2**-f_c`` per channel is a per-channel shift of the fixed point, so a
quantizer with such a scale is a fixed-point quantizer with per-channel fractional bits.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from keras import ops

EPSILON = 1e-7  # Keras' backend epsilon, used by QKeras in the scale fit
_LOG2 = np.float32(np.log(2.0))


def scaling_axes(scale_axis: int | None, rank: int) -> list[int]:
    """Axes reduced when fitting per-channel scales (all but the channel axis)."""
    if scale_axis is not None:
        return [a for a in range(rank) if a != scale_axis % rank]
    return list(range(rank - 1))


def _po2(scale: Any) -> Any:
    return ops.power(2.0, ops.round(ops.log(scale + EPSILON) / _LOG2))


def _least_squares_po2(x: Any, z: Any, scale_axis: int | None) -> Any:
    rank = len(x.shape)
    if rank > 1:
        axes = scaling_axes(scale_axis, rank)
        qx = ops.mean(x * z, axis=axes, keepdims=True)
        qq = ops.mean(z * z, axis=axes, keepdims=True)
    else:
        qx, qq = x * z, z * z
    return _po2(qx / (qq + EPSILON))


def symmetric_codes(x: Any, scale: Any, max_code: float) -> Any:
    """Integer codes sign(x) * min(floor(|x| / scale + 0.5), max_code)."""
    v = ops.floor(ops.abs(x) / scale + 0.5)
    return ops.sign(x) * ops.where(v < max_code, v, ops.ones_like(v) * max_code)


def fit_po2_scale(x: Any, bits: int, scale_axis: int | None = None, iterations: int = 5) -> tuple[Any, Any]:
    """Fit a per-channel power-of-two scale for symmetric ``bits``-bit codes of ``x``.

    Returns ``(codes, scale)`` such that the quantized tensor is ``codes * scale``. Follows
    QKeras 0.9.0 exactly, including that the returned codes come from the scale of the
    previous refinement step.
    """
    rank = len(x.shape)
    axes = scaling_axes(scale_axis, rank) if rank > 1 else [0]
    max_code = float(2 ** (bits - 1) - 1)
    levels = 2.0 * max_code
    scale = _po2(ops.max(ops.abs(x), axis=axes, keepdims=True) * 2.0 / levels)
    z = symmetric_codes(x, scale, max_code)
    for _ in range(iterations):
        z = symmetric_codes(x, scale, max_code)
        scale = _least_squares_po2(x, z, scale_axis)
    return z, scale


def po2_fractional_bits(x: Any, bits: int, integer: int = 0, scale_axis: int | None = None) -> np.ndarray:
    """Per-channel fractional bits ``f_c`` (bits) with step ``2**-f_c`` as QKeras auto_po2
    would choose them for tensor ``x`` (numpy, broadcastable to x)."""
    m_i = float(2.0**integer)
    _, scale = fit_po2_scale(ops.convert_to_tensor(x, "float32") / m_i, bits, scale_axis)
    step = ops.convert_to_numpy(scale) * m_i
    return -np.round(np.log2(step)).astype(np.float32)
