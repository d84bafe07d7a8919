"""Resource pass: drop hgq-compat quantizer nodes that cannot change any value.

A quantizer whose input, as bit_exact infers it element by element, already lies on the
quantizer's grid and inside its range returns its input unchanged. That covers two consecutive
quantizers where the second is at least as wide as the first in every element (the first alone
suffices: ``Q2(Q1(x)) == Q1(x)``) and a quantizer after a layer that cannot produce more bits
than it keeps. Such a node is removed after 'bit_exact' (before fusion), and its consumers read
its input directly; the types bit_exact gave them stay exact because they were derived from
exactly these values. Only hgq-compat's own quantizer nodes are touched, never one right after
a model input (it converts the float input).
"""

from __future__ import annotations

import numpy as np
from hls4ml.model.layers import Input
from hls4ml.model.optimizer.optimizer import ModelOptimizerPass
from hls4ml.model.optimizer.passes import bit_exact as _be

from ..ir import Attr, FixedPointQuantizer


def is_identity(orig: tuple, overflow: str, kif_in: tuple[np.ndarray, ...]) -> bool:
    """True when the quantizer with the converter's mask ``orig = (k, B, I)`` maps every value
    of the input type ``kif_in`` (per element: keep_negative, integer bits, fractional bits) to
    itself."""
    lk, li, lf = (np.asarray(a, np.float64) for a in kif_in)
    k0, b0, i0 = (np.broadcast_to(np.asarray(a, np.float64)[0], lk.shape) for a in orig)
    kq, iq, fq = k0, i0 - k0, b0 - i0
    lo_in, hi_in = -lk * 2.0**li, 2.0**li - 2.0**-lf
    zero_in = (lo_in == 0) & (hi_in == 0)  # the element is always 0
    hi_q = 2.0**iq - 2.0**-fq
    lo_q = -kq * hi_q if overflow == "SAT_SYM" else -kq * 2.0**iq
    kept = (lf <= fq) & (lo_in >= lo_q) & (hi_in <= hi_q) & (b0 > 0)
    return bool(np.all(zero_in | kept))


class RemoveRedundantQuantizers(ModelOptimizerPass):
    """Remove hgq-compat quantizer nodes that `is_identity` proves are no-ops."""

    name = "hgq_compat_remove_redundant_quantizers"

    def __init__(self) -> None:
        pass

    def transform(self, model) -> bool:
        nodes = [
            n
            for n in model.graph.values()
            if isinstance(n, FixedPointQuantizer)
            and n.attributes.get("bit_exact_transformed", False)
            and Attr.ORIGINAL_TYPE in n.attributes
        ]
        if not nodes:
            return False  # bit_exact has not run (or is disabled): nothing is known yet
        try:
            for node in nodes:
                upstream = _be.get_input_layers(node)[0]
                if isinstance(upstream, Input) or len(node.inputs) != 1:
                    continue
                if node.outputs[0] in model.outputs and upstream.outputs[0] in model.outputs:
                    continue
                orig, _, sat = node.attributes[Attr.ORIGINAL_TYPE]
                if is_identity(orig, sat, _be.produce_kif(upstream, force_reset=True)):
                    model.remove_node(node)
        finally:
            for node in model.graph.values():  # as bit_exact leaves them: no cached intervals
                node.attributes.pop("_produce_kif", None)
                node.attributes.pop("_request_kif", None)
        return True
