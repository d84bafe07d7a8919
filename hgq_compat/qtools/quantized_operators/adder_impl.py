"""Adders of two data types (QKeras ``adder_impl``)."""

from __future__ import annotations

from . import accumulator_impl, quantizer_impl
from .quantizer_impl import IQuantizer


def po2_qbits_converter(po2_quantizer: IQuantizer) -> quantizer_impl.QuantizedBits:
    """The fixed point type covering a power-of-two type."""
    bits, int_bits = accumulator_impl.po2_to_qbits(po2_quantizer)
    q = quantizer_impl.QuantizedBits()
    q.bits = bits
    q.int_bits = int_bits
    q.is_signed = po2_quantizer.is_signed
    return q


def _fractional_bits(q: IQuantizer) -> int:
    return q.bits - int(q.is_signed) - q.int_bits


class IAdderImpl:
    """An adder with an ``output`` data type."""

    @staticmethod
    def implemented_as() -> str:
        return "add"


class FixedPointAdder(IAdderImpl):
    """Fixed point + fixed point: one more integer bit than the larger, the finer fraction."""

    def __init__(self, quantizer_1: IQuantizer, quantizer_2: IQuantizer):
        self.output = quantizer_impl.QuantizedBits()
        self.output.int_bits = max(quantizer_1.int_bits, quantizer_2.int_bits) + 1
        self.output.is_signed = quantizer_1.is_signed | quantizer_2.is_signed
        self.output.bits = (
            self.output.int_bits
            + int(self.output.is_signed)
            + max(_fractional_bits(quantizer_1), _fractional_bits(quantizer_2))
        )
        self.output.mode = 0
        self.output.is_floating_point = False
        self.output.is_po2 = 0


class FloatingPointAdder(IAdderImpl):
    """A float adder as wide as the wider operand."""

    def __init__(self, quantizer_1: IQuantizer, quantizer_2: IQuantizer):
        self.output = quantizer_impl.FloatingPoint(bits=max(quantizer_1.bits, quantizer_2.bits))


class Po2FixedPointAdder(IAdderImpl):
    """Power of two + fixed point, as two fixed point operands."""

    def __init__(self, quantizer_1: IQuantizer, quantizer_2: IQuantizer):
        po2, fixed = (quantizer_1, quantizer_2) if quantizer_1.is_po2 else (quantizer_2, quantizer_1)
        self.output = FixedPointAdder(po2_qbits_converter(po2), fixed).output


class Po2Adder(IAdderImpl):
    """Power of two + power of two, as two fixed point operands."""

    def __init__(self, quantizer_1: IQuantizer, quantizer_2: IQuantizer):
        self.output = FixedPointAdder(po2_qbits_converter(quantizer_1), po2_qbits_converter(quantizer_2)).output
