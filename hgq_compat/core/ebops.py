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
    return ops.where(ops.not_equal(ops.stop_gradient(wq), 0.0), bits, 0.0)  # broadcasts to wq's shape


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


def conv_ebops(
    input_bits: Any,
    kernel_bits: Any,
    bias_bits: Any = None,
    strides: Sequence[int] | int = 1,
    padding: str = "valid",
    dilation_rate: Sequence[int] | int = 1,
) -> Any:
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


def depthwise_conv_ebops(
    input_bits: Any,
    kernel_bits: Any,
    bias_bits: Any = None,
    strides: Sequence[int] | int = 1,
    padding: str = "valid",
    dilation_rate: Sequence[int] | int = 1,
) -> Any:
    """EBOPs of a channels-last depthwise convolution, kernel (*kernel_size, c_in, multiplier)."""
    out = ops.depthwise_conv(
        input_bits[None], kernel_bits, strides=strides, padding=padding, dilation_rate=dilation_rate
    )
    total = ops.sum(out)
    if bias_bits is not None:
        total = total + _bias_ebops(bias_bits, math.prod(int(d) for d in out.shape[1:-1]))
    return total


def recurrent_ebops(
    input_bits: Any, kernel_bits: Any, state_bits: Any, recurrent_bits: Any, bias_bits: Any = None, timesteps: Any = 1
) -> Any:
    """EBOPs of a recurrent cell (SimpleRNN, LSTM, GRU) run over a sequence.

    Every time step multiplies the step input by the kernel and the (quantized) previous state
    by the recurrent kernel, and adds the bias once per output element:
    ``sum_t bits(x_t) @ bits(W) + T * bits(h) @ bits(U) + T * sum(bits(b))``.

    Args:
        input_bits: bits per input element: shape (T, n_in) (one row per time step) or
            (n_in,) / (1, n_in) (the same for every step, counted ``timesteps`` times).
        kernel_bits: effective kernel bits, shape (n_in, gates * units).
        state_bits: bits per state element, shape (units,).
        recurrent_bits: effective recurrent-kernel bits, shape (units, gates * units).
        bias_bits: effective bias bits (any shape), or None.
        timesteps: number of time steps T (a number or a scalar tensor).
    """
    kernel_bits = ops.cast(kernel_bits, "float32")
    recurrent_bits = ops.cast(recurrent_bits, "float32")
    n_in = int(kernel_bits.shape[0])
    rows = ops.reshape(ops.cast(input_bits, "float32"), (-1, n_in))
    steps = ops.cast(timesteps, "float32")
    input_part = ops.sum(ops.matmul(rows, kernel_bits))
    if int(rows.shape[0]) == 1:
        input_part = input_part * steps
    state_bits = ops.reshape(ops.cast(state_bits, "float32"), (1, -1))
    total = input_part + steps * ops.sum(ops.matmul(state_bits, recurrent_bits))
    if bias_bits is not None:
        total = total + steps * ops.sum(ops.cast(bias_bits, "float32"))
    return total


