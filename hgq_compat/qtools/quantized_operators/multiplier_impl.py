"""How a weight x input product is built in hardware, and its output type (QKeras ``multiplier_impl``).

Each multiplier sets ``output`` (a data type), ``gate_factor`` (energy relative to an adder) and
``gate_bits`` (the operand width the energy model is evaluated at).
"""

from __future__ import annotations

import numpy as np

from .quantizer_impl import IQuantizer


class IMultiplier:
    """A multiplier of ``weights`` by ``input`` giving ``output``."""

    def __init__(self, weight_quantizer: IQuantizer, input_quantizer: IQuantizer, output_quantizer: IQuantizer):
        self.input = input_quantizer
        self.weights = weight_quantizer
        self.output = output_quantizer
        self.output.op_type = "multiplier"

    @staticmethod
    def implemented_as() -> str:
        raise NotImplementedError

    def name(self) -> str:
        return self.output.name

    def output_quantizer(self) -> IQuantizer:
        return self.output


def assert_neither_input_and_weights_is_floating_point(multiplier: IMultiplier) -> None:
    assert not multiplier.input.is_floating_point
    assert not multiplier.weights.is_floating_point


def _name_po2_output(output: IQuantizer) -> None:
    """A power-of-two result is named by its sign."""
    if "po2" in output.name:
        output.name = "quantized_po2" if output.is_signed else "quantized_relu_po2"


class Mux(IMultiplier):
    """A multiplexer: a binary/ternary operand selects (+/-) the other one."""

    def __init__(self, weight_quantizer: IQuantizer, input_quantizer: IQuantizer, output_quantizer: IQuantizer):
        super().__init__(weight_quantizer, input_quantizer, output_quantizer)
        self.output.is_signed = self.input.is_signed | self.weights.is_signed
        if any(s in weight_quantizer.name for s in ("binary", "ternary")):
            selected, selector = input_quantizer, weight_quantizer
            self.gate_factor = 0.3 if "binary" in weight_quantizer.name else 2 * 0.3
        else:
            selected, selector = weight_quantizer, input_quantizer
            self.gate_factor = 0.3 if input_quantizer.name == "binary" else 2 * 0.3
        self.output.bits = selected.bits
        self.output.int_bits = selected.int_bits
        if not selected.is_signed and selector.is_signed:
            self.output.bits += 1
        self.gate_bits = selected.bits
        if "po2" in output_quantizer.name:
            _name_po2_output(output_quantizer)
            po2 = weight_quantizer if "po2" in weight_quantizer.name else input_quantizer
            self.output.max_val_po2 = po2.max_val_po2
            self.output.int_bits = self.output.bits

    @staticmethod
    def implemented_as() -> str:
        return "mux"


class XorGate(IMultiplier):
    """(-1, +1) x (-1, +1): an XOR gate."""

    def __init__(self, weight_quantizer: IQuantizer, input_quantizer: IQuantizer, output_quantizer: IQuantizer):
        super().__init__(weight_quantizer, input_quantizer, output_quantizer)
        if output_quantizer.name != "ternary":
            self.output.bits = max(self.input.bits, self.weights.bits)
            self.output.int_bits = max(self.input.int_bits, self.weights.int_bits)
            self.output.is_signed = self.input.is_signed | self.weights.is_signed
            assert_neither_input_and_weights_is_floating_point(self)
            self.output.is_floating_point = False
        self.gate_factor = 0.3
        self.gate_bits = 1

    @staticmethod
    def implemented_as() -> str:
        return "xor"


class Shifter(IMultiplier):
    """Power of two x fixed point: a barrel shifter. The fixed-point width grows by the exponent
    range (min exponent to the right, max exponent to the left), plus a sign bit when only the
    power of two is signed."""

    def __init__(self, weight_quantizer: IQuantizer, input_quantizer: IQuantizer, output_quantizer: IQuantizer):
        super().__init__(weight_quantizer, input_quantizer, output_quantizer)
        if weight_quantizer.mode == 1:
            po2, qbits = weight_quantizer, input_quantizer
        else:
            po2, qbits = input_quantizer, weight_quantizer
        min_exp, max_exp = po2.get_min_max_exp()
        self.output.bits = int(qbits.bits + max_exp + min_exp)
        if not qbits.is_signed and po2.is_signed:
            self.output.bits += 1
        self.output.int_bits = int(qbits.int_bits + max_exp)
        self.output.is_signed = qbits.is_signed | po2.is_signed
        assert_neither_input_and_weights_is_floating_point(self)
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


