"""Fixed-point QKeras quantizers: quantized_bits and quantized_relu."""

from __future__ import annotations

from typing import Any

import numpy as np
from keras import ops

from ..core import fixed_point, po2
from ..core.spec import QuantSpec
from . import functions as F
from .base import (
    MAX_INTEGER,
    BaseQuantizer,
    check_alpha_arg,
    check_bits,
    check_flag_arg,
    check_int_arg,
    check_number_arg,
    check_power_of_two_slope,
    register_quantizer,
)


@register_quantizer
class quantized_bits(BaseQuantizer):  # noqa: N801 (QKeras name)
    """Fixed-point quantizer: ``bits`` total bits (sign included), ``integer`` bits left of the
    binary point (sign excluded); step 2**(integer - bits + keep_negative).

    alpha: None or 1 (plain fixed point), a number (output scale), 'auto' (float
    per-channel scale) or 'auto_po2' (power-of-two per-channel scale).
    """

    def __init__(
        self,
        bits: int = 8,
        integer: int = 0,
        symmetric: int = 0,
        keep_negative: bool = True,
        alpha: Any = None,
        use_stochastic_rounding: bool = False,
        scale_axis: int | None = None,
        qnoise_factor: float = 1.0,
        var_name: str | None = None,
        use_ste: bool = True,
        use_variables: bool = False,
        post_training_scale: Any = None,
    ):
        name = type(self).__name__
        check_bits(name, bits, 0)
        check_int_arg(name, "integer", integer, -MAX_INTEGER, MAX_INTEGER)
        for flag, value in (
            ("symmetric", symmetric),
            ("keep_negative", keep_negative),
            ("use_stochastic_rounding", use_stochastic_rounding),
            ("use_ste", use_ste),
        ):
            check_flag_arg(name, flag, value)
        check_alpha_arg(name, alpha)
        check_number_arg(name, "qnoise_factor", qnoise_factor)
        self.bits = bits
        self.integer = integer
        self.symmetric = symmetric
        self.keep_negative = keep_negative
        self.alpha = alpha
        self.use_stochastic_rounding = use_stochastic_rounding
        if isinstance(alpha, str):
            self.symmetric = True
        elif post_training_scale is not None:
            raise ValueError(f"alpha={alpha} doesn't support post_training_scale: {post_training_scale}")
        self.post_training_scale = None if post_training_scale is None else np.array(post_training_scale)
        self.scale = None if post_training_scale is None else np.array(post_training_scale)
        self.scale_axis = scale_axis
        self.qnoise_factor = qnoise_factor
        self.use_ste = use_ste
        self.var_name = var_name
        self.use_variables = use_variables

    def __str__(self) -> str:
        flags = [str(self.bits), str(self.integer), str(int(self.symmetric))]
        if not self.keep_negative:
            flags.append("keep_negative=False")
        if self.alpha:
            alpha = f"'{self.alpha}'" if isinstance(self.alpha, str) else str(self.alpha)
            flags.append("alpha=" + alpha)
        if self.use_stochastic_rounding:
            flags.append("use_stochastic_rounding=" + str(int(self.use_stochastic_rounding)))
        return "quantized_bits(" + ",".join(flags) + ")"

    @property
    def _unsigned_bits(self) -> float:
        return self.bits - int(bool(self.keep_negative))

    def _is_unit_alpha(self) -> bool:
        return self.alpha is None or (not isinstance(self.alpha, str) and np.all(np.asarray(self.alpha) == 1))

    def to_spec(self) -> QuantSpec:
        k = int(bool(self.keep_negative))
        rnd = "S_RND_CONV" if self.use_stochastic_rounding else "RND_CONV"
        if self.post_training_scale is not None:  # a frozen scale (QKeras master): QKeras mode only
            return QuantSpec.from_bits(
                self.bits, self.bits - 1, 1, round_mode="RND_INF", overflow="SAT_SYM", kind="function"
            )
        if self.alpha == "auto_po2":
            plain = self.qnoise_factor == 1.0 and self.use_ste
            return QuantSpec.from_bits(
                self.bits,
                self.bits - 1,
                1,
                round_mode="RND_INF",
                overflow="SAT_SYM",
                po2_scale="auto_po2",
                scale_axis=self.scale_axis,
                kind="fixed" if plain else "function",
            )
        kind = "fixed"
        if self._unsigned_bits <= 0:
            kind = "binary"
        elif not self._is_unit_alpha():
            kind = "float_scale"
        elif self.qnoise_factor != 1.0 or not self.use_ste:
            kind = "function"
        return QuantSpec.from_bits(
            self.bits, self.integer, k, round_mode=rnd, overflow="SAT_SYM" if self.symmetric else "SAT", kind=kind
        )

    def quantize(self, x: Any, training: bool = False) -> Any:
        x = ops.cast(x, "float32")
        if isinstance(self.alpha, str):
            xq = self._quantize_auto(x)
        elif self._unsigned_bits > 0:
            spec = self.to_spec()
            xq = fixed_point.quantize_values(
                x,
                float(spec.keep_negative),
                spec.integer,
                spec.fractional,
                spec.round_mode,
                spec.overflow,
                training=training,
                seed=self.seed_generator if self.use_stochastic_rounding and training else None,
            )
            self.scale = 1.0 if self.alpha is None else self.alpha
            if not self._is_unit_alpha():
                xq = xq * ops.cast(self.alpha, "float32")
            p = x * float(2.0**self._unsigned_bits) / float(2.0**self.integer)
            xq = F.nan_where_overflow(xq, p)
        else:
            xq = ops.sign(x)
            xq = xq + (1.0 - ops.abs(xq))
            if not self.keep_negative:
                xq = (xq + 1.0) / 2.0
            self.scale = 1.0 if self.alpha is None else self.alpha
            if not self._is_unit_alpha():
                xq = xq * ops.cast(self.alpha, "float32")
        return self._ste(x, xq, self.qnoise_factor, self.use_ste)

    def _quantize_auto(self, x: Any) -> Any:
        m = float(2.0**self._unsigned_bits)
        m_i = float(2.0**self.integer)
        xs = x / m_i
        max_code = float(2 ** (self.bits - 1) - 1)
        if self.post_training_scale is not None:  # frozen: codes on the given scale, self.scale unchanged
            scale = ops.convert_to_tensor(np.asarray(self.post_training_scale, dtype=np.float32)) / m
            z = po2.symmetric_codes(xs, scale, max_code)
            return (scale * m) * (m_i * z / m)
        if self.alpha == "auto_po2":
            z, scale = po2.fit_po2_scale(xs, self.bits, self.scale_axis)
        else:
            rank = len(xs.shape)
            axes = po2.scaling_axes(self.scale_axis, rank) if rank > 1 else [0]
            scale = ops.max(ops.abs(xs), axis=axes, keepdims=True) * 2.0 / (2.0 * max_code)
            z = po2.symmetric_codes(xs, scale, max_code)
        self.scale = scale * m
        return self.scale * (m_i * z / m)

    def _set_trainable_parameter(self) -> None:
        if self.alpha is None:
            self.alpha = "auto_po2"
            self.symmetric = True

    def max(self) -> float:
        if self._unsigned_bits > 0:
            return max(1.0, float(2.0**self.integer))
        return 1.0

    def min(self) -> float:
        if not self.keep_negative:
            return 0.0
        if self._unsigned_bits > 0:
            return -max(1.0, float(2.0**self.integer))
        return -1.0

    def range(self) -> np.ndarray:
        """All representable values, ordered by their two's-complement code."""
        if self.symmetric or not self.keep_negative or not (self.alpha is None or self.alpha == 1.0):
            raise ValueError("range() is defined for keep_negative=True, symmetric=0 and alpha None or 1 only")
        x = np.arange(2**self.bits, dtype=np.float32)
        half = 2 ** (self.bits - 1)
        codes = np.where(x >= half, x - 2 * half, x)
        return (codes * np.float32(2.0 ** (-self.bits + self.integer + 1))).astype(np.float32)

    def get_config(self) -> dict:
        return {
            "bits": self.bits,
            "integer": self.integer,
            "symmetric": self.symmetric,
            "alpha": self.alpha,
            "keep_negative": self.keep_negative,
            "use_stochastic_rounding": self.use_stochastic_rounding,
            "qnoise_factor": self.qnoise_factor,
            **(
                {} if self.post_training_scale is None else {"post_training_scale": self.post_training_scale.tolist()}
            ),  # QKeras master
        }


