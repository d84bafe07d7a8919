"""Non-linear elementwise quantizers as hls4ml lookup tables (``UnaryLUT``).

QKeras activation quantizers that are not plain fixed point (quantized_tanh, quantized_sigmoid,
quantized_po2, quantized_relu_po2, binary, ternary, quantized_relu with a negative slope,
quantized_bits with alpha != 1, ...) are elementwise functions of their input. That input is
whatever the previous layer produced: a quantizer output, or a Dense/Conv result that Keras
computes exactly while it fits float32 (the plugin warns where an accumulator does not). Every
value it can take is therefore a value of the fixed-point type hls4ml's bit_exact pass infers
for it, and the LUT requests that type in full (`UnaryLUT`'s rules below): a table with one entry per
representable input, evaluated with the Keras quantizer itself in float32, equals Keras bit
for bit. Entries are in two's-complement raw-bit order (``nnet::unary_lut`` indexes with all the
input bits). The table is built once bit_exact knows the input type, and rebuilt by a pass if
a later pass changes it.

Elementwise activation functions (`ELEMENTWISE_ACTIVATIONS`: QKeras' binary_tanh, hard_tanh,
hard_sigmoid, ... and Keras' tanh, sigmoid, elu, ...; Keras ReLU/LeakyReLU/ELU layers) become
tables the same way: on a finite input grid the float32 function Keras computes is a known
constant per input, stored exactly (its float32 value, up to 24 significant bits).
Stochastic quantizers are tabulated as they compute at inference (deterministically, as in QKeras).

Refused with NotImplementedError naming the layer: scales computed from
the batch (alpha 'auto'/'auto_po2') or per channel, per-element HGQ bitwidths with a
pre-function, inputs wider than `MAX_LUT_INPUT_BITS`, quantizer outputs that are not exact
fixed-point numbers (`MAX_LUT_SIGNIFICANT_BITS`) and outputs beyond hls4ml's constant types
(`MAX_LUT_OUTPUT_BITS`, `limits.HLS4ML_MAX_FRACTIONAL_BITS`).

The IR node: ``nnet::unary_lut`` indexes its table with all raw bits of the input, so the table is
valid for one input type only, and the converter cannot know that type: hls4ml's bit_exact pass
infers it (the producing layer's exact output type), and a later pass may change it (a fused
quantizer, an added sign bit when the producer also feeds a WRAP quantizer). Hence `UnaryLUT`
(hls4ml's UnaryLUT, still named 'UnaryLUT' for the backend templates) has its own bit_exact rules.
``produce_kif`` builds the table for the type bit_exact gives the input (the producer's produced
(k, i, f), maxed over elements) and returns the table's range, so that every downstream type is
inferred from the real outputs. ``request_kif`` asks the producer for everything (k=1, i=f=126): the
input is never truncated, so it is the exact value Keras feeds the quantizer. The table type is
`LutFunction.table_kif` (bit_exact's ``register_precision`` rule for it too): activation tables hold
float32 values that may need more than hls4ml's 32 fractional bits. The pass
``passes.lut.RebuildLUTTables`` rebuilds the table (`set_table`, `set_table_type`) if the input type
changes after bit_exact. These rules act on hgq-compat's LUT nodes only (HGQ2's UnaryLUTs keep
hls4ml's rules).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from hls4ml.model.layers import Layer, register_layer
from hls4ml.model.optimizer.passes import bit_exact as _be
from hls4ml.model.optimizer.passes.hgq_proxy_model import UnaryLUT as _HlsUnaryLUT
from hls4ml.model.types import FixedPrecisionType, SaturationMode

from .attr import Attr
from .exactness import constant_type_problem
from .quantizer import describe

MAX_LUT_INPUT_BITS = 16
"""Widest LUT input (sign included): 2**16 table entries."""

MAX_CLIP_CHECK_BITS = 24
"""Widest table input whose saturation to `MAX_LUT_INPUT_BITS` bits is checked value by value
(`LutFunction.saturation_clip`: 2**24 evaluations at most)."""

MAX_LUT_SIGNIFICANT_BITS = 23
"""A table output with more significant bits is taken as a rounded float32 result (quantized_ulaw,
a float alpha such as 0.3): not an exact fixed-point number, and too wide for the float32
arithmetic Keras does after it."""

MAX_LUT_OUTPUT_BITS = 64
"""Widest fixed-point type of the table outputs."""

NOT_ELEMENTWISE = ("softmax", "log_softmax", "glu", "sparsemax")
"""Keras activations that mix the elements of a tensor: no lookup table can compute them."""

IR_LUT_CLASS_NAME = "HgqCompatUnaryLUT"
"""Registry name of the LUT IR layer (`UnaryLUT`)."""


def raw_grid(width: int, integer: int, signed: bool) -> np.ndarray:
    """Every value of ``ap_(u)fixed<width, integer>``, indexed by its raw bit pattern (float64)."""
    raw = np.arange(2**width, dtype=np.int64)
    if signed:
        raw = np.where(raw >= 2 ** (width - 1), raw - 2**width, raw)
    return raw * 2.0 ** (integer - width)


def significant_bits(values: np.ndarray) -> np.ndarray:
    """Bits from the highest to the lowest set bit of each |value| (0 for 0)."""
    mant, _ = np.frexp(np.abs(np.asarray(values, np.float64)))
    m = (mant * 2.0**53).astype(np.int64)  # exact: 2**52 <= m < 2**53 for non-zero values
    low = m & -m
    return np.where(m == 0, 0, 53 - np.log2(np.where(m == 0, 1, low)).astype(np.int64))


ARITHMETIC_ACTIVATIONS = (
    "relu",
    "relu6",
    "leaky_relu",
    "hard_sigmoid",
    "hard_tanh",
    "hard_silu",
    "hard_swish",
    "hard_shrink",
    "soft_shrink",
    "threshold",
    "linear",
    "smooth_sigmoid",
    "smooth_tanh",
    "binary_sigmoid",
    "binary_tanh",
    "ReLU",
    "LeakyReLU",
)
"""Activations computed with exact-rounding arithmetic only (compare, clip, round, multiply by a
constant): the same float32 values wherever TensorFlow runs them. Transcendental ones (tanh,
sigmoid, elu, ...) are table-exact only where their input comes from a quantizer: applied to a
matrix product's result, TensorFlow's graph optimizer fuses them into the product (oneDNN), whose
tanh/sigmoid differ from the standalone kernels in the last bit (measured: 44,648 of 80,000
QDense(activation='tanh') outputs)."""


def activation_name(fn: Any) -> str:
    """The name of a Keras/QKeras activation function or activation layer."""
    return getattr(fn, "__name__", None) or type(fn).__name__


def is_arithmetic_activation(fn: Any) -> bool:
    """True for the activations in `ARITHMETIC_ACTIVATIONS`."""
    return activation_name(fn) in ARITHMETIC_ACTIVATIONS


def is_elementwise_activation(fn: Any) -> bool:
    """True for the Keras and QKeras activation functions that act on each element alone, and for
    Keras' elementwise activation layers (ReLU, LeakyReLU, ELU)."""
    import keras

    from hgq_compat.quantizers.functions import QKERAS_FUNCTIONS

    if isinstance(fn, (keras.layers.ReLU, keras.layers.LeakyReLU, keras.layers.ELU)):
        return True
    name = getattr(fn, "__name__", None)
    try:
        known = isinstance(name, str) and keras.activations.get(name) is fn
    except ValueError:
        known = False
    return (known and name not in NOT_ELEMENTWISE) or QKERAS_FUNCTIONS.get(name) is fn


