"""Exact or refused: which constants hls4ml holds exactly, the refusal messages, and the opt-in to
approximate exports.

Inexact exports (opt-in): `allow_inexact` reads ``hls_config['Model']['AllowInexact']`` (set by
``convert(..., allow_inexact=True)``); `record_inexact` notes on the hls model which Keras layer
was approximated and why (``hls_model.hgq_compat_inexact``); `wide_constant` rounds float
constants to a grid hls4ml holds exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .attr import Attr
from .limits import (
    HLS4ML_MAX_FRACTIONAL_BITS,
    MAX_CONSTANT_BITS,
    MAX_CONSTANT_FRACTIONAL_BITS,
    MAX_QUANTIZED_CONSTANT_BITS,
)

ALLOW_INEXACT_KEY = "AllowInexact"
"""``hls_config['Model'][ALLOW_INEXACT_KEY] = True`` opts in to approximate exports."""

INEXACT_HINT = (
    ". Or opt in to an approximate export where hls4ml has one: hls4ml_plugin.convert(..., allow_inexact=True), "
    "hgq-compat synth --allow-inexact, or hls_config['Model']['AllowInexact'] = True with "
    "hls4ml.converters.convert_from_keras_model; the C simulation then differs from Keras and synth reports the "
    "measured difference"
)
"""Appended to every refusal that `allow_inexact` lifts."""

WIDE_CONSTANT_SIGNIFICANT_BITS = 24
"""Significant bits (of the largest magnitude) kept by `wide_constant`: float32's significand."""


class ExactnessError(ValueError):
    """The model has a layer or setting whose hls4ml C simulation cannot equal Keras bit for bit."""


def allow_inexact(model) -> bool:
    """True when the hls model's config opts in to approximate exports (`ALLOW_INEXACT_KEY`)."""
    model_config = model.config.config.get("HLSConfig", {}).get("Model", {}) or {}
    return bool(model_config.get(ALLOW_INEXACT_KEY, False))


def record_inexact(model, layer_name: str, reason: str) -> None:
    """Note on the hls model (``hgq_compat_inexact``: Keras layer name -> reason) that a layer is approximated."""
    model.__dict__.setdefault(Attr.INEXACT, {}).setdefault(layer_name, reason)


def wide_constant(values: np.ndarray) -> np.ndarray:
    """``values`` rounded (half to even) to the step ``2**-f`` that keeps `WIDE_CONSTANT_SIGNIFICANT_BITS`
    bits of the largest magnitude, with at most `MAX_CONSTANT_FRACTIONAL_BITS` fractional bits: a grid
    hls4ml holds exactly (float64). Values already on that grid are unchanged."""
    v = np.asarray(values, np.float64)
    top = float(np.max(np.abs(v))) if v.size else 0.0
    if top == 0.0:
        return v.copy()
    f = min(MAX_CONSTANT_FRACTIONAL_BITS, WIDE_CONSTANT_SIGNIFICANT_BITS - 1 - int(np.floor(np.log2(top))))
    return np.round(v * 2.0**f) / 2.0**f


FOLD_HINT = (
    "use a folded layer instead (QConv2DBatchnorm / QDepthwiseConv2DBatchnorm / QDenseBatchnorm: the "
    "normalization is folded into the quantized kernel and bias, exactly), e.g. "
    "hgq_compat.utils.convert_to_folded_model(model), hls4ml_plugin.convert(..., fold_batchnorm=True) or "
    "hgq-compat synth --fold-bn, or fold it into the preceding layer's weights before training"
)
"""The exact alternative to a batch normalization, named in every refusal of one."""


SOFTMAX_ALTERNATIVES = (
    "for a bit-exact softmax use hgq_compat.swap_softmax(model, ...), which replaces every float softmax with "
    "QSoftmax (hls4ml's table-based softmax, computed the same way in Keras) and reports the change on your data; "
    "or accept hls4ml's approximate softmax with convert(..., allow_inexact=True); or remove it and apply it to "
    "the predictions in software (softmax keeps the argmax)"
)
"""What a refusal of a float softmax offers instead."""


def constant_type_problem(values: np.ndarray, max_bits: int) -> str | None:
    """Why hls4ml's bit_exact cannot hold ``values`` exactly in the type it infers for constants
    (``minimal_kif``), or in at most ``max_bits`` bits; None if it can."""
    from hls4ml.utils.qinterval import minimal_kif

    v = np.asarray(values, np.float64)
    nz = v[v != 0]
    if nz.size == 0:
        return None
    k, i, f = (int(np.max(a)) for a in minimal_kif(v))
    exact = np.all(nz * 2.0**f == np.round(nz * 2.0**f)) and np.all((nz >= -k * 2.0**i) & (nz < 2.0**i))
    lo, hi = float(np.min(np.abs(nz))), float(np.max(np.abs(nz)))
    if not exact or f > HLS4ML_MAX_FRACTIONAL_BITS:
        return f"as small as {lo!r}, finer than the 2**-{HLS4ML_MAX_FRACTIONAL_BITS} step hls4ml gives constants"
    if k + i + f > max_bits:
        return f"from {lo!r} to {hi!r} in magnitude, needing a {k + i + f}-bit fixed-point type (> {max_bits})"
    return None


def constant_problem(value: np.ndarray, quantizer: Any) -> str | None:
    """Why hls4ml cannot hold the weight values ``value`` (made by ``quantizer``, or by none)
    exactly; None if it can.

    A fixed-point quantizer's values are exact by construction. Unquantized values (float32
    constants) are accepted when they fit a type of at most `MAX_CONSTANT_BITS` bits and 32
    fractional bits; whether Keras' float32 sums with them are exact is checked on the
    accumulator types (a warning, `passes.checks.CheckFloat32Accumulation`). Values of other
    quantizers (po2, binary, alpha-scaled) must fit `MAX_QUANTIZED_CONSTANT_BITS` bits: wider
    ones are rounded float32 products (alpha=0.3), not the fixed-point numbers the quantizer means.
    """
    if quantizer is not None and quantizer.spec.is_fixed_point:
        return None
    return constant_type_problem(value, MAX_CONSTANT_BITS if quantizer is None else MAX_QUANTIZED_CONSTANT_BITS)