def separable_conv_ebops(
    input_bits: Any,
    depthwise_bits: Any,
    pointwise_bits: Any,
    bias_bits: Any = None,
    strides: Sequence[int] | int = 1,
    padding: str = "valid",
    dilation_rate: Sequence[int] | int = 1,
) -> Any:
    """EBOPs of a channels-last separable convolution: depthwise part + pointwise part.

    The depthwise output is not quantized, so the pointwise part counts each intermediate
    channel at the width of the depthwise products, ``max(input bits of its channel) +
    max(its depthwise kernel bits)``, times the pointwise kernel bits, at every output position.

    Args:
        input_bits: bits per input element, (*spatial, c_in).
        depthwise_bits: effective depthwise kernel bits, (*kernel_size, c_in, multiplier).
        pointwise_bits: effective pointwise kernel bits, (*ones, c_in * multiplier, filters).
    """
    input_bits = ops.cast(input_bits, "float32")
    depthwise_bits = ops.cast(depthwise_bits, "float32")
    rank = len(depthwise_bits.shape) - 2
    dw = ops.depthwise_conv(
        input_bits[None], depthwise_bits, strides=strides, padding=padding, dilation_rate=dilation_rate
    )
    total = ops.sum(dw)
    n_pos = math.prod(int(d) for d in dw.shape[1:-1])
    in_max = ops.max(ops.reshape(input_bits, (-1, int(input_bits.shape[-1]))), axis=0)  # (c_in,)
    k_max = ops.max(ops.reshape(depthwise_bits, (-1,) + tuple(depthwise_bits.shape[-2:])), axis=0)  # (c_in, mult)
    mid = ops.where(ops.greater(k_max, 0.0), in_max[:, None] + k_max, ops.zeros_like(k_max))
    mid = ops.reshape(mid, (1, -1))
    pw = ops.reshape(ops.cast(pointwise_bits, "float32"), tuple(pointwise_bits.shape[rank:]))
    total = total + float(n_pos) * ops.sum(ops.matmul(mid, pw))
    if bias_bits is not None:
        total = total + _bias_ebops(bias_bits, n_pos)
    return total


def conv_transpose_ebops(
    input_bits: Any, kernel_bits: Any, bias_bits: Any = None, output_spatial: Sequence[int] = ()
) -> Any:
    """EBOPs of a channels-last transposed convolution.

    Every input element multiplies every kernel element of its input channel (that is how a
    transposed convolution scatters), so the count is
    ``sum_c (sum_positions bits(x[..., c])) * (sum_{taps, out} bits(W[..., out, c]))``,
    plus the bias once per output position.

    Args:
        input_bits: bits per input element, (*spatial, c_in).
        kernel_bits: effective kernel bits, (*kernel_size, c_out, c_in) (Keras layout).
        output_spatial: spatial output shape, for the bias term.
    """
    input_bits = ops.cast(input_bits, "float32")
    kernel_bits = ops.cast(kernel_bits, "float32")
    c_in = int(kernel_bits.shape[-1])
    per_channel_in = ops.sum(ops.reshape(input_bits, (-1, c_in)), axis=0)
    per_channel_k = ops.sum(ops.reshape(kernel_bits, (-1, c_in)), axis=0)
    total = ops.sum(per_channel_in * per_channel_k)
    if bias_bits is not None:
        total = total + _bias_ebops(bias_bits, math.prod(int(d) for d in output_spatial))
    return total


def pooling_ebops(
    input_bits: Any,
    pool_size: Sequence[int] | None = None,
    strides: Sequence[int] | None = None,
    padding: str = "valid",
) -> Any:
    """EBOPs of a channels-last average pooling: the adds, i.e. the sum over every pooling
    window of the bits of the inputs in it (``pool_size=None``: global pooling, the sum of
    all input bits). The multiplication by the constant 1/area is not counted."""
    input_bits = ops.cast(input_bits, "float32")
    if pool_size is None:
        return ops.sum(input_bits)
    c = int(input_bits.shape[-1])
    ones = ops.ones(tuple(pool_size) + (c, 1), dtype="float32")
    return ops.sum(ops.depthwise_conv(input_bits[None], ones, strides=strides, padding=padding))


def scale_shift_ebops(input_bits: Any, scale_bits: Any = None, shift_bits: Any = None) -> Any:
    """EBOPs of an element-wise ``x * scale + shift`` over the last axis (batch normalization):
    ``sum bits(x) * bits(scale)`` plus ``bits(shift)`` once per element."""
    input_bits = ops.cast(input_bits, "float32")
    total = ops.zeros((), dtype="float32")
    if scale_bits is not None:
        total = total + ops.sum(input_bits * ops.cast(scale_bits, "float32"))
    if shift_bits is not None:
        n_pos = math.prod(int(d) for d in input_bits.shape[:-1])
        total = total + _bias_ebops(shift_bits, n_pos)
    return total