def exact_kif(values: np.ndarray) -> tuple[int, int, int]:
    """The smallest fixed-point type (k, i, f) holding every value exactly, with no cap on f
    (hls4ml's ``minimal_kif`` stops at 32 fractional bits)."""
    v = np.asarray(values, np.float64).ravel()
    nz = v[v != 0]
    if nz.size == 0:
        return 0, 0, 0
    _, exp = np.frexp(np.abs(nz))  # |v| = m * 2**exp, m in [0.5, 1): the lowest set bit is 2**(exp - sig)
    f = int(-np.min(exp - significant_bits(nz)))
    i = int(np.max(np.ceil(np.log2(np.maximum(v + 2.0**-f, -v)))))
    return int(np.any(nz < 0)), i, f


class LutFunction:
    """The Keras quantizer (or elementwise activation) of one layer as a function of float32
    values, and its tables.

    Evaluated like ``model.predict`` does (a one-layer Keras model, compiled); an eager
    evaluation is compared with it and a difference (transcendental functions near a rounding
    tie) is reported as a warning.
    """

    too_wide_hint = (
        "put a quantizer with fewer bits before this activation, e.g. "
        "QActivation('quantized_bits(8,3,alpha=1)'), or use fewer bits in the layer feeding it"
    )
    """What to change when the table input is too wide (recurrent handlers set their own)."""

    def __init__(self, quantizer: Any, layer_name: str) -> None:
        self.layer_name = layer_name
        self.is_activation = not hasattr(quantizer, "spec")  # a Keras/QKeras activation, not a quantizer
        if self.is_activation:
            self.description = f"activation {activation_name(quantizer)!r}"
            self._layer = _activation_layer(quantizer, layer_name)
        else:
            self.description = describe(quantizer)
            self._layer = _evaluation_layer(quantizer, layer_name, self.description)
        self._tables: dict[tuple[int, int, bool], np.ndarray] = {}
        self._clips: dict[tuple[int, int, bool], tuple[int, int, bool] | None] = {}

    def _refuse(self, what: str, change: str) -> NotImplementedError:
        return NotImplementedError(f"layer {self.layer_name!r}: {self.description} {what}; {change}")

    def table_kif(self, table: np.ndarray) -> tuple[int, int, int]:
        """(k, i, f) of the table type: exact for every entry. Activation tables (float32 values)
        may need more than hls4ml's 32 fractional bits for constants."""
        if self.is_activation:
            return exact_kif(table)
        from hls4ml.utils.qinterval import minimal_kif

        return tuple(int(np.max(a)) for a in minimal_kif(table))  # type: ignore[return-value]

    def evaluate(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Quantizer outputs for float32 inputs ``x`` (1-D): as model.predict computes them
        (float64) and as an eager call does (float32)."""
        import keras
        from keras import ops

        x = np.asarray(x, np.float32)
        inp = keras.Input((1,))
        model = keras.Model(inp, self._layer(inp))
        y = np.asarray(model.predict(x[:, None], batch_size=x.size, verbose=0), np.float32)[:, 0]
        eager = np.asarray(ops.convert_to_numpy(self._layer(ops.convert_to_tensor(x[None]), training=False)))[0]
        return y.astype(np.float64), eager

    def table(self, width: int, integer: int, signed: bool) -> np.ndarray:
        """The table for input type ``ap_(u)fixed<width, integer>``; checks its outputs."""
        key = (int(width), int(integer), bool(signed))
        if key not in self._tables:
            if width > MAX_LUT_INPUT_BITS:
                kind = "ap_fixed" if signed else "ap_ufixed"
                raise self._refuse(
                    f"becomes a lookup table indexed by its input, which has {width} bits ({kind}<{width},{integer}>), "
                    f"more than the {MAX_LUT_INPUT_BITS} bits (2**{MAX_LUT_INPUT_BITS} entries) supported",
                    self.too_wide_hint,
                )
            grid = raw_grid(*key)
            table, eager = self.evaluate(grid)
            self._check(grid, table)
            differ = np.flatnonzero(table != eager)
            if differ.size:
                j = differ[0]
                warnings.warn(
                    f"layer {self.layer_name!r}: {self.description} gives {float(eager[j])!r} for {float(grid[j])!r} "
                    f"when run eagerly but {float(table[j])!r} in model.predict ({differ.size} of {grid.size} table "
                    "inputs differ); the hls4ml table follows model.predict",
                    stacklevel=2,
                )
            self._tables[key] = table
        return self._tables[key]

    def saturation_clip(self, width: int, integer: int, signed: bool) -> tuple[int, int, bool] | None:
        """A narrower input type for a table whose input ``ap_(u)fixed<width, integer>`` is wider than
        `MAX_LUT_INPUT_BITS`: the same fractional bits, integer bits cut so the width is
        `MAX_LUT_INPUT_BITS`, for a function that gives the same output on every input of the wide type
        as on that input saturated to the narrow type's range (binary, ternary, hard_tanh, relu with a
        cap, ...: constant beyond a range). Checked on every value of the wide type (at most
        `MAX_CLIP_CHECK_BITS` bits); None if the function is not invariant or the type is too wide
        to check. The producer's result then saturates to that type (``passes.lut``)."""
        wide = (int(width), int(integer), bool(signed))
        if wide not in self._clips:  # bit_exact may ask more than once: up to 2**24 evaluations each
            self._clips[wide] = self._find_clip(*wide)
        return self._clips[wide]

    def _find_clip(self, width: int, integer: int, signed: bool) -> tuple[int, int, bool] | None:
        frac = width - integer
        narrow = MAX_LUT_INPUT_BITS
        if width <= narrow or width > MAX_CLIP_CHECK_BITS or narrow - frac < int(signed):
            return None
        key = (narrow, narrow - frac, signed)
        wide_grid = raw_grid(width, integer, signed)
        narrow_grid = raw_grid(*key)
        lo, hi = narrow_grid.min(), narrow_grid.max()
        outside = (wide_grid < lo) | (wide_grid > hi)
        if not outside.any():
            return key
        x = np.concatenate([np.array([lo, hi]), wide_grid[outside]])
        y, _ = self.evaluate(x)
        y_lo, y_hi, y_out = y[0], y[1], y[2:]
        expected = np.where(wide_grid[outside] < lo, y_lo, y_hi)
        return key if np.array_equal(y_out, expected) else None

    def _check(self, grid: np.ndarray, table: np.ndarray) -> None:
        bad = np.flatnonzero(~np.isfinite(table))
        if bad.size:
            raise self._refuse(
                f"gives {float(table[bad[0]])} for input {float(grid[bad[0]])}", "use a quantizer with finite outputs"
            )
        sig = significant_bits(table)
        if not self.is_activation and sig.max() > MAX_LUT_SIGNIFICANT_BITS:
            j = int(np.argmax(sig))
            raise self._refuse(
                f"gives {float(table[j])!r} for input {float(grid[j])!r}, a float32 result with {sig[j]} significant "
                "bits, not an exact fixed-point number (e.g. quantized_ulaw, or an alpha scale that is not a short "
                "binary fraction)",
                "the hls4ml export needs exact outputs: use a fixed-point activation, "
                "quantized_tanh, quantized_sigmoid, a po2 quantizer or alpha=1",
            )
        if self.is_activation:
            k, i, f = exact_kif(table)
            if k + i + f > MAX_LUT_OUTPUT_BITS:
                nz = np.abs(table[table != 0])
                raise self._refuse(
                    f"gives float32 outputs from {float(nz.min())!r} to {float(nz.max())!r} in magnitude on the input "
                    f"range of its lookup table, needing a {k + i + f}-bit fixed-point table (> {MAX_LUT_OUTPUT_BITS})",
                    "put a quantizer with a smaller range before it, e.g. QActivation('quantized_bits(8,2,alpha=1)'), "
                    "or use a quantizer activation (quantized_tanh, quantized_sigmoid)",
                )
            return
        problem = constant_type_problem(table, MAX_LUT_OUTPUT_BITS)
        if problem:
            raise self._refuse(
                f"gives outputs {problem}",
                "use fewer exponent bits or a max_value (po2 quantizers give 2**min_exp for 0)",
            )


