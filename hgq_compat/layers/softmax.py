"""QSoftmax: the softmax hls4ml computes from lookup tables, computed the same way in Keras.

hls4ml 1.3's Vivado/Vitis ``nnet::softmax`` (``nnet_activation.h``), for one slice x of n values:

- 'stable' (hls4ml's default): ``d = max(x) - x`` is converted to the unsigned input type
  ``ufixed<Bn, In>`` (TRN, SAT); ``e = exp_table[d]``, the table holding
  ``exp_table_t(expf(-(d * input_scaler)))`` for every value d of that type;
- 'latency': x is converted to the signed input type ``fixed<Bn, In>`` (TRN, SAT) and
  ``e = exp_table[x]`` with ``exp_table_t(expf(x * input_scaler))``;
- ``s = sum(e)`` (exact), converted to ``inv_inp_t = ufixed<Bs, Is>`` (TRN, SAT);
  ``inv = inv_table[s]`` with ``inv_table_t(1.0f / s)`` (1/0 saturates to the type's maximum);
- ``y = e * inv`` (exact).

The tables are ``ap_ufixed`` types with RND_CONV rounding and SAT overflow, indexed by every bit of
their input type (2**Bn and 2**Bs entries); ``expf`` is the C library's float exponential, as
in the C simulation. Keras computes exactly these numbers: the tables are numpy constants built
from the configuration, looked up with integer indices, and every float32 sum and product is
exact (checked at build: ``exp bits + ceil(log2 n) <= 24``, ``exp bits + inv bits <= 24``). The
input must be exact float32 values (an upstream quantizer or fixed-point accumulator of at most
23 bits), as everywhere in hgq-compat. Gradients are those of the float softmax
(straight-through), so the layer also trains.

Types are given as ``(bits, integer)`` pairs, hls4ml's ``<W, I>`` (sign included where signed).
`hls4ml_plugin` converts the layer to hls4ml's Softmax with exactly these types.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import math
from typing import Any, Sequence

import keras
import numpy as np
from keras import ops

from ..core.fixed_point import quantize_values
from ..core.quantizer import float32_dtype
from ..core.spec import QuantSpec, check_choice

IMPLEMENTATIONS = ("stable", "latency")
MAX_TABLE_INPUT_BITS = 16
"""Widest table index (2**16 entries)."""
FLOAT32_BITS = 24


@functools.lru_cache(maxsize=1)
def _libm_expf() -> Any:
    name = ctypes.util.find_library("m")
    if name is None:
        return None
    try:
        fn = ctypes.CDLL(name).expf
    except (OSError, AttributeError):
        return None
    fn.restype, fn.argtypes = ctypes.c_float, [ctypes.c_float]
    return fn


def expf(x: np.ndarray) -> np.ndarray:
    """float32 ``exp`` as the C simulation's ``std::exp(float)`` computes it: the C library's
    ``expf`` where it can be loaded, else float64 exp rounded to float32 (the correctly rounded
    value, which glibc's expf returns for all but a few inputs)."""
    x = np.asarray(x, np.float32)
    fn = _libm_expf()
    if fn is None:
        return np.exp(x.astype(np.float64)).astype(np.float32)
    return np.array([fn(float(v)) for v in x.ravel()], np.float32).reshape(x.shape)


def to_fixed(x: np.ndarray, spec: QuantSpec) -> np.ndarray:
    """float64 -> the fixed-point type ``spec`` (float64 reference of ap_fixed's conversion; inf
    saturates under SAT)."""
    scale = 2.0**spec.fractional
    with np.errstate(invalid="ignore", over="ignore"):
        v = np.asarray(x, np.float64) * scale
        v = {"TRN": np.floor, "RND_CONV": np.round}[spec.round_mode](v)
    lo = -spec.keep_negative * 2.0 ** (spec.integer + spec.fractional)
    hi = 2.0 ** (spec.integer + spec.fractional) - 1
    return np.clip(v, lo, hi) / scale


def grid(spec: QuantSpec) -> np.ndarray:
    """Every value of the type ``spec``, in increasing order (float64)."""
    lo = -spec.keep_negative * 2 ** int(spec.integer + spec.fractional)
    hi = 2 ** int(spec.integer + spec.fractional)
    return np.arange(lo, hi, dtype=np.float64) * 2.0**-spec.fractional


def _spec(pair: Sequence[int], signed: bool, round_mode: str, what: str) -> QuantSpec:
    if (
        not isinstance(pair, (list, tuple))
        or len(pair) != 2
        or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pair)
    ):
        raise ValueError(
            f"QSoftmax {what}={pair!r} is not accepted; accepted values: a (bits, integer) pair of ints, "
            "hls4ml's <W, I> with the sign bit counted in both where signed"
        )
    bits, integer = int(pair[0]), int(pair[1])
    if not 1 <= bits <= MAX_TABLE_INPUT_BITS:
        raise ValueError(
            f"QSoftmax {what}={pair!r}: bits must be 1..{MAX_TABLE_INPUT_BITS} (table sizes up to "
            f"2**{MAX_TABLE_INPUT_BITS})"
        )
    k = int(signed)
    return QuantSpec(
        keep_negative=k, integer=integer - k, fractional=bits - integer, round_mode=round_mode, overflow="SAT"
    )


