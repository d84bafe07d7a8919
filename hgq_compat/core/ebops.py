"""Effective bit-operations (EBOPs).

EBOPs of a multiplying layer = sum over its multiplications of bits(input) x bits(weight),
plus one add of bits(bias) per output element. A weight that quantizes to exactly 0 costs
nothing. Everything is differentiable w.r.t. the bitwidths, so ``beta * EBOPs`` in the loss
pulls bitwidths down where accuracy allows.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from keras import ops


def effective_weight_bits(bits: Any, wq: Any) -> Any:
    """Bitwidths broadcast to the weight's shape, 0 where the quantized weight is exactly 0."""
    bits = ops.broadcast_to(bits, ops.shape(wq))
    return ops.where(ops.not_equal(ops.stop_gradient(wq), 0.0), bits, ops.zeros_like(bits))


def _bias_ebops(bias_bits: Any, n_positions: int) -> Any:
    return ops.sum(bias_bits) * float(n_positions)


def dense_ebops(input_bits: Any, kernel_bits: Any, bias_bits: Any = None) -> Any:
    """EBOPs of ``y = x @ W + b``.

    Args:
        input_bits: bits per input element, shape (..., n_in) without the batch axis.
        kernel_bits: effective bits of the kernel, shape (n_in, n_out).
        bias_bits: effective bits of the bias, shape (n_out,), or None.
    """
    input_bits = ops.reshape(input_bits, (-1, ops.shape(kernel_bits)[0]))
    total = ops.sum(ops.matmul(input_bits, kernel_bits))
    if bias_bits is not None:
        total = total + _bias_ebops(bias_bits, int(input_bits.shape[0]))
    return total


def conv_ebops(input_bits: Any, kernel_bits: Any, bias_bits: Any = None, strides: Sequence[int] | int = 1,
               padding: str = "valid", dilation_rate: Sequence[int] | int = 1) -> Any:
    """EBOPs of a channels-last convolution: the convolution of the input bit map with the
    kernel bit map, summed.

    Args:
        input_bits: bits per input element, shape (*spatial, c_in) without the batch axis.
        kernel_bits: effective kernel bits, shape (*kernel_size, c_in, c_out).
        padding: 'valid', 'same' or 'causal' (1-D only); padded positions cost 0.
    """
    x = input_bits[None]
    if padding == "causal":
        rate = dilation_rate if isinstance(dilation_rate, int) else dilation_rate[0]
        left = rate * (int(kernel_bits.shape[0]) - 1)
        x = ops.pad(x, [[0, 0], [left, 0], [0, 0]])
        padding = "valid"
    out = ops.conv(x, kernel_bits, strides=strides, padding=padding, dilation_rate=dilation_rate)
    total = ops.sum(out)
    if bias_bits is not None:
        total = total + _bias_ebops(bias_bits, math.prod(int(d) for d in out.shape[1:-1]))
    return total


def depthwise_conv_ebops(input_bits: Any, kernel_bits: Any, bias_bits: Any = None, strides: Sequence[int] | int = 1,
                         padding: str = "valid", dilation_rate: Sequence[int] | int = 1) -> Any:
    """EBOPs of a channels-last depthwise convolution, kernel (*kernel_size, c_in, multiplier)."""
    out = ops.depthwise_conv(input_bits[None], kernel_bits, strides=strides, padding=padding, dilation_rate=dilation_rate)
    total = ops.sum(out)
    if bias_bits is not None:
        total = total + _bias_ebops(bias_bits, math.prod(int(d) for d in out.shape[1:-1]))
    return total
