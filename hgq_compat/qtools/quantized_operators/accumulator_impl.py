"""Accumulators of multiplier outputs (QKeras ``accumulator_impl``)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from . import quantizer_impl
from .multiplier_impl import IMultiplier


def po2_to_qbits(quantizer: quantizer_impl.IQuantizer) -> tuple[int, int]:
    """(bits, int_bits) of the fixed point type that holds every value of a power-of-two type."""
    min_exp, max_exp = quantizer.get_min_max_exp()
    return int(quantizer.is_signed + min_exp + max_exp), int(max_exp)


class IAccumulator:
    """An accumulator with an ``output`` data type."""

    @staticmethod
    def implemented_as() -> str:
        return "add"


class FloatingPointAccumulator(IAccumulator):
    """Float products summed in the same float type."""

    def __init__(self, multiplier: IMultiplier):
        self.multiplier = multiplier
        self.output = quantizer_impl.FloatingPoint(bits=multiplier.output.bits)
        self.output.int_bits = -1
        self.output.is_signed = multiplier.output.is_signed
        self.output.op_type = "accumulator"


class FixedPointAccumulator(IAccumulator):
    """Fixed-point sum of prod(kernel_shape[:-1]) products (+ 1 bias): ceil(log2(n)) more bits."""

    def __init__(self, kernel_shape: Any, multiplier: IMultiplier, use_bias: bool = True):
        if len(kernel_shape) not in (2, 4):  # QKeras logs this and goes on (the count below still holds)
            logging.error(
                "unsupported kernel shape, it is neither a dense kernel of length 2, nor a convolution "
                "kernel of length 4 (%s): adds counted over all but its last axis",
                tuple(kernel_shape),
            )
        add_ops = np.prod(kernel_shape[:-1]) + (1 if use_bias else 0)
        self.log_add_ops = int(np.ceil(np.log2(add_ops)))
        self.multiplier = multiplier
        self.output = quantizer_impl.QuantizedBits()
        self.output.bits = self.log_add_ops + multiplier.output.bits
        self.output.int_bits = self.log_add_ops + multiplier.output.int_bits
        self.output.is_signed = multiplier.output.is_signed
        self.output.op_type = "accumulator"
        assert not multiplier.output.is_floating_point
        self.output.is_floating_point = False


class Po2Accumulator(FixedPointAccumulator):
    """Sum of power-of-two products, in the fixed point type covering their range."""

    def __init__(self, kernel_shape: Any, multiplier: IMultiplier, use_bias: bool = True):
        super().__init__(kernel_shape, multiplier, use_bias)
        assert multiplier.output.is_po2
        bits, int_bits = po2_to_qbits(multiplier.output)
        self.output.bits = self.log_add_ops + int(bits)
        self.output.int_bits = self.log_add_ops + int(int_bits)
        self.output.op_type = "accumulator"
