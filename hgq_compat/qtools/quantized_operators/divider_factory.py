"""Which divider two data types need (QKeras ``divider_factory``); only power-of-two or float
denominators are accepted."""

from __future__ import annotations

import copy
import logging

from . import divider_impl as di
from . import quantizer_impl as qi


class UnacceptedQuantizerError(ValueError):
    pass


def _table() -> list[list[tuple]]:
    none = (None, None)

    def f32() -> tuple:
        return di.FloatingPointDivider, qi.FloatingPoint(bits=qi.FLOATINGPOINT_BITS)

    def fnone() -> tuple:
        return di.FloatingPointDivider, qi.FloatingPoint(bits=None)

    # rows: numerator mode, columns: denominator mode
    return [
        [f32(), (di.Shifter, qi.QuantizedBits()), none, none, none, fnone()],
        [f32(), (di.Subtractor, qi.PowerOfTwo()), none, none, none, fnone()],
        [f32(), (di.Shifter, qi.QuantizedBits()), none, none, none, fnone()],
        [f32(), (di.Shifter, qi.PowerOfTwo()), none, none, none, fnone()],
        [f32(), (di.Shifter, qi.PowerOfTwo()), none, none, none, fnone()],
        [fnone(), fnone(), none, none, none, fnone()],
    ]


class IDivider:
    """Makes the divider of a numerator type by a denominator type."""

    def __init__(self) -> None:
        self.divider_impl_table = _table()

    def make_quantizer(
        self, numerator_quantizer: qi.IQuantizer, denominator_quantizer: qi.IQuantizer
    ) -> di.IDividerImpl:
        num, den = copy.deepcopy(numerator_quantizer), copy.deepcopy(denominator_quantizer)
        cls, output = self.divider_impl_table[num.mode][den.mode]
        if cls is None:
            raise UnacceptedQuantizerError(f"denominator quantizer {denominator_quantizer.name} not accepted!")
        logging.debug("qbn adder implemented as class %s", cls.implemented_as())
        return cls(num, den, copy.deepcopy(output))
