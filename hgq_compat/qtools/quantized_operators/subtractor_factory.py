"""Subtractor of two data types (QKeras ``subtractor_factory``): an adder whose result is signed."""

from __future__ import annotations

from . import adder_factory, adder_impl
from .quantizer_impl import IQuantizer


class ISubtractor(adder_factory.IAdder):
    """Like `IAdder`; two unsigned fixed-point operands give a signed result one bit wider."""

    def make_quantizer(self, quantizer_1: IQuantizer, quantizer_2: IQuantizer) -> adder_impl.IAdderImpl:
        # QKeras tests ``adder_impl.FloatingPoint_Adder``, a name that does not exist (AttributeError);
        # the float adder is what it means.
        quantizer = super().make_quantizer(quantizer_1, quantizer_2)
        if not isinstance(quantizer, adder_impl.FloatingPointAdder):
            if not quantizer_1.is_signed and not quantizer_2.is_signed:
                quantizer.output.is_signed = 1
                quantizer.output.bits += 1
        return quantizer
