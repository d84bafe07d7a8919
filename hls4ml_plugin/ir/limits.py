"""The limits of hls4ml 1.3.0 that decide what the plugin can export exactly, in one place."""

from __future__ import annotations

HLS4ML_MAX_FRACTIONAL_BITS = 32
"""hls4ml's ``minimal_kif`` (weight and table types; ``hls4ml.utils.qinterval._minimal_f``) searches
f in [-31, 32] only: a constant with more fractional bits would be silently rounded
(quantized_po2(8) gives 2**-64 for 0)."""

MAX_CONSTANT_FRACTIONAL_BITS = HLS4ML_MAX_FRACTIONAL_BITS - 1
"""Fractional bits (31) a batch-normalization scale or shift (`layers.ScaleShift`) may have, and the
finest grid of `exactness.wide_constant`. The same hls4ml limit as `HLS4ML_MAX_FRACTIONAL_BITS`,
one bit tighter: hls4ml holds 32 fractional bits exactly, but these two checks have always stopped at
31, and using 32 would change results (a scale or shift with exactly 32 fractional bits, refused
today, would be accepted; ``allow_inexact`` exports would round constants below 2**-8 more finely).
Kept at 31 so that the refactor changes no behaviour."""

MAX_CONSTANT_BITS = 64
"""Widest fixed-point type (sign included) of a weight or bias without a quantizer (float32
constants, `exactness.constant_problem`). Every float32 value is an exact dyadic number, and
hls4ml holds a constant array exactly when ``minimal_kif`` finds its type: at most
`HLS4ML_MAX_FRACTIONAL_BITS` (32) fractional bits, and ``|v| * 2**f < 2**63`` (it tests
``v * 2**f`` against an int64 cast), i.e. at most 64 bits with the sign. Within that, the values
are exact on both sides; what can still differ is Keras' float32 arithmetic, which rounds sums
wider than 24 significant bits: `passes.checks.CheckFloat32Accumulation` warns about those."""

MAX_QUANTIZED_CONSTANT_BITS = 24
"""Widest type of weights made by a quantizer that is not fixed point (`exactness.constant_problem`)."""
