"""Which multiplier a weight type x input type needs (QKeras ``multiplier_factory``).

Rows: weight mode, columns: input mode (0 fixed point, 1 po2, 2 ternary, 3 binary +/-1,
4 binary 0/1, 5 float); each entry is (multiplier class, output data type to fill in).
"""

from __future__ import annotations

import copy

from . import multiplier_impl as mi
from . import quantizer_impl as qi


def _table() -> list[list[tuple[type, qi.IQuantizer]]]:
    Q, P, T = qi.QuantizedBits, qi.PowerOfTwo, qi.Ternary

    def F() -> qi.FloatingPoint:
        return qi.FloatingPoint(bits=None)

    return [
        [
            (mi.FixedPointMultiplier, Q()),
            (mi.Shifter, Q()),
            (mi.Mux, Q()),
            (mi.Mux, Q()),
            (mi.AndGate, Q()),
            (mi.FloatingPointMultiplier, F()),
        ],
        [
            (mi.Shifter, Q()),
            (mi.Adder, P()),
            (mi.Mux, P()),
            (mi.Mux, P()),
            (mi.AndGate, P()),
            (mi.FloatingPointMultiplier, F()),
        ],
        [
            (mi.Mux, Q()),
            (mi.Mux, P()),
            (mi.Mux, T()),
            (mi.Mux, T()),
            (mi.AndGate, T()),
            (mi.FloatingPointMultiplier, F()),
        ],
        [
            (mi.Mux, Q()),
            (mi.Mux, P()),
            (mi.Mux, T()),
            (mi.XorGate, qi.Binary(use_01=False)),
            (mi.AndGate, T()),
            (mi.FloatingPointMultiplier, F()),
        ],
        [
            (mi.AndGate, Q()),
            (mi.AndGate, P()),
            (mi.AndGate, T()),
            (mi.AndGate, T()),
            (mi.AndGate, qi.Binary(use_01=True)),
            (mi.FloatingPointMultiplier, F()),
        ],
        [(mi.FloatingPointMultiplier, F()) for _ in range(6)],
    ]


class MultiplierFactory:
    """Makes the multiplier of a weight type and an input type."""

    def __init__(self) -> None:
        self.multiplier_impl_table = _table()

    def make_multiplier(self, weight_quantizer: qi.IQuantizer, input_quantizer: qi.IQuantizer) -> mi.IMultiplier:
        """The multiplier for ``weight_quantizer`` x ``input_quantizer`` (operands are copied)."""
        assert weight_quantizer is not None
        assert input_quantizer is not None
        cls, output = self.multiplier_impl_table[weight_quantizer.mode][input_quantizer.mode]
        return cls(copy.deepcopy(weight_quantizer), copy.deepcopy(input_quantizer), copy.deepcopy(output))
