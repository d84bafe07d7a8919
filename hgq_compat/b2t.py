"""QKeras ``qkeras.b2t``: binary to (partial) thermometer decoding of integer-valued inputs (numpy)."""

from __future__ import annotations

import keras
import numpy as np


def BinaryToThermometer(
    x: np.ndarray,
    classes: int,
    value_range: float,
    with_residue: bool = False,  # noqa: N802
    merge_with_channels: bool = False,
    use_two_hot_encoding: bool = False,
) -> np.ndarray:
    """One-hot of ``floor(x / (value_range / classes))``, with the residue added (``with_residue``) or
    split between the two neighbouring classes (``use_two_hot_encoding``), as QKeras.

    Args:
        x: values in [0, value_range), shape (B, ..., C).
        classes: number of classes.
        value_range: the span of the possible values of x (256 for 8-bit inputs).
        with_residue: add the fraction left after the class to its one-hot entry.
        merge_with_channels: merge the class axis into the last axis (C * classes).
        use_two_hot_encoding: split the value between the floor and the ceil class (one more class).

    Returns:
        float32 array of shape x.shape + (classes [+1],), or merged with the last axis.
    """
    x = np.asarray(x).astype(np.float32)
    ranges = value_range / classes
    x_floor = np.floor(x / ranges)
    n_classes = classes + int(use_two_hot_encoding)
    xc_f = np.asarray(keras.utils.to_categorical(x_floor, n_classes), dtype=np.float32)
    if with_residue:
        x_mod_f = (x - x_floor * ranges) / ranges
        xc_f_m = xc_f == 1
        if use_two_hot_encoding:
            xc_c = np.asarray(keras.utils.to_categorical(np.ceil(x / ranges), n_classes), dtype=np.float32)
            xc_c_m = xc_c == 1
            if np.any(xc_c_m):
                xc_c[xc_c_m] = x_mod_f.reshape(xc_c[xc_c_m].shape)
            if np.any(xc_f_m):
                xc_f[xc_f_m] = 1.0 - x_mod_f.reshape(xc_f[xc_f_m].shape)
            xc_f += xc_c
        elif np.any(xc_f_m):
            xc_f[xc_f_m] += x_mod_f.reshape(xc_f[xc_f_m].shape)
    if merge_with_channels and len(xc_f.shape) != len(x.shape):
        xc_f = xc_f.reshape(xc_f.shape[:-2] + (xc_f.shape[-2] * xc_f.shape[-1],))
    return xc_f


__all__ = ["BinaryToThermometer"]
