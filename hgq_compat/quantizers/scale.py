"""QKeras master's least-squares scale with blocks of elements per scale
(``qkeras.quantizers._get_least_squares_scale`` / ``_get_scale`` and their shape helpers).

``elements_per_scale`` splits each ``scale_axis`` into blocks of that many elements, one scale per
block; ``min_po2_exponent`` / ``max_po2_exponent`` clip 'auto_po2' scales to [2**min, 2**max].
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from .functions import EPSILON, po2_round


def _get_scaling_axis(scale_axis: Any, len_axis: int) -> list[int]:
    """The axes averaged over: all but ``scale_axis`` (an int or a list), else all but the channel axis."""
    if scale_axis is not None:
        keep = scale_axis if isinstance(scale_axis, list) else [scale_axis]
        return [i for i in range(len_axis) if i not in keep]
    if keras.backend.image_data_format() == "channels_last":
        return list(range(max(len_axis - 1, 0)))
    return list(range(1, len_axis))


def _get_unrolled_shape(input_shape: list[int], unroll_factor: Any, unroll_axis: Any) -> tuple[list[int], Any]:
    """(shape with each ``unroll_axis`` split into (n // factor, factor), the axes' new positions).
    E.g. [16, 32], factor 4, axis 1 -> ([16, 8, 4], 1); factors [2, 4], axes [0, 1] -> ([8, 2, 8, 4], [0, 2])."""
    shape = list(input_shape)
    if isinstance(unroll_factor, int) and isinstance(unroll_axis, int):
        shape[unroll_axis] //= unroll_factor
        shape.insert(unroll_axis + 1, unroll_factor)
        return shape, unroll_axis
    if isinstance(unroll_factor, list) and isinstance(unroll_axis, list):
        assert len(unroll_axis) == len(unroll_factor), "unroll_axis and unroll_factor must have the same length"
        new_axes = []
        for shift, (axis, factor) in enumerate(zip(unroll_axis, unroll_factor)):
            shape[axis + shift] //= factor
            shape.insert(axis + shift + 1, factor)
            new_axes.append(axis + shift)
        return shape, new_axes
    raise ValueError("Both unroll_factor and unroll_axis has to be either ints or lists")


def _get_rolled_back_shape(input_shape: list[int], roll_axis: Any) -> list[int]:
    """Undoes `_get_unrolled_shape`: merges each ``roll_axis`` with the axis after it."""
    shape = list(input_shape)
    axes = [roll_axis] if isinstance(roll_axis, int) else list(roll_axis) if isinstance(roll_axis, list) else []
    for shift, axis in enumerate(axes):
        axis -= shift
        shape[axis] *= shape[axis + 1]
        shape.pop(axis + 1)
    return shape


def _validate_axis_and_eps(x_shape: list[int], scale_axis: Any, elements_per_scale: Any) -> tuple[Any, Any]:
    """(scale_axis, elements_per_scale) as two ints or two equal-length lists, each axis divisible by its
    block size."""
    assert scale_axis is not None, "scale_axis must be set if elements_per_scale is used."
    if isinstance(scale_axis, int) and isinstance(elements_per_scale, int):
        assert x_shape[scale_axis] % elements_per_scale == 0, (
            f"scaling axis of dimension {x_shape[scale_axis]} has to be divisible by thenumber of elements per "
            f"scale, given {elements_per_scale}."
        )
    elif isinstance(scale_axis, int) and isinstance(elements_per_scale, list):
        raise AssertionError(
            f"scale_axis is an integer {scale_axis}, while {elements_per_scale} is a list of values which is ambigious."
        )
    elif isinstance(scale_axis, list) and isinstance(elements_per_scale, int):
        for axis in scale_axis:
            assert x_shape[axis] % elements_per_scale == 0, (
                f"scaling axis of dimension {x_shape[axis]} has to be divisible by the number of elements per "
                f"scale, given {elements_per_scale}."
            )
        elements_per_scale = [elements_per_scale] * len(scale_axis)
    elif isinstance(scale_axis, list) and isinstance(elements_per_scale, list):
        assert len(scale_axis) == len(elements_per_scale), (
            f"both scale_axis and elements_per_scale lists must match in length; Got {len(scale_axis)} and "
            f"{len(elements_per_scale)}"
        )
        for axis, eps in zip(scale_axis, elements_per_scale):
            assert x_shape[axis] % eps == 0, (
                f"scaling axis of dimension {x_shape[axis]} has to be divisible by the corresponding number of "
                f"elements per scale, given {eps}."
            )
    return scale_axis, elements_per_scale


def _repeat_along_axes(x: Any, axis: Any, repeats: Any) -> Any:
    """Repeats ``x``'s elements ``repeats`` times along ``axis`` (ints or matching lists)."""
    if isinstance(axis, int) and isinstance(repeats, int):
        return ops.repeat(x, repeats, axis=axis)
    for a, r in zip(axis, repeats):
        x = ops.repeat(x, r, axis=a)
    return x


def _get_scale_mean(scale_axis: Any, x: Any, q: Any, elements_per_scale: Any) -> tuple[Any, Any]:
    """(mean of x*q, mean of q*q) over the non-scale axes, per block of ``elements_per_scale``
    (repeated back to the scale axes' sizes)."""
    if elements_per_scale is None:
        axes = _get_scaling_axis(scale_axis, len(x.shape))
        return ops.mean(x * q, axis=axes, keepdims=True), ops.mean(q * q, axis=axes, keepdims=True)
    x_shape = [int(d) for d in x.shape]
    scale_axis, elements_per_scale = _validate_axis_and_eps(x_shape, scale_axis, elements_per_scale)
    unrolled_shape, unrolled_axis = _get_unrolled_shape(x_shape, elements_per_scale, scale_axis)
    x1 = ops.reshape(x, unrolled_shape)
    q1 = ops.reshape(q, unrolled_shape)
    axes = _get_scaling_axis(unrolled_axis, len(unrolled_shape))
    out = []
    for prod in (x1 * q1, q1 * q1):
        mean = ops.mean(prod, axis=axes, keepdims=True)
        mean = ops.reshape(mean, _get_rolled_back_shape([int(d) for d in mean.shape], unrolled_axis))
        out.append(_repeat_along_axes(mean, scale_axis, elements_per_scale))
    return out[0], out[1]


def _clip_po2_scale(scale: Any, min_po2_exponent: Any, max_po2_exponent: Any) -> Any:
    """``scale`` clipped to [2**min_po2_exponent, 2**max_po2_exponent] (either bound may be None)."""
    if min_po2_exponent is not None:
        scale = ops.maximum(scale, 2.0**min_po2_exponent)
    if max_po2_exponent is not None:
        scale = ops.minimum(scale, 2.0**max_po2_exponent)
    return scale


def _get_least_squares_scale(
    alpha: Any,
    x: Any,
    q: Any,
    scale_axis: Any = None,
    per_channel_scale: bool = True,
    elements_per_scale: Any = None,
    min_po2_exponent: Any = None,
    max_po2_exponent: Any = None,
) -> Any:
    """Scale minimising |x - scale * q|^2 for alpha 'auto' (rounded to a power of two for 'auto_po2'):
    per channel (or per ``scale_axis``, per block of ``elements_per_scale``), one value when not
    ``per_channel_scale``, per element for 1-D tensors. Otherwise 1.0 (None), the array, or float(alpha)."""
    if isinstance(alpha, str) and "auto" in alpha:
        assert alpha in ["auto", "auto_po2"]
        x = ops.convert_to_tensor(x)
        q = ops.convert_to_tensor(q)
        if not per_channel_scale:
            qx, qq = ops.mean(x * q, keepdims=True), ops.mean(q * q, keepdims=True)
        elif len(x.shape) > 1:
            qx, qq = _get_scale_mean(scale_axis, x, q, elements_per_scale)
        else:
            qx, qq = x * q, q * q
        scale = qx / (qq + EPSILON)
        if alpha == "auto_po2":
            scale = po2_round(scale)
            if min_po2_exponent is not None or max_po2_exponent is not None:
                scale = _clip_po2_scale(scale, min_po2_exponent, max_po2_exponent)
        return scale
    if alpha is None:
        return 1.0
    if isinstance(alpha, np.ndarray):
        return alpha
    return float(alpha)


def _get_scale(*args: Any, **kwargs: Any) -> Any:
    """QKeras' old name of `_get_least_squares_scale`."""
    return _get_least_squares_scale(*args, **kwargs)