@register_quantizer
class quantized_relu(BaseQuantizer):  # noqa: N801 (QKeras name)
    """ReLU quantized to ``bits`` unsigned bits with ``integer`` integer bits:
    step 2**(integer - bits), range [0, 2**integer - step]."""

    def __init__(
        self,
        bits: int = 8,
        integer: int = 0,
        use_sigmoid: int = 0,
        negative_slope: float = 0.0,
        use_stochastic_rounding: bool = False,
        relu_upper_bound: float | None = None,
        is_quantized_clip: bool = True,
        qnoise_factor: float = 1.0,
        var_name: str | None = None,
        use_ste: bool = True,
        use_variables: bool = False,
        enable_fast_inference: bool = False,
    ):
        check_bits("quantized_relu", bits, 0)
        check_int_arg("quantized_relu", "integer", integer, -MAX_INTEGER, MAX_INTEGER)
        for flag, value in (
            ("use_sigmoid", use_sigmoid),
            ("use_stochastic_rounding", use_stochastic_rounding),
            ("is_quantized_clip", is_quantized_clip),
            ("use_ste", use_ste),
            ("enable_fast_inference", enable_fast_inference),
        ):
            check_flag_arg("quantized_relu", flag, value)
        check_power_of_two_slope("quantized_relu", negative_slope)
        check_number_arg("quantized_relu", "relu_upper_bound", relu_upper_bound, allow_none=True)
        check_number_arg("quantized_relu", "qnoise_factor", qnoise_factor)
        self.bits = bits
        self.integer = integer
        self.use_sigmoid = use_sigmoid
        self.negative_slope = negative_slope
        self.use_stochastic_rounding = use_stochastic_rounding
        self.relu_upper_bound = relu_upper_bound
        self.is_quantized_clip = is_quantized_clip
        self.qnoise_factor = qnoise_factor
        self.use_ste = use_ste
        self.var_name = var_name
        self.use_variables = use_variables
        # QKeras master: the plain quantized relu (``bits`` unsigned bits) whatever use_sigmoid, negative_slope,
        # qnoise_factor and stochastic rounding say; not in get_config, as in QKeras
        self.enable_fast_inference = enable_fast_inference

    def __str__(self) -> str:
        flags = [str(self.bits), str(self.integer)]
        if self.use_sigmoid or self.use_stochastic_rounding:
            flags.append(str(int(self.use_sigmoid)))
        if self.negative_slope:
            flags.append(str(self.negative_slope))
        if self.use_stochastic_rounding:
            flags.append(str(int(self.use_stochastic_rounding)))
        return "quantized_relu(" + ",".join(flags) + ")"

    def _is_plain(self) -> bool:
        if self.enable_fast_inference:
            return True
        return (
            not self.use_sigmoid
            and self.negative_slope == 0
            and self.is_quantized_clip
            and self.qnoise_factor == 1.0
            and self.use_ste
        )

    def _is_fixed(self) -> bool:
        """Exactly fixed point: plain, or is_quantized_clip=False with an upper bound that
        does not cut into the quantized range (the bound then only changes the gradient)."""
        if self._is_plain():
            return True
        if self.use_sigmoid or self.negative_slope != 0 or self.qnoise_factor != 1.0 or not self.use_ste:
            return False
        top = float(2.0**self.integer) * (1.0 - float(2.0**-self.bits))
        return self.relu_upper_bound is None or self.relu_upper_bound >= top

    def to_spec(self) -> QuantSpec:
        rnd = "S_RND_CONV" if self.use_stochastic_rounding and not self.enable_fast_inference else "RND_CONV"
        return QuantSpec(
            keep_negative=0,
            integer=self.integer,
            fractional=self.bits - self.integer,
            round_mode=rnd,
            overflow="SAT",
            ste="clip",
            prefn="relu",
            kind="fixed" if self._is_fixed() else "function",
        )

    def quantize(self, x: Any, training: bool = False) -> Any:
        x = ops.cast(x, "float32")
        if self._is_plain() and not (self.use_stochastic_rounding and training and not self.enable_fast_inference):
            spec = self.to_spec()
            xq = fixed_point.quantize(
                x, 0, spec.integer, spec.fractional, "RND_CONV", "SAT", ste="clip", training=training, surrogate=False
            )
            return F.nan_where_overflow(xq, x * float(2.0**self.bits) / float(2.0**self.integer))
        return self._quantize_qkeras(x, training)

    def _quantize_qkeras(self, x: Any, training: bool) -> Any:
        """QKeras 0.9.0's formula, step by step (negative slope, sigmoid, upper bound, qnoise)."""
        ns = self.negative_slope
        non_sign_bits = self.bits - (ns != 0.0)
        m = float(2.0**non_sign_bits)
        m_i = float(2.0**self.integer)
        m_f = float(2.0 ** (float(self.integer) - non_sign_bits))
        stoch = bool(self.use_stochastic_rounding)
        seed = self.seed_generator if stoch and training else None

        def rnd(v):
            return F.round_through(v, stoch, 0.5, training, seed)

        if self.is_quantized_clip:
            x_u = ops.where(x <= m_i - m_f, F.relu(x, ns), ops.ones_like(x) * (m_i - m_f))
        elif self.relu_upper_bound is not None:
            x_u = ops.where(x <= self.relu_upper_bound, F.relu(x, ns), ops.ones_like(x) * self.relu_upper_bound)
        else:
            x_u = F.relu(x, ns)

        if self.use_sigmoid:
            p = F.internal_sigmoid(x / m_i) * m
            xq = m_i * F.clip(2.0 * (rnd(p) / m) - 1.0, 0.0, 1.0 - 1.0 / m)
            if ns > 0:
                neg_factor = 1.0 / (ns * m)
                xq = xq + m_i * ns * F.clip(2.0 * (rnd(p * ns) * neg_factor) - 1.0, -1.0, 0.0)
        else:
            p = x * m / m_i
            xq = m_i * F.clip(rnd(p) / m, 0.0, 1.0 - 1.0 / m)
            if ns > 0:
                neg_factor = 1.0 / (ns * m)
                xq = xq + m_i * ns * F.clip(rnd(p * ns) * neg_factor, -1.0, 0.0)

        if self.relu_upper_bound and not self.is_quantized_clip:
            xq = ops.where(xq <= self.relu_upper_bound, xq, ops.ones_like(xq) * self.relu_upper_bound)
        return F.qkeras_output(x_u, xq, self.qnoise_factor, self.use_ste)

    def max(self) -> float:
        unsigned_bits = self.bits - (self.negative_slope != 0.0)
        return max(1.0, float(2.0**self.integer)) if unsigned_bits > 0 else 1.0

    def min(self) -> float:
        if self.negative_slope == 0.0:
            return 0.0
        return min(-0.0, -self.negative_slope * float(2.0**self.integer)) if self.bits - 1 > 0 else -1.0

    def range(self) -> np.ndarray:
        if self.use_sigmoid or self.negative_slope:
            raise ValueError("range() is defined for use_sigmoid=0 and negative_slope=0 only")
        x = np.arange(2**self.bits, dtype=np.float32)
        return (x * np.float32(2.0 ** (-self.bits + self.integer))).astype(np.float32)

    def get_config(self) -> dict:
        return {
            "bits": self.bits,
            "integer": self.integer,
            "use_sigmoid": self.use_sigmoid,
            "negative_slope": self.negative_slope,
            "use_stochastic_rounding": self.use_stochastic_rounding,
            "relu_upper_bound": self.relu_upper_bound,
            "qnoise_factor": self.qnoise_factor,
        }