def _activation_layer(fn: Any, layer_name: str) -> Any:
    """A fresh Keras layer computing the elementwise activation ``fn`` (a function or a Keras
    activation layer); NotImplementedError for others."""
    import keras

    if not is_elementwise_activation(fn):
        raise NotImplementedError(
            f"layer {layer_name!r}: activation {activation_name(fn)!r} is not an elementwise Keras or QKeras "
            "activation, so no lookup table can reproduce it; use a quantizer activation (quantized_relu, "
            "quantized_tanh, ...) or one of keras.activations' elementwise functions"
        )
    if isinstance(fn, keras.layers.Layer):
        return type(fn).from_config({**fn.get_config(), "name": f"{layer_name}_lut"})
    return keras.layers.Activation(fn, name=f"{layer_name}_lut")


def _evaluation_layer(quantizer: Any, layer_name: str, description: str) -> Any:
    """A fresh per-tensor Keras layer computing what ``quantizer`` computes elementwise;
    NotImplementedError for quantizers that are not one elementwise function."""
    from hgq_compat.core.quantizer import FixedPointQuantizer
    from hgq_compat.quantizers import QKerasModeQuantizer

    def refuse(what: str, change: str) -> NotImplementedError:
        return NotImplementedError(f"layer {layer_name!r}: {description} {what}; {change}")

    if isinstance(quantizer, FixedPointQuantizer):  # HGQ mode with a pre-function
        k, i, f = quantizer.kif()
        if any(np.unique(a).size > 1 for a in (k, i, f)):
            raise refuse(
                "has per-element bitwidths and a non-linear pre-function, which hls4ml can only "
                "implement with one lookup table per tensor",
                "use activation_granularity='per-tensor' for this layer, or QKeras mode",
            )
        spec = quantizer.spec.replace(
            integer=float(i.flat[0]),
            fractional=float(f.flat[0]),
            granularity="per-tensor",
            trainable_i=False,
            trainable_f=False,
            range_tracking=False,
        )
        return FixedPointQuantizer(spec, name=f"{layer_name}_lut")
    qk = getattr(quantizer, "quantizer", None)
    if not isinstance(quantizer, QKerasModeQuantizer) or qk is None:
        raise refuse("is not a quantizer the hls4ml export knows", "use a QKeras or HGQ quantizer")
    # stochastic quantizers (stochastic_binary, stochastic_ternary, use_stochastic_rounding=True) draw
    # random numbers only while training: at inference (training=False, what the table evaluates)
    # they compute their deterministic counterpart, as QKeras does
    alpha = getattr(qk, "alpha", None)
    if isinstance(alpha, str):
        raise refuse(
            f"computes its scale (alpha={alpha!r}) from the values of each batch, so it is not an elementwise function",
            "give alpha a number (or None) for activations",
        )
    if alpha is not None and np.size(alpha) != 1:
        raise refuse("has a per-channel alpha", "give alpha one number for activations")
    return QKerasModeQuantizer(qk, name=f"{layer_name}_lut")


