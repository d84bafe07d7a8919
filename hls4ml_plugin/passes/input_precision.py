"""Make the float -> fixed conversion at the model input exact."""

from __future__ import annotations

import numpy as np
from hls4ml.model.layers import Input
from hls4ml.model.optimizer import OptimizerPass
from hls4ml.model.optimizer.passes.bit_exact import get_output_layers
from ..ir import FixedPointQuantizer  # only hgq-compat's own quantizer nodes, never HGQ2's or others'
from hls4ml.model.types import FixedPrecisionType, NamedType

INPUT_GUARD_BITS = 24
"""Fractional bits on the input beyond the largest f of the quantizers it feeds: float32 has a
24-bit significand, so every value that can decide a rounding (|x| >= 2**-(f+1)) converts exactly.
Inputs given as float64 with more significant bits are not covered (Keras casts to float32)."""

MIXED_MODE_GUARD_INT_BITS = 24
"""When one input feeds both WRAP and SAT quantizers no single input type is exact for every
float; the input gets this many extra integer bits (SAT), exact for |x| < 2**(i_max + 24)."""


class WidenInputPrecision(OptimizerPass):
    """Avoid double rounding at the model input.

    hls4ml's FixInputPrecision gives the input ``fixed<k+i+24, k+i, TRN, SAT>`` when its quantizers
    round (RND_CONV): the float -> input_t conversion truncates below 2**-24, and a value just
    above a tie becomes a tie that the quantizer rounds to even (about 10% mismatches on
    adversarial inputs). Here the input keeps ``max(f) + INPUT_GUARD_BITS`` fractional bits.
    """

    name = "hgq_compat_widen_input_precision"

    def match(self, node) -> bool:
        return (isinstance(node, Input) and node.attributes.get("bit_exact_transformed", False)
                and not node.attributes.get("hgq_compat_input_widened", False))

    def transform(self, model, node) -> bool:
        node.attributes["hgq_compat_input_widened"] = True
        if node.attributes.get("_result_t_propagated", False):
            return False  # a fused input quantizer: its type already converts float -> fixed exactly
        consumers = get_output_layers(node)
        if not consumers or not all(isinstance(c, FixedPointQuantizer) for c in consumers):
            return False  # a fused (uniform) quantizer already converts float -> RND/SAT type directly
        prec = node.get_output_variable().type.precision
        integer, sat = prec.integer, prec.saturation_mode
        mixed = len({c.SAT == "WRAP" for c in consumers}) > 1
        if mixed:
            integer, sat = integer + MIXED_MODE_GUARD_INT_BITS, "SAT"
        frac = prec.fractional
        if not all(c.RND == "TRN" for c in consumers):
            f_max = max(int(np.max(c.mask_kbi[1] - c.mask_kbi[2])) for c in consumers)  # f = B - I
            frac = max(frac, f_max + INPUT_GUARD_BITS)
        if frac == prec.fractional and not mixed:
            return False
        new_type = NamedType(f"{node.name}_t", FixedPrecisionType(integer + frac, integer, prec.signed, "TRN", sat))
        node.get_output_variable().type = new_type
        node.attributes["result_t"] = new_type
        model.config.layer_name_precision[node.name] = str(new_type.precision)
        return False