@keras.saving.register_keras_serializable(package="hgq_compat")
class QSoftmax(keras.layers.Layer):
    """Softmax over ``axis`` computed as hls4ml's table-based softmax computes it, bit for bit.

    Args:
        axis: the softmax axis (one axis).
        implementation: 'stable' (hls4ml's default: subtracts the maximum first) or 'latency'.
        input_bits: (bits, integer) of the table index type: ``ufixed`` of ``max(x) - x`` for
            'stable', signed ``fixed`` of x for 'latency'.
        exp_bits: (bits, integer) of the exponential table, ``ufixed``.
        sum_bits: (bits, integer) of the sum of exponentials that indexes the inverse table,
            ``ufixed``; None: ``(exp_bits[0], exp_bits[1] + ceil(log2 n))`` for n values per slice.
        inv_bits: (bits, integer) of the inverse table, ``ufixed``.
        input_scaler: the inputs are multiplied by it (float32) inside the exponential.
    """

    def __init__(
        self,
        axis: int = -1,
        implementation: str = "stable",
        input_bits: Sequence[int] = (10, 4),
        exp_bits: Sequence[int] = (12, 1),
        sum_bits: Sequence[int] | None = None,
        inv_bits: Sequence[int] = (12, 1),
        input_scaler: float = 1.0,
        **kwargs: Any,
    ):
        kwargs["dtype"] = float32_dtype(kwargs.get("dtype"), type(self).__name__)
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ValueError(f"QSoftmax axis={axis!r} is not accepted; accepted values: one integer axis")
        self.axis = axis
        self.implementation = check_choice(
            "implementation",
            implementation.lower() if isinstance(implementation, str) else implementation,
            IMPLEMENTATIONS,
        )
        self.input_bits, self.exp_bits, self.inv_bits = tuple(input_bits), tuple(exp_bits), tuple(inv_bits)
        self.sum_bits = None if sum_bits is None else tuple(sum_bits)
        self.input_scaler = float(input_scaler)
        if np.float32(self.input_scaler) != self.input_scaler or not self.input_scaler > 0:
            raise ValueError(
                f"QSoftmax input_scaler={input_scaler!r} is not accepted; accepted values: a positive "
                "float32 number (hls4ml stores it as a float)"
            )
        stable = self.implementation == "stable"
        self.input_spec_q = _spec(self.input_bits, not stable, "TRN", "input_bits")
        self.exp_spec = _spec(self.exp_bits, False, "RND_CONV", "exp_bits")
        self.inv_spec = _spec(self.inv_bits, False, "RND_CONV", "inv_bits")
        self.sum_spec: QuantSpec | None = None

    # ------------------------------------------------------------------ tables
    def build(self, input_shape: tuple) -> None:
        n = input_shape[self.axis]
        if n is None:
            raise ValueError(f"layer {self.name!r} (QSoftmax): the softmax axis needs a known size, got {input_shape}")
        scale = math.ceil(math.log2(n)) if n > 1 else 0
        sum_bits = self.sum_bits or (self.exp_bits[0], self.exp_bits[1] + scale)
        self.sum_spec = _spec(sum_bits, False, "TRN", "sum_bits")
        exp_width, inv_width = int(self.exp_spec.bits), int(self.inv_spec.bits)
        problems = []
        if self.exp_spec.integer > self.sum_spec.integer:
            problems.append(
                f"exp_bits integer {self.exp_bits[1]} > sum_bits integer {sum_bits[1]} (hls4ml's sum would wrap)"
            )
        if exp_width + scale > FLOAT32_BITS:
            problems.append(f"exp_bits {exp_width} + ceil(log2 {n}) > {FLOAT32_BITS} (the float32 sum would round)")
        if exp_width + inv_width > FLOAT32_BITS:
            problems.append(
                f"exp_bits {exp_width} + inv_bits {inv_width} > {FLOAT32_BITS} (the float32 product would round)"
            )
        if problems:
            raise ValueError(f"layer {self.name!r} (QSoftmax): " + "; ".join(problems) + "; use fewer bits")
        self.n = n
        self.exp_table, self.inv_table = self.tables()
        self.built = True

    def tables(self) -> tuple[np.ndarray, np.ndarray]:
        """(exp table over `grid(input_spec_q)`, inverse table over `grid(sum_spec)`), float32,
        as hls4ml's ``init_exp_table`` / ``init_invert_table`` fill them."""
        x = grid(self.input_spec_q).astype(np.float32) * np.float32(self.input_scaler)  # float32 product
        if self.implementation == "stable":
            x = -x
        exp_table = to_fixed(expf(x).astype(np.float64), self.exp_spec)
        s = grid(self.sum_spec).astype(np.float32)
        with np.errstate(divide="ignore"):
            inv = np.float32(1.0) / s  # float32 division; 1/0 = inf saturates
        inv_table = to_fixed(inv.astype(np.float64), self.inv_spec)
        return exp_table.astype(np.float32), inv_table.astype(np.float32)

    # ------------------------------------------------------------------ forward
    def _index(self, v: Any, spec: QuantSpec) -> Any:
        """Position of the fixed-point values ``v`` (of type ``spec``) in `grid(spec)`."""
        offset = spec.keep_negative * 2.0 ** (spec.integer + spec.fractional)
        return ops.cast(v * 2.0**spec.fractional + offset, "int32")

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        x = ops.cast(inputs, "float32")
        q = self.input_spec_q
        if self.implementation == "stable":
            x = ops.max(x, axis=self.axis, keepdims=True) - x
        xq = quantize_values(x, q.keep_negative, q.integer, q.fractional, "TRN", "SAT")
        e = ops.take(ops.convert_to_tensor(self.exp_table), self._index(xq, q))
        s = self.sum_spec
        total = quantize_values(ops.sum(e, axis=self.axis, keepdims=True), 0, s.integer, s.fractional, "TRN", "SAT")
        inv = ops.take(ops.convert_to_tensor(self.inv_table), self._index(total, s))
        y = e * inv
        soft = ops.softmax(ops.cast(inputs, "float32"), axis=self.axis)  # gradients: the float softmax
        return ops.stop_gradient(y) + (soft - ops.stop_gradient(soft))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "axis": self.axis,
                "implementation": self.implementation,
                "input_bits": list(self.input_bits),
                "exp_bits": list(self.exp_bits),
                "inv_bits": list(self.inv_bits),
                "sum_bits": None if self.sum_bits is None else list(self.sum_bits),
                "input_scaler": self.input_scaler,
            }
        )
        return config


__all__ = ["QSoftmax", "expf", "grid", "to_fixed"]
