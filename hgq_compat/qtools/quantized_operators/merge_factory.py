"""Output types of Keras merge layers (QKeras ``merge_factory``)."""

from __future__ import annotations

from typing import Any

from . import adder_impl, multiplier_factory, quantizer_impl


class MergeFactory:
    """Makes the merge data type of a merge layer class name."""

    def make_quantizer(self, input_qe_list: list, layer_type: str) -> Any:
        cls = {
            "Add": Add,
            "Multiply": Multiply,
            "Maximum": Maximum,
            "Minimum": Minimum,
            "Average": Average,
            "Concatenate": Concatenate,
            "Dot": Dot,
        }.get(layer_type)
        return None if cls is None else cls(input_qe_list)


class IMerger:
    """Holds the (quantizer, edge) pairs of the merged inputs."""

    def __init__(self, input_qe_list: list):
        self.input_quantizers = [q for q, _ in input_qe_list]
        self.edges = [edge for _, edge in input_qe_list]


def _widest(input_quantizers: list, extra_bit: int) -> quantizer_impl.IQuantizer:
    """A float as wide as the widest float input if any input is a float, else the fixed point type
    with the most bits and integer bits of the inputs (po2 inputs as fixed point), plus ``extra_bit``."""
    max_bits = max_int_bits = -1
    float_bits = 0
    is_float = False
    is_signed = False
    for q in input_quantizers:
        if q.is_floating_point:
            is_float = True
            float_bits = max(float_bits, q.bits)
        else:
            fixed = adder_impl.po2_qbits_converter(q) if q.is_po2 else q
            max_bits = max(max_bits, fixed.bits)
            max_int_bits = max(max_int_bits, fixed.int_bits)
        is_signed |= q.is_signed
    if is_float:
        return quantizer_impl.FloatingPoint(bits=float_bits)
    out = quantizer_impl.QuantizedBits()
    out.bits = max_bits + extra_bit
    out.int_bits = max_int_bits + extra_bit
    out.is_signed = is_signed
    out.mode = 0
    out.is_floating_point = False
    out.is_po2 = 0
    return out


class Add(IMerger):
    """Sum of the inputs: one bit wider than the widest."""

    def __init__(self, input_qe_list: list):
        super().__init__(input_qe_list)
        self.output = _widest(self.input_quantizers, 1)
        self.gate_factor = 1
        self.gate_bits = self.output.bits

    def implemented_as(self) -> str:
        return "add"


class Multiply(IMerger):
    """Element-wise product, as a chain of multipliers."""

    def __init__(self, input_qe_list: list):
        super().__init__(input_qe_list)
        factory = multiplier_factory.MultiplierFactory()
        quantizer = self.input_quantizers[0]
        for cur in self.input_quantizers[1:]:
            tmp = factory.make_multiplier(quantizer, cur)
            quantizer = tmp.output
        self.output = quantizer
        self.impl_class = tmp
        self.gate_factor = tmp.gate_factor
        self.gate_bits = tmp.gate_bits

    def implemented_as(self) -> str:
        return self.impl_class.implemented_as()


class Maximum(IMerger):
    """Element-wise maximum: the common input type, or the widest one."""

    def __init__(self, input_qe_list: list):
        super().__init__(input_qe_list)
        first = self.input_quantizers[0]
        same = all(
            (first.name, first.bits, first.int_bits, first.is_signed) == (q.name, q.bits, q.int_bits, q.is_signed)
            for q in self.input_quantizers[1:]
        )
        self.output = first if same else _widest(self.input_quantizers, 0)
        self.gate_factor = 0.2
        self.gate_bits = self.output.bits

    @staticmethod
    def implemented_as() -> str:
        return "add"


class Minimum(Maximum):
    """Element-wise minimum (as `Maximum`)."""


class Average(Maximum):
    """Element-wise average (as `Maximum`, adder cost)."""

    def __init__(self, input_qe_list: list):
        super().__init__(input_qe_list)
        self.gate_factor = 1
        self.gate_bits = self.output.bits


class Concatenate(Maximum):
    """Concatenation (as `Maximum`, no gate cost)."""

    def __init__(self, input_qe_list: list):
        super().__init__(input_qe_list)
        self.gate_factor = 0
        self.gate_bits = self.output.bits


class Dot(IMerger):
    """Dot product between samples: QKeras gives it no output type."""