CLIP_ATTR = "hgq_compat_lut_clip"
"""UnaryLUT attribute: the saturating input type (width, integer, signed) the table was built for,
when the input bit_exact inferred is too wide (`LutFunction.saturation_clip`), else None."""


def saturated(node: "UnaryLUT") -> bool:
    """True once the table's input variable has the saturating type in `CLIP_ATTR`."""
    precision = node.get_input_variable().type.precision
    return (
        isinstance(precision, FixedPrecisionType)
        and type_key(precision) == node.attributes[CLIP_ATTR]
        and precision.saturation_mode == SaturationMode.SAT
    )


class UnaryLUT(_HlsUnaryLUT):
    """hls4ml's UnaryLUT whose table comes from an hgq-compat quantizer (`LutFunction`)."""


def type_key(precision: FixedPrecisionType) -> tuple[int, int, bool]:
    return int(precision.width), int(precision.integer), bool(precision.signed)


def set_table(node: UnaryLUT, precision: FixedPrecisionType) -> np.ndarray:
    """Fill the node's table for input type ``precision`` (all of the node's table state)."""
    fn: LutFunction = node.attributes[Attr.LUT]
    table = fn.table(*type_key(precision))
    var = node.attributes["table"]
    var.data = table
    var.shape = list(table.shape)
    var.data_length = int(table.size)
    var.nonzeros = int(np.count_nonzero(table))
    var.nzeros = var.data_length - var.nonzeros
    var.min, var.max = np.min(table), np.max(table)
    node.attributes["table_data"] = table
    node.attributes["table_size"] = int(table.size)
    node.attributes[Attr.LUT_FOR] = type_key(precision)
    return table


