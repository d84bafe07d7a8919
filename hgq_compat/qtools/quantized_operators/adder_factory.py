"""Which adder two data types need (QKeras ``adder_factory``)."""

from __future__ import annotations

import copy
import logging

from . import adder_impl
from .quantizer_impl import IQuantizer


def _table() -> list[list[type]]:
    fx, p2fx, p2, fl = (
        adder_impl.FixedPointAdder,
        adder_impl.Po2FixedPointAdder,
        adder_impl.Po2Adder,
        adder_impl.FloatingPointAdder,
    )
    fixed_row = [fx, p2fx, fx, fx, fx, fl]
    # rows/columns: mode 0 fixed, 1 po2, 2 ternary, 3 binary, 4 binary 0/1, 5 float
    return [fixed_row, [p2fx, p2, p2fx, p2fx, fx, fl], list(fixed_row), list(fixed_row), list(fixed_row), [fl] * 6]


class IAdder:
    """Makes the adder of two data types."""

    def __init__(self) -> None:
        self.adder_impl_table = _table()

    def make_quantizer(self, quantizer_1: IQuantizer, quantizer_2: IQuantizer) -> adder_impl.IAdderImpl:
        q1, q2 = copy.deepcopy(quantizer_1), copy.deepcopy(quantizer_2)
        cls = self.adder_impl_table[q1.mode][q2.mode]
        logging.debug("qbn adder implemented as class %s", cls.implemented_as())
        return cls(q1, q2)
