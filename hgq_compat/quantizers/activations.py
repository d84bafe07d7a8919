"""QKeras activation quantizers: quantized_tanh, quantized_sigmoid, quantized_ulaw, quantized_hswish.

quantized_tanh / quantized_sigmoid with the hard internal sigmoid (QKeras' default) are fixed
point after a pre-function (``prefn`` 'hard_tanh' / 'hard_sigmoid'), so they have an HGQ mode;
the smooth and real variants, ulaw and hswish are QKeras mode only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from keras import ops

from ..core.spec import QuantSpec
from . import functions as F
from .base import (
    MAX_BITS,
    BaseQuantizer,
    check_bits,
    check_flag_arg,
    check_int_arg,
    check_number_arg,
    register_quantizer,
)
from .fixed import quantized_bits


@register_quantizer
class quantized_tanh(BaseQuantizer):  # noqa: N801 (QKeras name)
    """tanh (by default QKeras' hard tanh ``2 * sigmoid(x) - 1`` with the internal sigmoid) quantized
    to ``bits`` bits in [-1, 1): ``clip(round(p * m) / m, -1 + symmetric / m, 1 - 1 / m)``,
    m = 2**(bits - 1)."""

    def __init__(
        self, bits: int = 8, use_stochastic_rounding: bool = False, symmetric: bool = False, use_real_tanh: bool = False
    ):
        check_bits("quantized_tanh", bits, 1)
        for flag, value in (
            ("use_stochastic_rounding", use_stochastic_rounding),
            ("symmetric", symmetric),
            ("use_real_tanh", use_real_tanh),
        ):
            check_flag_arg("quantized_tanh", flag, value)
        self.bits = bits
        self.symmetric = symmetric
        self.use_stochastic_rounding = use_stochastic_rounding
        self.use_real_tanh = use_real_tanh

    def __str__(self) -> str:
        flags = [str(self.bits)]
        if self.use_stochastic_rounding:
            flags.append(str(int(self.use_stochastic_rounding)))
        if self.symmetric:
            flags.append(str(int(self.symmetric)))
        if self.use_real_tanh:
            flags.append(str(int(self.use_real_tanh)))
        return "quantized_tanh(" + ",".join(flags) + ")"

    def to_spec(self) -> QuantSpec:
        exact = not self.use_real_tanh and F.get_internal_sigmoid() == "hard"
        rnd = "S_RND_CONV" if self.use_stochastic_rounding else "RND_CONV"
        return QuantSpec.from_bits(
            self.bits,
            0,
            1,
            round_mode=rnd,
            overflow="SAT_SYM" if self.symmetric else "SAT",
            ste="clip",
            prefn="hard_tanh" if exact else None,
            kind="fixed" if exact else "function",
        )

    def quantize(self, x: Any, training: bool = False) -> Any:
        x = ops.cast(x, "float32")
        m = float(2.0 ** (self.bits - 1))
        p = ops.tanh(x) if self.use_real_tanh else 2.0 * F.internal_sigmoid(x) - 1.0
        stoch = bool(self.use_stochastic_rounding)
        seed = self.seed_generator if stoch and training else None
        return F.clip(
            F.round_through(p * m, stoch, 0.5, training, seed) / m, -1.0 + (1.0 * self.symmetric) / m, 1.0 - 1.0 / m
        )

    def max(self) -> float:
        return 1.0 - 1.0 / pow(2, self.bits - 1)

    def min(self) -> float:
        return -1.0 + (1.0 * self.symmetric) / pow(2, self.bits - 1)

    def get_config(self) -> dict:
        return {
            "bits": self.bits,
            "symmetric": self.symmetric,
            "use_stochastic_rounding": self.use_stochastic_rounding,
            "use_real_tanh": self.use_real_tanh,
        }


@register_quantizer
class quantized_sigmoid(BaseQuantizer):  # noqa: N801 (QKeras name)
    """sigmoid (by default the internal, hard, sigmoid) quantized to ``bits`` unsigned fractional
    bits: ``clip(round(p * m) / m, symmetric / m, 1 - 1 / m)``, m = 2**bits."""

    def __init__(
        self,
        bits: int = 8,
        symmetric: bool = False,
        use_real_sigmoid: bool = False,
        use_stochastic_rounding: bool = False,
    ):
        check_bits("quantized_sigmoid", bits, 0)
        for flag, value in (
            ("symmetric", symmetric),
            ("use_real_sigmoid", use_real_sigmoid),
            ("use_stochastic_rounding", use_stochastic_rounding),
        ):
            check_flag_arg("quantized_sigmoid", flag, value)
        self.bits = bits
        self.symmetric = symmetric
        self.use_real_sigmoid = use_real_sigmoid
        self.use_stochastic_rounding = use_stochastic_rounding

    def __str__(self) -> str:
        flags = [str(self.bits)]
        if self.symmetric:
            flags.append(str(int(self.symmetric)))
        if self.use_real_sigmoid:
            flags.append(str(int(self.use_real_sigmoid)))
        if self.use_stochastic_rounding:
            flags.append(str(int(self.use_stochastic_rounding)))
        return "quantized_sigmoid(" + ",".join(flags) + ")"

    def to_spec(self) -> QuantSpec:
        # symmetric=True clips at 1/m instead of 0: not a fixed-point range.
        exact = not self.use_real_sigmoid and F.get_internal_sigmoid() == "hard" and not self.symmetric
        rnd = "S_RND_CONV" if self.use_stochastic_rounding else "RND_CONV"
        return QuantSpec.from_bits(
            self.bits,
            0,
            0,
            round_mode=rnd,
            overflow="SAT",
            ste="clip",
            prefn="hard_sigmoid" if exact else None,
            kind="fixed" if exact else "function",
        )

    def quantize(self, x: Any, training: bool = False) -> Any:
        x = ops.cast(x, "float32")
        m = float(2.0**self.bits)
        p = ops.sigmoid(x) if self.use_real_sigmoid else F.internal_sigmoid(x)
        stoch = bool(self.use_stochastic_rounding)
        seed = self.seed_generator if stoch and training else None
        return F.clip(F.round_through(p * m, stoch, 0.5, training, seed) / m, (1.0 * self.symmetric) / m, 1.0 - 1.0 / m)

    def max(self) -> float:
        return 1.0 - 1.0 / pow(2, self.bits)

    def min(self) -> float:
        return (1.0 * self.symmetric) / pow(2, self.bits)

    def get_config(self) -> dict:
        return {
            "bits": self.bits,
            "symmetric": self.symmetric,
            "use_real_sigmoid": self.use_real_sigmoid,
            "use_stochastic_rounding": self.use_stochastic_rounding,
        }


@register_quantizer
class quantized_ulaw(BaseQuantizer):  # noqa: N801 (QKeras name)
    """u-law companding of the (internal-sigmoid) quantized value, range [-2**integer, 2**integer)."""

    def __init__(self, bits: int = 8, integer: int = 0, symmetric: int = 0, u: float = 255.0):
        check_bits("quantized_ulaw", bits, 1)
        check_int_arg("quantized_ulaw", "integer", integer, -MAX_BITS, MAX_BITS)
        check_flag_arg("quantized_ulaw", "symmetric", symmetric)
        check_number_arg("quantized_ulaw", "u", u, minimum=0.0)
        self.bits = bits
        self.integer = integer
        self.symmetric = symmetric
        self.u = u

    def __str__(self) -> str:
        flags = [str(self.bits), str(self.integer)]
        if self.symmetric or self.u != 255.0:
            flags.append(str(int(self.symmetric)))
        if self.u != 255.0:
            flags.append(str(self.u))
        return "quantized_ulaw(" + ",".join(flags) + ")"

    def to_spec(self) -> QuantSpec:
        return QuantSpec.from_bits(self.bits, self.integer, 1, kind="ulaw")

    def quantize(self, x: Any, training: bool = False) -> Any:
        x = ops.cast(x, "float32")
        m = float(pow(2, self.bits - 1))
        m_i = float(pow(2, self.integer))
        p = F.internal_sigmoid(x / m_i) * m
        rp = 2.0 * (F.round_through(p) / m) - 1.0
        log_1pu = ops.log(ops.convert_to_tensor(np.float32(1 + self.u)))
        u_law_p = ops.sign(rp) * ops.log(1 + self.u * ops.abs(rp)) / log_1pu
        return m_i * F.clip(u_law_p, -1.0 + (1.0 * self.symmetric) / m, 1.0 - 1.0 / m)

    def max(self) -> float:
        return max(1.0, float(np.power(2.0, self.integer))) if self.bits - 1 > 0 else 1.0

    def min(self) -> float:
        return -max(1.0, float(np.power(2.0, self.integer))) if self.bits - 1 > 0 else -1.0

    def get_config(self) -> dict:
        return {"bits": self.bits, "integer": self.integer, "symmetric": self.symmetric, "u": self.u}


@register_quantizer
class quantized_hswish(quantized_bits):  # noqa: N801 (QKeras name)
    """quantized_bits applied to the hard swish ``x * min(relu(x + relu_shift), relu_upper_bound) /
    relu_upper_bound``.

    QKeras 0.9.0's ``__str__`` always raises and its ``min()`` raises when the quantizer range
    reaches below the parabola's minimum; here both return what they were written to return.
    """

    def __init__(
        self,
        bits: int = 8,
        integer: int = 0,
        symmetric: int = 0,
        alpha: Any = None,
        use_stochastic_rounding: bool = False,
        scale_axis: int | None = None,
        qnoise_factor: float = 1.0,
        var_name: str | None = None,
        use_ste: bool = True,
        use_variables: bool = False,
        relu_shift: int = 3,
        relu_upper_bound: int = 6,
        *,
        keep_negative: bool = True,
    ):
        # keep_negative is not a QKeras argument, but QKeras writes it into get_config(), so its own
        # configs do not load back there; it is accepted (True only) so that they load here.
        if not keep_negative:
            raise ValueError("keep_negative=False is not accepted by quantized_hswish; accepted values: True")
        check_number_arg("quantized_hswish", "relu_shift", relu_shift)
        check_number_arg("quantized_hswish", "relu_upper_bound", relu_upper_bound)
        super().__init__(
            bits=bits,
            integer=integer,
            symmetric=symmetric,
            keep_negative=True,
            alpha=alpha,
            use_stochastic_rounding=use_stochastic_rounding,
            scale_axis=scale_axis,
            qnoise_factor=qnoise_factor,
            var_name=var_name,
            use_ste=use_ste,
            use_variables=use_variables,
        )
        self.relu_shift = relu_shift
        self.relu_upper_bound = relu_upper_bound

    def __str__(self) -> str:
        flags = [
            str(self.bits),
            str(self.integer),
            str(int(self.symmetric)),
            "relu_shift=" + str(self.relu_shift),
            "relu_upper_bound=" + str(self.relu_upper_bound),
        ]
        if not self.keep_negative:
            flags.append("keep_negative=False")
        if self.alpha:
            flags.append("alpha=" + F.alpha_text(self.alpha))
        if self.use_stochastic_rounding:
            flags.append("use_stochastic_rounding=" + str(int(self.use_stochastic_rounding)))
        return "quantized_hswish(" + ",".join(flags) + ")"

    def to_spec(self) -> QuantSpec:
        return super().to_spec().replace(kind="function", po2_scale=None, scale_axis=None)

    def _hswish(self, x: Any) -> Any:
        if not self.relu_upper_bound > 0:
            raise ValueError(f"relu_upper_bound must be a positive value, found {self.relu_upper_bound} instead")
        if not self.relu_shift > 0:
            raise ValueError(f"relu_shift must be a positive value, found {self.relu_shift} instead")
        x = ops.cast(x, "float32")
        shift_x = x + self.relu_shift
        relu_x = ops.where(
            shift_x <= self.relu_upper_bound, F.relu(shift_x), ops.ones_like(shift_x) * self.relu_upper_bound
        )
        return (x * relu_x) / float(self.relu_upper_bound)

    def quantize(self, x: Any, training: bool = False) -> Any:
        return super().quantize(self._hswish(x), training)

    def min(self) -> float:
        min_quant = super().min()
        min_parabolic = -self.relu_shift * self.relu_shift / (4 * self.relu_upper_bound)
        if min_quant >= min_parabolic:
            return min_quant
        value = quantized_bits.quantize(self, ops.convert_to_tensor(np.float32([min_parabolic])))
        return float(ops.convert_to_numpy(value)[0])

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"relu_shift": self.relu_shift, "relu_upper_bound": self.relu_upper_bound})
        return config
