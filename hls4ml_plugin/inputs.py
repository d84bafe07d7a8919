"""Declared input precision: the model's inputs are quantized to a fixed-point type on entry.

Hardware receives fixed-point inputs, and hls4ml users declare their type (hls4ml's default is
``ap_fixed<16,6>``). ``convert(model, ..., input_precision='fixed<16,6>')`` makes that explicit
and exact: the model is wrapped in a new Keras model whose first layer is an `InputQuantizer` of
that type, then the original model (unchanged, called as a nested model); the wrapper is what
hls4ml converts and what the C simulation equals bit for bit. hls4ml fuses the quantizer into
the input type, so the C simulation converts its float inputs straight to that ``ap_fixed``.
For inputs already on the type's grid and inside its range the wrapper equals the original model.

Accepted form (`parse_input_precision`, no eval): ``[ap_]fixed<W,I[,ROUND[,OVERFLOW]]>`` or
``[ap_]ufixed<...>`` (also with the modes after the closing bracket: ``fixed<16,6>,RND_CONV,SAT``).
W: total bits (sign included), 1..32 for signed WRAP types (hls4ml's default modes), else 1..24; I: integer bits (sign included), -32..32. ROUND: TRN
(floor, the default), RND (half up) or RND_CONV (half to even). OVERFLOW: WRAP (the default),
SAT or SAT_SYM; the modes may come in either order, each at most once (the AP_ prefix and case
are optional). The defaults are what hls4ml's ``fixed<16,6>`` means: ap_fixed's defaults AP_TRN
and AP_WRAP (float -> ap_fixed<16,6> truncates towards -inf and wraps); give RND_CONV,SAT
explicitly for rounding and saturating inputs.

`InputQuantizer` is hgq_compat's `FixedPointQuantizer` with a forward pass written so that
float32 never rounds: ``x * 2**f`` and ``floor``/``round`` are exact; RND uses
``fl + (x - fl >= 0.5)`` (``floor(x + 0.5)`` rounds once ``|x| >= 2**23``); WRAP reduces with
the remainder of the integer-valued float's magnitude, then at most one exact shift by ``2**W``
into range (every intermediate is a float32 number: exact for any W), where hgq_compat's
training formulation rounds once ``|x * 2**f| >= 2**23``. It is exact for every finite float32
input with ``|x| < 2**(127 - f)`` that is 0 or a normal number (TensorFlow flushes subnormals).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from keras import ops

from hgq_compat.core.quantizer import FixedPointQuantizer

MAX_INPUT_WIDTH = 24
"""Widest saturating or unsigned input type: its largest value (or an unsigned wrap of a negative
input) must be a float32 number (24-bit significand)."""

MAX_WRAP_INPUT_WIDTH = 32
"""Widest signed WRAP input type (hls4ml's default modes, e.g. ``ap_fixed<32,16>``): every value
the wrap of a float32 input can give is a float32 number, computed exactly (`InputQuantizer`)."""

MAX_INPUT_INTEGER = 32
"""Largest |I| of an input type (keeps ``x * 2**f`` far from float32 overflow)."""

INPUT_ROUND_MODES = ("TRN", "RND", "RND_CONV")
INPUT_OVERFLOW_MODES = ("WRAP", "SAT", "SAT_SYM")

ACCEPTED_FORM = (
    "'[ap_]fixed<W,I[,ROUND[,OVERFLOW]]>' or '[ap_]ufixed<W,I[,ROUND[,OVERFLOW]]>' (the modes may also follow "
    "the '>' after commas), with W the total bits (sign included, 1.."
    + str(MAX_WRAP_INPUT_WIDTH)
    + " for signed WRAP types, 1.."
    + str(MAX_INPUT_WIDTH)
    + " otherwise), I the integer "
    "bits (sign included, -"
    + str(MAX_INPUT_INTEGER)
    + ".."
    + str(MAX_INPUT_INTEGER)
    + "), ROUND one of "
    + ", ".join(INPUT_ROUND_MODES)
    + " (default TRN) and OVERFLOW one of "
    + ", ".join(INPUT_OVERFLOW_MODES)
    + " (default WRAP), in either order; e.g. 'fixed<16,6>' (hls4ml's default, = fixed<16,6,TRN,WRAP>) "
    "or 'fixed<16,6,RND_CONV,SAT>'"
)

_MODE = r"(?:AP_)?[A-Z_]+"
_PATTERN = re.compile(
    rf"^(?:AP_)?(?P<u>U?)FIXED<(?P<w>[+-]?\d+),(?P<i>[+-]?\d+)(?:,(?P<r1>{_MODE}))?(?:,(?P<o1>{_MODE}))?>"
    rf"(?:,(?P<r2>{_MODE}))?(?:,(?P<o2>{_MODE}))?$"
)


@dataclass(frozen=True)
class InputPrecision:
    """A fixed-point input type: ``ap_(u)fixed<width, integer, rounding, overflow>``."""

    signed: bool
    width: int
    integer: int
    rounding: str = "TRN"
    overflow: str = "WRAP"

    @property
    def fractional(self) -> int:
        return self.width - self.integer

    def __str__(self) -> str:
        return f"{'' if self.signed else 'u'}fixed<{self.width},{self.integer},{self.rounding},{self.overflow}>"

    def codes(self) -> tuple[int, int]:
        """Smallest and largest integer code (value = code * 2**-fractional)."""
        if self.signed:
            lo, hi = -(2 ** (self.width - 1)), 2 ** (self.width - 1) - 1
            return (-hi if self.overflow == "SAT_SYM" else lo), hi
        return 0, 2**self.width - 1

    def spec(self) -> Any:
        """The hgq_compat `QuantSpec` of this type (HGQ convention: i excludes the sign bit)."""
        from hgq_compat.core.spec import QuantSpec

        k = int(self.signed)
        return QuantSpec(
            keep_negative=k,
            integer=float(self.integer - k),
            fractional=float(self.fractional),
            round_mode=self.rounding,
            overflow=self.overflow,
            granularity="per-tensor",
        )

    def quantize_np(self, x: np.ndarray) -> np.ndarray:
        """Reference quantization in float64 (the mathematical definition), as float32."""
        v = np.asarray(x, np.float64) * 2.0**self.fractional
        if self.rounding == "TRN":
            v = np.floor(v)
        elif self.rounding == "RND":
            v = np.floor(v + 0.5)
        else:
            v = np.round(v)
        lo, hi = self.codes()
        if self.overflow == "WRAP":
            period = 2.0**self.width
            v = np.mod(v - lo, period) + lo
        else:
            v = np.clip(v, lo, hi)
        return (v * 2.0**-self.fractional).astype(np.float32)


def _bad(text: Any, why: str) -> ValueError:
    return ValueError(f"input_precision={text!r} is not accepted ({why}); accepted: {ACCEPTED_FORM}")


def parse_input_precision(text: Any) -> InputPrecision:
    """An `InputPrecision` from a string such as ``'fixed<16,6>'`` or ``'ap_ufixed<8,0,RND_CONV,SAT>'``
    (an `InputPrecision` is returned unchanged). ValueError listing the accepted form otherwise."""
    if isinstance(text, InputPrecision):
        return text
    if not isinstance(text, str):
        raise _bad(text, f"type {type(text).__name__}, not a string")
    match = _PATTERN.match(re.sub(r"\s+", "", text).upper())
    if match is None:
        raise _bad(text, "not of the accepted form")
    if (match["r1"] or match["o1"]) and (match["r2"] or match["o2"]):
        raise _bad(text, "modes given both inside and after the brackets")
    modes = [m.removeprefix("AP_") for m in (match["r1"], match["o1"], match["r2"], match["o2"]) if m]
    unknown = [m for m in modes if m not in INPUT_ROUND_MODES + INPUT_OVERFLOW_MODES]
    if unknown:
        raise _bad(text, f"mode {unknown[0]} is not supported")
    rounding = [m for m in modes if m in INPUT_ROUND_MODES]
    overflow = [m for m in modes if m in INPUT_OVERFLOW_MODES]
    if len(rounding) > 1 or len(overflow) > 1:
        raise _bad(text, "more than one rounding or overflow mode")
    rounding, overflow = (rounding or ["TRN"])[0], (overflow or ["WRAP"])[0]
    width, integer = int(match["w"]), int(match["i"])
    signed = not match["u"]
    widest = MAX_WRAP_INPUT_WIDTH if signed and overflow == "WRAP" else MAX_INPUT_WIDTH
    if not 1 <= width <= widest:
        raise _bad(
            text,
            f"width {width} is outside 1..{widest}: signed WRAP types may have 1..{MAX_WRAP_INPUT_WIDTH} "
            f"bits, saturating and unsigned ones 1..{MAX_INPUT_WIDTH} (the Keras reference quantizes in float32, "
            "and their largest value, or an unsigned wrap, must be a float32 number)",
        )
    if not -MAX_INPUT_INTEGER <= integer <= MAX_INPUT_INTEGER:
        raise _bad(text, f"integer bits {integer} outside -{MAX_INPUT_INTEGER}..{MAX_INPUT_INTEGER}")
    if signed and width == 1 and overflow == "SAT_SYM":
        raise _bad(text, "a signed 1-bit SAT_SYM type holds only 0")
    return InputPrecision(signed, width, integer, rounding, overflow)


class InputQuantizer(FixedPointQuantizer):
    """hgq_compat's per-tensor `FixedPointQuantizer` with an inference-only forward pass that is
    exact in float32 for every input (module doc). Made by `quantize_inputs`; not serializable."""

    def __init__(self, precision: Any = "fixed<16,6>", **kwargs: Any) -> None:
        precision = parse_input_precision(precision)
        kwargs.pop("spec", None)
        kwargs.pop("is_weight", None)
        super().__init__(precision.spec(), **kwargs)
        self.precision = precision

    def call(self, x: Any, training: bool | None = None) -> Any:
        p = self.precision
        x = ops.convert_to_tensor(x, "float32")
        xs = x * (2.0**p.fractional)
        if p.rounding == "TRN":
            v = ops.floor(xs)
        elif p.rounding == "RND":
            fl = ops.floor(xs)
            v = fl + ops.cast(xs - fl >= 0.5, "float32")
        else:
            v = ops.round(xs)  # half to even
        lo, hi = p.codes()
        if p.overflow == "WRAP":
            period = 2.0**p.width
            if p.signed:  # truncated remainder in (-2**W, 2**W), then one exact shift (Sterbenz) into range
                half = 2.0 ** (p.width - 1)  # codes lie in [-half, half): powers of two compare exactly
                r = ops.mod(ops.abs(v), period) * ops.sign(v)
                v = ops.where(r >= half, r - period, ops.where(r < -half, r + period, r))
            else:  # W <= 24: mod's result in [0, 2**W) is exact
                v = ops.mod(v, period)
        else:
            v = ops.minimum(ops.maximum(v, float(lo)), float(hi))
        return v * (2.0**-p.fractional)

    def get_config(self) -> dict:
        return {**super().get_config(), "precision": str(self.precision)}


INPUT_QUANTIZER_KEY = f"{__name__}.InputQuantizer"
"""hls4ml handler registry key of `InputQuantizer`."""


def quantize_inputs(model: Any, input_precision: Any) -> Any:
    """A new Keras model: the inputs of ``model`` quantized to ``input_precision`` (a string, see
    `parse_input_precision`, for every input; or a sequence with one entry per input, None leaving
    that input as it is), then ``model`` itself (not modified, called as a nested model)."""
    import keras

    if isinstance(input_precision, (list, tuple)):
        if len(input_precision) != len(model.inputs):
            raise ValueError(
                f"input_precision has {len(input_precision)} entries, model {model.name!r} has "
                f"{len(model.inputs)} inputs"
            )
        per_input = [None if p is None else parse_input_precision(p) for p in input_precision]
    else:
        per_input = [parse_input_precision(input_precision)] * len(model.inputs)
    taken = {layer.name for layer in model._flatten_layers(include_self=True, recursive=True)}
    inputs, quantized = [], []
    for j, (tensor, precision) in enumerate(zip(model.inputs, per_input)):
        inp = keras.Input(batch_shape=tensor.shape, dtype=tensor.dtype, name=_input_name(tensor, j))
        inputs.append(inp)
        if precision is None:
            quantized.append(inp)
            continue
        name = "hgq_compat_input_quantizer" + (f"_{j}" if len(model.inputs) > 1 else "")
        while name in taken:
            name += "_"
        quantized.append(InputQuantizer(precision, name=name)(inp))
    out = model(quantized if len(quantized) > 1 else quantized[0])
    wrapper = keras.Model(inputs if len(inputs) > 1 else inputs[0], out, name=f"{model.name}_quantized_inputs")
    wrapper.hgq_compat_input_precision = per_input[0] if len(per_input) == 1 else per_input
    return wrapper


def _input_name(tensor: Any, j: int) -> str | None:
    """The original Input layer's name (hls4ml names its input node after it)."""
    history = getattr(tensor, "_keras_history", None)
    layer = getattr(history, "operation", None) if history is not None else None
    return getattr(layer, "name", None) or f"input_{j}"


def grid_inputs(shape: tuple[int, ...], precision: Any, n: int, seed: int = 0) -> np.ndarray:
    """float32 inputs for ``precision``: a third uniform over its whole range, a third small
    codes near 0 (both on its grid) and a third half a step off the grid (rounding ties)."""
    p = parse_input_precision(precision)
    rng = np.random.default_rng(seed)
    lo, hi = p.codes()
    full = rng.integers(lo, hi, size=(n,) + tuple(shape), endpoint=True).astype(np.float64)
    small = np.clip(np.round(rng.normal(0.0, 2.0 ** min(8, p.width // 2), full.shape)), lo, hi)
    ties = np.clip(rng.integers(lo, hi, size=full.shape, endpoint=True) + 0.5, lo - 1, hi + 1)
    part = rng.integers(0, 3, size=(n,) + (1,) * len(shape))
    codes = np.where(part == 0, full, np.where(part == 1, small, ties))
    if n >= 2:  # both extremes
        codes[0], codes[1] = lo, hi
    return (codes * 2.0**-p.fractional).astype(np.float32)


__all__ = [
    "ACCEPTED_FORM",
    "InputPrecision",
    "InputQuantizer",
    "grid_inputs",
    "parse_input_precision",
    "quantize_inputs",
]
