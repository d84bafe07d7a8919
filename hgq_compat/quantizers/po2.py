"""QKeras power-of-two quantizers: quantized_po2 and quantized_relu_po2 (QKeras mode only)."""

from __future__ import annotations

from typing import Any

import numpy as np
from keras import ops

from ..core.spec import QuantSpec
from . import functions as F
from .base import (
    BaseQuantizer,
    check_bits,
    check_flag_arg,
    check_number_arg,
    check_power_of_two_slope,
    register_quantizer,
)

LOG2_ROUNDINGS = ("rnd", "floor")


def _pow2(exponent: int) -> float:
    """2 ** exponent as QKeras computes it (an int for small exponents), without building a huge
    integer for large ones (inf beyond float range)."""
    return 2**exponent if exponent <= 1023 else float("inf")


def _need_exponent_sign_bit(max_value: Any) -> int:
    if max_value is None:
        return 1
    if max_value < 0:
        raise ValueError(f"max_value={max_value!r} is not accepted; accepted values: None or a non-negative number")
    return 1 if max_value > 1 else 0


def clip_power_of_two(
    x_abs: Any,
    min_exp: int,
    max_exp: int,
    max_value: Any,
    quadratic_approximation: bool,
    use_stochastic_rounding: bool,
    log2_rounding: str,
    training: bool,
    seed: Any,
) -> Any:
    """QKeras ``_clip_power_of_two``: the clipped exponent of ``x_abs`` (>= 0); min_exp below eps."""
    eps = F.EPSILON
    x_filter = ops.where(x_abs < eps, ops.ones_like(x_abs) * eps, x_abs)
    if max_value is not None:
        x_filter = ops.where(x_filter >= max_value, ops.ones_like(x_filter) * max_value, x_filter)
    if quadratic_approximation:
        q_factor, x_input = 2.0, ops.sqrt(x_filter)
    else:
        q_factor, x_input = 1.0, x_filter
    if log2_rounding == "floor":
        v = ops.log(x_input) / F.LOG2
        x_log2 = v + ops.stop_gradient(-v + ops.floor(v))
    elif use_stochastic_rounding and training:
        x_log2 = F.stochastic_round_po2(x_input, seed)
    else:
        x_log2 = F.round_through(ops.log(x_input) / F.LOG2)
    x_clipped = q_factor * F.clip(x_log2, float(min_exp), float(max_exp))
    return ops.where(x_abs < eps, ops.ones_like(x_abs) * float(min_exp), x_clipped)


class _Po2Base(BaseQuantizer):
    def _check(self) -> None:
        name = type(self).__name__
        check_bits(name, self.bits, 1)
        check_number_arg(name, "max_value", self.max_value, minimum=0.0, allow_none=True)
        for flag in ("use_stochastic_rounding", "quadratic_approximation"):
            check_flag_arg(name, flag, getattr(self, flag))
        if self.log2_rounding not in LOG2_ROUNDINGS:
            raise ValueError(
                f"{name}: log2_rounding={self.log2_rounding!r} is not accepted; accepted values: 'rnd', 'floor'"
            )
        if hasattr(self, "negative_slope"):
            check_power_of_two_slope(name, self.negative_slope)

    def _clip(self, x_abs: Any, training: bool) -> Any:
        stoch = bool(self.use_stochastic_rounding)
        seed = self.seed_generator if stoch and training else None
        return clip_power_of_two(
            x_abs,
            self._min_exp,
            self._max_exp,
            self.max_value,
            self.quadratic_approximation,
            stoch,
            self.log2_rounding,
            training,
            seed,
        )

    def max(self) -> float:
        if self.max_value:
            return max(1.0, self.max_value)
        return max(1.0, _pow2(self._max_exp))


