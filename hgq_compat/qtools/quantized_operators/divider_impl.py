"""Dividers (QKeras ``divider_impl``)."""

from __future__ import annotations

import numpy as np

from .quantizer_impl import IQuantizer


class IDividerImpl:
    """numerator / denominator giving ``output``."""

    def __init__(
        self, numerator_quantizer: IQuantizer, denominator_quantizer: IQuantizer, output_quantizer: IQuantizer
    ):
        self.numerator_quantizier = numerator_quantizer  # (sic) QKeras' attribute name
        self.denominator_quantizer = denominator_quantizer
        self.output = output_quantizer

    @staticmethod
    def implemented_as() -> str:
        raise NotImplementedError


class FloatingPointDivider(IDividerImpl):
    """A float divider; an unset output width is the widest float operand."""

    def __init__(
        self, numerator_quantizer: IQuantizer, denominator_quantizer: IQuantizer, output_quantizer: IQuantizer
    ):
        super().__init__(numerator_quantizer, denominator_quantizer, output_quantizer)
        if self.output.bits is None:
            self.output.bits = max(
                [0] + [q.bits for q in (numerator_quantizer, denominator_quantizer) if q.is_floating_point]
            )
        self.gate_bits = self.output.bits
        self.gate_factor = 1

    @staticmethod
    def implemented_as() -> str:
        return "mul"


class Shifter(IDividerImpl):
    """Fixed point / power of two: a shift (the exponent range is mirrored)."""

    def __init__(
        self, numerator_quantizer: IQuantizer, denominator_quantizer: IQuantizer, output_quantizer: IQuantizer
    ):
        super().__init__(numerator_quantizer, denominator_quantizer, output_quantizer)
        qbits, po2 = numerator_quantizer, denominator_quantizer
        max_exp, min_exp = po2.get_min_max_exp()  # division swaps them
        self.output.bits = int(qbits.bits + max_exp + min_exp)
        if not qbits.is_signed and po2.is_signed:
            self.output.bits += 1
        self.output.int_bits = int(qbits.int_bits + max_exp)
        self.output.is_signed = qbits.is_signed | po2.is_signed
        self.output.is_floating_point = False
        if po2.inference_value_counts > 0:
            self.gate_factor = po2.inference_value_counts * 0.3
            self.gate_bits = qbits.bits
        else:
            self.gate_factor = 1
            b = np.sqrt(2**po2.bits * qbits.bits)
            self.gate_bits = b * np.log10(b)

    @staticmethod
    def implemented_as() -> str:
        return "shifter"


class Subtractor(IDividerImpl):
    """Power of two / power of two: the exponents are subtracted."""

    def __init__(
        self, numerator_quantizer: IQuantizer, denominator_quantizer: IQuantizer, output_quantizer: IQuantizer
    ):
        super().__init__(numerator_quantizer, denominator_quantizer, output_quantizer)
        self.output.bits = max(numerator_quantizer.bits, denominator_quantizer.bits) + 1
        self.output.int_bits = max(numerator_quantizer.int_bits, denominator_quantizer.int_bits) + 1
        self.output.is_signed = 1
        self.output.is_floating_point = False
        self.output.is_po2 = 1
        if numerator_quantizer.max_val_po2 == -1 or denominator_quantizer.max_val_po2 == -1:
            self.output.max_val_po2 = -1
        else:
            self.output.max_val_po2 = numerator_quantizer.max_val_po2 / denominator_quantizer.max_val_po2
        if "po2" in output_quantizer.name:
            output_quantizer.name = "quantized_po2" if self.output.is_signed else "quantized_relu_po2"
        self.gate_bits = self.output.bits
        self.gate_factor = 1

    @staticmethod
    def implemented_as() -> str:
        return "add"