def _produce_kif(layer: UnaryLUT) -> tuple[np.ndarray, ...]:
    lk, li, lf = _be.produce_kif(_be.get_input_layers(layer)[0])
    # the type bit_exact's register_precision gives the producer: its produced kif (the LUT
    # requests everything), reduced to one type over the elements
    precision = _be.to_hls4ml_fixed(int(np.max(lk)), int(np.max(li)), int(np.max(lf)), "lut_in").precision
    clip = layer.attributes[Attr.LUT].saturation_clip(*type_key(precision))
    layer.attributes[CLIP_ATTR] = clip
    if clip is not None:  # the producer's result will saturate to this type (RebuildLUTTables)
        precision = FixedPrecisionType(clip[0], clip[1], clip[2], "TRN", "SAT")
    table = set_table(layer, precision)
    shape = _be.get_output_shape(layer)
    return tuple(np.full(shape, a, dtype=np.int16) for a in layer.attributes[Attr.LUT].table_kif(table))


def _request_kif(layer: UnaryLUT) -> tuple:
    return _be._request_kif.dispatch(Layer)(layer)  # every bit: a table needs the exact input


def set_table_type(node: UnaryLUT) -> None:
    """Give the node's table the exact type of its entries (`LutFunction.table_kif`)."""
    table = node.attributes["table"].data
    k, i, f = node.attributes[Attr.LUT].table_kif(table)
    table_t = _be.to_hls4ml_fixed(k, i, f, f"{node.name}_table_t")
    node.attributes["table_t"] = table_t
    var = node.attributes["table"]
    var.type = table_t
    var.update_precision(table_t.precision)
    node.model.config.layer_name_precision[f"{node.name}_table"] = str(table_t.precision)


def _register_precision(node: UnaryLUT) -> None:
    _be.default_register_precision(node)
    set_table_type(node)


_registered = False


def register_lut_ir() -> None:
    """Register the LUT IR layer and its bit_exact rules with hls4ml (idempotent)."""
    global _registered
    if _registered:
        return
    _be._produce_kif.register(UnaryLUT)(_produce_kif)
    _be._request_kif.register(UnaryLUT)(_request_kif)
    _be.register_precision.register(UnaryLUT)(_register_precision)
    register_layer(IR_LUT_CLASS_NAME, UnaryLUT)
    _registered = True