@register_quantizer
class quantized_po2(_Po2Base):  # noqa: N801 (QKeras name)
    """Sign times the nearest power of two (rounded in log2), exponents in [min_exp, max_exp]
    from ``bits`` (sign bit, exponent sign bit unless max_value <= 1) and ``max_value``."""

    def __init__(
        self,
        bits: int = 8,
        max_value: Any = None,
        use_stochastic_rounding: bool = False,
        quadratic_approximation: bool = False,
        log2_rounding: str = "rnd",
        qnoise_factor: float = 1.0,
        var_name: str | None = None,
        use_ste: bool = True,
        use_variables: bool = False,
    ):
        self.bits = bits
        self.max_value = max_value
        self.use_stochastic_rounding = use_stochastic_rounding
        self.log2_rounding = log2_rounding
        self.quadratic_approximation = quadratic_approximation
        self._check()
        effect_bits = self.bits - 1 - _need_exponent_sign_bit(max_value)
        self._min_exp = -(2**effect_bits)
        self._max_exp = 2**effect_bits - 1
        if quadratic_approximation:
            self._max_exp = 2 * (self._max_exp // 2)
        self.qnoise_factor = qnoise_factor
        self.use_ste = use_ste
        self.var_name = var_name
        self.use_variables = use_variables

    def __str__(self) -> str:
        flags = [str(self.bits)]
        if self.max_value is not None or self.use_stochastic_rounding:
            flags.append(str(int(self.max_value)))  # raises for max_value=None, as in QKeras
        if self.use_stochastic_rounding:
            flags.append(str(int(self.use_stochastic_rounding)))
        if self.quadratic_approximation:
            flags.append("quadratic_approximation=" + str(int(self.quadratic_approximation)))
        return "quantized_po2(" + ",".join(flags) + ")"

    def to_spec(self) -> QuantSpec:
        return QuantSpec.from_bits(self.bits, 0, 1, kind="po2")

    def quantize(self, x: Any, training: bool = False) -> Any:
        x = ops.cast(x, "float32")
        x_sign = ops.sign(x)
        x_sign = x_sign + (1.0 - ops.abs(x_sign))
        xq = x_sign * ops.power(2.0, self._clip(ops.abs(x), training))
        return F.qkeras_output(x, xq, self.qnoise_factor, self.use_ste)

    def min(self) -> float:
        if self.max_value:
            return -max(1.0, self.max_value)
        return -max(1.0, _pow2(self._max_exp))

    def get_config(self) -> dict:
        return {
            "bits": self.bits,
            "max_value": self.max_value,
            "use_stochastic_rounding": self.use_stochastic_rounding,
            "quadratic_approximation": self.quadratic_approximation,
            "qnoise_factor": self.qnoise_factor,
            "log2_rounding": self.log2_rounding,
        }


@register_quantizer
class quantized_relu_po2(_Po2Base):  # noqa: N801 (QKeras name)
    """ReLU quantized to powers of two (``bits`` exponent bits, no sign bit), with an optional
    power-of-two negative slope giving negative powers of two."""

    def __init__(
        self,
        bits: int = 8,
        max_value: Any = None,
        negative_slope: float = 0,
        use_stochastic_rounding: bool = False,
        quadratic_approximation: bool = False,
        log2_rounding: str = "rnd",
        qnoise_factor: float = 1.0,
        var_name: str | None = None,
        use_ste: bool = True,
        use_variables: bool = False,
    ):
        self.bits = bits
        self.max_value = max_value
        self.negative_slope = negative_slope
        self.use_stochastic_rounding = use_stochastic_rounding
        self.log2_rounding = log2_rounding
        self.quadratic_approximation = quadratic_approximation
        self._check()
        nesb = _need_exponent_sign_bit(max_value)
        self._min_exp = -(2 ** (self.bits - nesb))
        self._max_exp = 2 ** (self.bits - nesb) - 1
        if quadratic_approximation:
            self._max_exp = 2 * (self._max_exp // 2)
        self.qnoise_factor = qnoise_factor
        self.use_ste = use_ste
        self.var_name = var_name
        self.use_variables = use_variables

    def __str__(self) -> str:
        flags = [str(self.bits)]
        if self.max_value is not None or self.use_stochastic_rounding:
            flags.append(str(int(self.max_value)))  # raises for max_value=None, as in QKeras
        if self.negative_slope:
            flags.append(str(self.negative_slope))
        if self.use_stochastic_rounding:
            flags.append(str(int(self.use_stochastic_rounding)))
        if self.quadratic_approximation:
            flags.append("quadratic_approximation=" + str(int(self.quadratic_approximation)))
        return "quantized_relu_po2(" + ",".join(flags) + ")"

    def to_spec(self) -> QuantSpec:
        return QuantSpec.from_bits(self.bits, 0, 0, kind="po2")

    def quantize(self, x: Any, training: bool = False) -> Any:
        x_original = ops.cast(x, "float32")
        ns = self.negative_slope
        if self.max_value is None:
            x = F.relu(x_original, ns)
        else:
            x = ops.where(
                x_original <= self.max_value, F.relu(x_original, ns), ops.ones_like(x_original) * self.max_value
            )
        pos = self._clip(F.relu(x_original), training)
        neg = self._clip(F.relu(-x_original) * ns, training)
        if ns == 0.0:
            xq = ops.power(2.0, pos)
        else:
            xq = ops.where(x_original >= 0.0, ops.power(2.0, pos), -ops.power(2.0, neg))
        return F.qkeras_output(x, xq, self.qnoise_factor, self.use_ste)

    def min(self) -> float:
        if self.negative_slope == 0.0:
            return _pow2(self._min_exp)
        unsigned_bits = self.bits - 1
        if unsigned_bits > 0:
            return min(_pow2(self._min_exp), -self.negative_slope * np.power(2.0, unsigned_bits))
        return _pow2(self._min_exp)

    def get_config(self) -> dict:
        return {
            "bits": self.bits,
            "max_value": self.max_value,
            "negative_slope": self.negative_slope,
            "use_stochastic_rounding": self.use_stochastic_rounding,
            "quadratic_approximation": self.quadratic_approximation,
            "qnoise_factor": self.qnoise_factor,
            "log2_rounding": self.log2_rounding,
        }
