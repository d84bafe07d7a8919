"""Which accumulator a multiplier's output needs (QKeras ``accumulator_factory``)."""

from __future__ import annotations

import copy
from typing import Any

from . import accumulator_impl
from .multiplier_impl import IMultiplier


class AccumulatorFactory:
    """Makes the accumulator summing a kernel's products."""

    def make_accumulator(
        self, kernel_shape: Any, multiplier: IMultiplier, use_bias: bool = True
    ) -> accumulator_impl.IAccumulator:
        local = copy.deepcopy(multiplier)
        if local.output.is_floating_point:
            return accumulator_impl.FloatingPointAccumulator(local)
        if local.output.is_po2:
            return accumulator_impl.Po2Accumulator(kernel_shape, local, use_bias)
        return accumulator_impl.FixedPointAccumulator(kernel_shape, local, use_bias)