class AndGate(IMultiplier):
    """(0, 1) binary x anything: an AND gate."""

    def __init__(self, weight_quantizer: IQuantizer, input_quantizer: IQuantizer, output_quantizer: IQuantizer):
        super().__init__(weight_quantizer, input_quantizer, output_quantizer)
        if self.output.name != "ternary":
            self.output.bits = max(self.input.bits, self.weights.bits)
            self.output.is_signed = self.input.is_signed | self.weights.is_signed
            self.output.is_floating_point = self.input.is_floating_point | self.weights.is_floating_point
            if weight_quantizer.name == "binary" and weight_quantizer.use_01:
                self.output.int_bits = input_quantizer.int_bits
            else:
                self.output.int_bits = weight_quantizer.int_bits
            if "po2" in output_quantizer.name:
                _name_po2_output(output_quantizer)
                po2 = weight_quantizer if "po2" in weight_quantizer.name else input_quantizer
                self.output.max_val_po2 = po2.max_val_po2
        self.gate_bits = self.output.bits
        self.gate_factor = 0.1

    @staticmethod
    def implemented_as() -> str:
        return "and"


class Adder(IMultiplier):
    """Power of two x power of two: the exponents are added."""

    def __init__(self, weight_quantizer: IQuantizer, input_quantizer: IQuantizer, output_quantizer: IQuantizer):
        super().__init__(weight_quantizer, input_quantizer, output_quantizer)
        self.output.bits = max(self.input.bits, self.weights.bits) + 1
        self.output.int_bits = max(self.input.int_bits, self.weights.int_bits) + 1
        self.output.is_signed = self.input.is_signed | self.weights.is_signed
        assert_neither_input_and_weights_is_floating_point(self)
        self.output.is_floating_point = False
        self.output.is_po2 = 1
        if self.input.max_val_po2 == -1 or self.weights.max_val_po2 == -1:
            self.output.max_val_po2 = -1
        else:
            self.output.max_val_po2 = self.input.max_val_po2 * self.weights.max_val_po2
        _name_po2_output(output_quantizer)
        self.gate_bits = self.output.bits
        self.gate_factor = 1

    @staticmethod
    def implemented_as() -> str:
        return "add"


class FloatingPointMultiplier(IMultiplier):
    """A float multiplier as wide as the widest float operand."""

    def __init__(self, weight_quantizer: IQuantizer, input_quantizer: IQuantizer, output_quantizer: IQuantizer):
        super().__init__(weight_quantizer, input_quantizer, output_quantizer)
        self.output.bits = max(
            self.input.bits * self.input.is_floating_point, self.weights.bits * self.weights.is_floating_point
        )
        self.output.int_bits = -1
        self.output.is_signed = 1
        assert self.input.is_floating_point | self.weights.is_floating_point
        self.output.is_floating_point = True
        self.gate_factor = 1
        self.gate_bits = self.output.bits

    @staticmethod
    def implemented_as() -> str:
        return "mul"


class FixedPointMultiplier(IMultiplier):
    """Fixed point x fixed point: integer and fractional bits add up."""

    def __init__(self, weight_quantizer: IQuantizer, input_quantizer: IQuantizer, output_quantizer: IQuantizer):
        super().__init__(weight_quantizer, input_quantizer, output_quantizer)
        self.output.int_bits = self.input.int_bits + self.weights.int_bits
        fractional = sum(q.bits - int(q.is_signed) - q.int_bits for q in (self.input, self.weights))
        self.output.is_signed = self.input.is_signed | self.weights.is_signed
        self.output.bits = self.output.int_bits + fractional + int(self.output.is_signed)
        assert_neither_input_and_weights_is_floating_point(self)
        self.output.is_floating_point = False
        self.gate_factor = 1
        self.gate_bits = np.sqrt(self.input.bits * self.weights.bits)

    @staticmethod
    def implemented_as() -> str:
        return "mul"
