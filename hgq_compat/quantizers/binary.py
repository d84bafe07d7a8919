"""QKeras sign-like quantizers: binary, stochastic_binary, ternary, stochastic_ternary, bernoulli.

Only ternary with a power-of-two alpha (None counts as 1) and threshold alpha / 2 is fixed point
(2-bit SAT_SYM, step alpha, rounding half away from zero), so only that one has an HGQ mode.
binary is a sign function (0 maps to +alpha, nothing rounds to 0), never a rounding quantizer.
Outputs are QKeras' ``x + stop_gradient(-x + scale * code)`` (bit for bit, see `_output`).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from ..core.spec import QuantSpec
from . import functions as F
from .base import BaseQuantizer, check_alpha_arg, check_flag_arg, check_int_arg, check_number_arg, register_quantizer

MAX_UNROLLS = 100
"""Largest ``number_of_unrolls`` accepted (QKeras' default is 5)."""


def _fixed_scale(alpha: Any, default: float = 1.0) -> Any:
    if alpha is None or isinstance(alpha, str):
        return default
    if isinstance(alpha, np.ndarray):
        return alpha
    return float(alpha)


def _alpha_bound(alpha: Any) -> float:
    if alpha is None or isinstance(alpha, str):
        return 1.0
    return max(1.0, alpha)


def _output(alpha: Any, x: Any, value: Any) -> Any:
    """QKeras' ``x + stop_gradient(-x + value)`` (gradient 1). With alpha=None, ``x`` is ``tanh(x)``,
    which XLA may compute twice (in two fusions) with different roundings, making the sum an ulp
    off ``value`` in some models only; there the exact form ``sg(value) + (x - sg(x))`` is used
    (the value QKeras means, as its goldens show). Other alphas keep the literal sum: its float32
    rounding is a deterministic function of x, part of QKeras' numbers."""
    if alpha is None:
        return ops.stop_gradient(value) + (x - ops.stop_gradient(x))
    return x + ops.stop_gradient(-x + value)


def _std(x: Any, axes: list[int]) -> Any:
    return ops.std(x, axis=axes, keepdims=True)


def _reduce_axes(rank: int) -> list[int]:
    """Axes QKeras' stochastic quantizers reduce over: all but the last, [0] for 1-D."""
    return list(range(rank - 1)) if rank > 1 else [0]


# ---------------------------------------------------------------------------- binary


class _AlphaScaledQuantizer(BaseQuantizer):
    """Shared by binary and ternary: an alpha scale (alpha=None on a kernel becomes 'auto_po2')."""

    def is_stochastic(self) -> bool:
        return bool(self.use_stochastic_rounding)

    def _set_trainable_parameter(self) -> None:
        if self.alpha is None:
            self.alpha = "auto_po2"

    def max(self) -> float:
        return _alpha_bound(self.alpha)


@register_quantizer
class binary(_AlphaScaledQuantizer):  # noqa: N801 (QKeras name)
    """sign(x) (0 -> +1) times alpha; ``use_01`` gives {0, alpha}; alpha 'auto'/'auto_po2' fits a
    per-channel (least-squares, optionally power-of-two) scale."""

    def __init__(self, use_01: bool = False, alpha: Any = None, use_stochastic_rounding: bool = False):
        check_alpha_arg(type(self).__name__, alpha)
        check_flag_arg(type(self).__name__, "use_01", use_01)
        check_flag_arg(type(self).__name__, "use_stochastic_rounding", use_stochastic_rounding)
        self.use_01 = use_01
        self.bits = 1
        self.alpha = alpha
        self.use_stochastic_rounding = use_stochastic_rounding
        self.default_alpha = 1.0
        self.scale = None

    def __str__(self) -> str:
        flags = []
        if self.use_01:
            flags.append("use_01=" + str(int(self.use_01)))
        if self.alpha is not None:
            flags.append("alpha=" + F.alpha_text(self.alpha))
        if self.use_stochastic_rounding:
            flags.append("use_stochastic_rounding=" + str(self.use_stochastic_rounding))
        return "binary(" + ",".join(flags) + ")"

    def to_spec(self) -> QuantSpec:
        return QuantSpec(
            keep_negative=0 if self.use_01 else 1, integer=0, fractional=1 if self.use_01 else 0, kind="binary"
        )

    def quantize(self, x: Any, training: bool = False) -> Any:
        return self._binary(ops.cast(x, "float32"), training)

    def _binary(self, x: Any, training: bool) -> Any:
        stoch = bool(self.use_stochastic_rounding)
        if stoch and training:
            rank = len(x.shape)
            m = ops.max(ops.abs(x), axis=None if rank == 1 else list(range(rank - 1)), keepdims=True)
            m = ops.where(m > 1.0, ops.ones_like(m), m)
            f = 2 * m
            x = f * F.round_through(x / f, True, 0.125, True, self.seed_generator)
        k_sign = ops.sign(x)
        if stoch:
            if training:
                r = keras.random.uniform(ops.shape(x), dtype="float32", seed=self.seed_generator)
                k_sign = k_sign + (1.0 - ops.abs(k_sign)) * (2.0 * ops.round(r) - 1.0)
            else:
                # QKeras multiplies by ones_like(tf.shape(x)): ones, broadcast (it fails for most 2-D shapes)
                k_sign = k_sign + (1.0 - ops.abs(k_sign))
        k_sign = k_sign + (1.0 - ops.abs(k_sign))
        if self.use_01:
            k_sign = (k_sign + 1.0) / 2.0
        if self.alpha is None:
            x = ops.tanh(x)
        scale = F.get_scale(self.alpha, x, k_sign)
        self.scale = scale
        return _output(self.alpha, x, scale * k_sign)

    def min(self) -> float:
        if self.use_01:
            return 0.0
        return -_alpha_bound(self.alpha)

    def get_config(self) -> dict:
        return {"use_01": self.use_01, "alpha": self.alpha, "use_stochastic_rounding": self.use_stochastic_rounding}


def _sigmoid_sampler_str(name: str, q: Any) -> str:
    """QKeras text of stochastic_binary / bernoulli: alpha, temperature, use_real_sigmoid."""
    flags = []
    if q.alpha is not None:
        flags.append("alpha=" + F.alpha_text(q.alpha))
    if q.temperature != 6.0:
        flags.append("temperature=" + str(q.temperature))
    if not q.use_real_sigmoid:
        flags.append("use_real_sigmoid=" + str(int(q.use_real_sigmoid)))
    return name + "(" + ",".join(flags) + ")"


@register_quantizer
class stochastic_binary(binary):  # noqa: N801 (QKeras name)
    """Training: +-scale drawn with probability sigmoid(temperature * x / std); inference: binary."""

    def __init__(self, alpha: Any = None, temperature: float = 6.0, use_real_sigmoid: bool = True):
        super().__init__(alpha=alpha)
        check_number_arg(type(self).__name__, "temperature", temperature)
        self.temperature = temperature
        self.use_real_sigmoid = use_real_sigmoid

    def __str__(self) -> str:
        return _sigmoid_sampler_str("stochastic_binary", self)

    def to_spec(self) -> QuantSpec:
        return QuantSpec(keep_negative=1, integer=0, fractional=0, kind="stochastic")

    def is_stochastic(self) -> bool:
        return True

    def quantize(self, x: Any, training: bool = False) -> Any:
        x = ops.cast(x, "float32")
        if not training:
            return self._binary(x, False)
        if isinstance(self.alpha, str):
            std = _std(x, _reduce_axes(len(x.shape))) + F.EPSILON
        else:
            std = 1.0
        t = self.temperature * x / std
        p = ops.sigmoid(t) if self.use_real_sigmoid else F.internal_sigmoid(t)
        r = keras.random.uniform(ops.shape(x), dtype="float32", seed=self.seed_generator)
        q = ops.sign(p - r)
        q = q + (1.0 - ops.abs(q))
        q_ns = ops.sign(x)
        q_ns = q_ns + (1.0 - ops.abs(q_ns))
        scale = F.get_scale(self.alpha, x, q_ns)
        self.scale = scale
        return _output(self.alpha, x, scale * q)

    def min(self) -> float:
        return -_alpha_bound(self.alpha)

    def get_config(self) -> dict:
        return {"alpha": self.alpha, "temperature": self.temperature, "use_real_sigmoid": self.use_real_sigmoid}


# ---------------------------------------------------------------------------- ternary


@register_quantizer
class ternary(_AlphaScaledQuantizer):  # noqa: N801 (QKeras name)
    """-alpha, 0 or +alpha: ``alpha * sign(x) * (|x| >= threshold)`` (threshold default 0.33);
    alpha 'auto'/'auto_po2' iterates scale and threshold (scale / 2) ``number_of_unrolls`` times."""

    def __init__(
        self,
        alpha: Any = None,
        threshold: Any = None,
        use_stochastic_rounding: bool = False,
        number_of_unrolls: int = 5,
    ):
        name = type(self).__name__
        check_alpha_arg(name, alpha)
        check_number_arg(name, "threshold", threshold, allow_none=True)
        check_flag_arg(name, "use_stochastic_rounding", use_stochastic_rounding)
        check_int_arg(name, "number_of_unrolls", number_of_unrolls, 0, MAX_UNROLLS)
        self.bits = 2
        self.alpha = alpha
        self.threshold = threshold
        self.use_stochastic_rounding = use_stochastic_rounding
        self.default_alpha = 1.0
        self.default_threshold = 0.33
        self.number_of_unrolls = number_of_unrolls
        self.scale = None

    def __str__(self) -> str:
        flags = []
        if self.alpha is not None:
            flags.append("alpha=" + F.alpha_text(self.alpha))
        if self.threshold is not None:
            flags.append("threshold=" + str(self.threshold))
        if self.use_stochastic_rounding:
            flags.append("use_stochastic_rounding=" + str(int(self.use_stochastic_rounding)))
        if self.number_of_unrolls != 5:
            flags.append("number_of_unrolls=" + str(int(self.number_of_unrolls)))
        return "ternary(" + ",".join(flags) + ")"

    def _fixed_alpha(self) -> float | None:
        """alpha if this ternary is exactly 2-bit fixed point (po2 alpha, threshold alpha / 2), else None."""
        if isinstance(self.alpha, str) or isinstance(self.alpha, np.ndarray) or self.use_stochastic_rounding:
            return None
        alpha = 1.0 if self.alpha is None else self.alpha
        threshold = self.default_threshold if self.threshold is None else self.threshold
        if F.is_po2(alpha) and float(threshold) == float(alpha) / 2:
            return float(alpha)
        return None

    def to_spec(self) -> QuantSpec:
        alpha = self._fixed_alpha() if type(self) is ternary else None
        if alpha is None:
            return QuantSpec(keep_negative=1, integer=1, fractional=0, kind="ternary")
        e = int(round(np.log2(alpha)))
        # codes -1, 0, 1 with step alpha; |x| >= alpha / 2 -> +-1: round half away from zero
        return QuantSpec(keep_negative=1, integer=1 + e, fractional=-e, round_mode="RND_INF", overflow="SAT_SYM")

    def quantize(self, x: Any, training: bool = False) -> Any:
        return self._ternary(ops.cast(x, "float32"), training)

    def _ternary(self, x: Any, training: bool) -> Any:
        if isinstance(self.alpha, str):
            if self.threshold is not None:
                raise ValueError(f"{self}: threshold must be None when alpha is {self.alpha!r}")
        elif self.use_stochastic_rounding:
            raise ValueError(f"{self}: use_stochastic_rounding needs alpha 'auto' or 'auto_po2'")
        scale = _fixed_scale(self.alpha)
        if isinstance(self.alpha, str):
            rank = len(x.shape)
            axis = None if rank == 1 else list(range(rank - 1))
            m = ops.max(ops.abs(x), axis=axis, keepdims=True)
            scale = 2 * m / 3.0
            if "po2" in self.alpha:
                scale = F.po2_round(scale)
            stoch = bool(self.use_stochastic_rounding)
            seed = self.seed_generator if stoch and training else None
            for _ in range(self.number_of_unrolls):
                thres = scale / 2.0
                v = scale * F.round_through(x / scale, stoch, 1.0 / 3.0, training, seed)
                q = ops.cast(ops.abs(v) >= thres, "float32") * ops.sign(x)
                scale = F.get_scale(self.alpha, x, q)
        else:
            thres = self.default_threshold if self.threshold is None else self.threshold
            q = ops.cast(ops.abs(x) >= thres, "float32") * ops.sign(x)
        if self.alpha is None:
            x = ops.tanh(x)
        self.scale = scale
        return _output(self.alpha, x, scale * q)

    def min(self) -> float:
        return -_alpha_bound(self.alpha)

    def get_config(self) -> dict:
        return {
            "alpha": self.alpha,
            "threshold": self.threshold,
            "use_stochastic_rounding": self.use_stochastic_rounding,
            "number_of_unrolls": self.number_of_unrolls,
        }


@register_quantizer
class stochastic_ternary(ternary):  # noqa: N801 (QKeras name)
    """Training: -scale/0/+scale drawn from two sigmoids around +-threshold; inference: ternary."""

    def __init__(
        self,
        alpha: Any = None,
        threshold: Any = None,
        temperature: float = 8.0,
        use_real_sigmoid: bool = True,
        number_of_unrolls: int = 5,
    ):
        if threshold == 1.0:
            raise ValueError("threshold=1.0 is not accepted by stochastic_ternary")
        super().__init__(alpha=alpha, threshold=threshold, number_of_unrolls=number_of_unrolls)
        check_number_arg(type(self).__name__, "temperature", temperature)
        self.temperature = temperature
        self.use_real_sigmoid = use_real_sigmoid

    def __str__(self) -> str:
        flags = []
        if self.alpha is not None:
            flags.append("alpha=" + F.alpha_text(self.alpha))
        if self.threshold is not None:
            flags.append("threshold=" + str(self.threshold))
        if self.temperature != 8.0:
            flags.append("temperature=" + str(self.temperature))
        if not self.use_real_sigmoid:
            flags.append("use_real_sigmoid=0")
        if self.number_of_unrolls != 5:
            flags.append("number_of_unrolls=" + str(self.number_of_unrolls))
        return "stochastic_ternary(" + ",".join(flags) + ")"

    def to_spec(self) -> QuantSpec:
        return QuantSpec(keep_negative=1, integer=1, fractional=0, kind="stochastic")

    def is_stochastic(self) -> bool:
        return True

    def quantize(self, x: Any, training: bool = False) -> Any:
        x = ops.cast(x, "float32")
        if not training:
            return self._ternary(x, False)
        # QKeras asserts alpha is 'auto'/'auto_po2' here; its code for other alphas (scale
        # from _get_scale: 1.0 or alpha after the loop) is used instead of failing.
        axes = _reduce_axes(len(x.shape))
        x_std = _std(x, axes)
        m = ops.max(ops.abs(x), axis=axes, keepdims=True)
        scale = 2.0 * m / 3.0
        if self.alpha == "auto_po2":
            scale = F.po2_round(scale)
        for _ in range(self.number_of_unrolls):
            t = scale / 2.0
            q_ns = ops.cast(ops.abs(x) >= t, "float32") * ops.sign(x)
            scale = F.get_scale(self.alpha, x, q_ns)
        x_norm = x / (x_std + F.EPSILON)
        t = scale / (2.0 * (x_std + F.EPSILON))
        sig = ops.sigmoid if self.use_real_sigmoid else F.internal_sigmoid
        p0 = sig(self.temperature * (x_norm - t))
        p1 = sig(self.temperature * (x_norm + t))
        r0 = keras.random.uniform(ops.shape(p0), dtype="float32", seed=self.seed_generator)
        r1 = keras.random.uniform(ops.shape(p1), dtype="float32", seed=self.seed_generator)
        q0 = ops.sign(p0 - r0)
        q0 = q0 + (1.0 - ops.abs(q0))
        q1 = ops.sign(p1 - r1)
        q1 = q1 + (1.0 - ops.abs(q1))
        q = (q0 + q1) / 2.0
        self.scale = scale
        return _output(self.alpha, x, scale * q)

    def get_config(self) -> dict:
        return {
            "alpha": self.alpha,
            "threshold": self.threshold,
            "temperature": self.temperature,
            "use_real_sigmoid": self.use_real_sigmoid,
            "number_of_unrolls": self.number_of_unrolls,
        }


# ---------------------------------------------------------------------------- bernoulli


@register_quantizer
class bernoulli(BaseQuantizer):  # noqa: N801 (QKeras name)
    """{0, scale}: a Bernoulli sample with probability sigmoid(temperature * x / std).

    QKeras 0.9.0 samples at inference too; here inference is deterministic (``x >= 0`` gives
    scale, i.e. the sample with r = 0.5) and only training samples. As in QKeras, get_config
    holds ``alpha`` only (temperature and use_real_sigmoid are not saved).
    """

    def __init__(self, alpha: Any = None, temperature: float = 6.0, use_real_sigmoid: bool = True):
        check_alpha_arg(type(self).__name__, alpha)
        check_number_arg(type(self).__name__, "temperature", temperature)
        self.alpha = alpha
        self.bits = 1
        self.temperature = temperature
        self.use_real_sigmoid = use_real_sigmoid
        self.default_alpha = 1.0
        self.scale = None

    def __str__(self) -> str:
        return _sigmoid_sampler_str("bernoulli", self)

    def to_spec(self) -> QuantSpec:
        return QuantSpec(keep_negative=0, integer=0, fractional=1, kind="stochastic")

    def is_stochastic(self) -> bool:
        return True

    def quantize(self, x: Any, training: bool = False) -> Any:
        x = ops.cast(x, "float32")
        q_ns = ops.sign(x)
        q_ns = q_ns + (1.0 - ops.abs(q_ns))
        q_ns = (q_ns + 1.0) / 2.0
        if training:
            if isinstance(self.alpha, str):
                std = _std(x, _reduce_axes(len(x.shape))) + F.EPSILON
            else:
                std = 1.0
            t = self.temperature * x / std
            p = ops.sigmoid(t) if self.use_real_sigmoid else F.internal_sigmoid(t)
            r = keras.random.uniform(ops.shape(x), dtype="float32", seed=self.seed_generator)
            q = ops.sign(p - r)
            q = q + (1.0 - ops.abs(q))
            q = (q + 1.0) / 2.0
        else:
            q = q_ns
        scale = F.get_scale(self.alpha, x, q_ns)
        self.scale = scale
        return _output(self.alpha, x, scale * q)

    def _set_trainable_parameter(self) -> None:
        if self.alpha is None:
            self.alpha = "auto_po2"

    def max(self) -> float:
        return _alpha_bound(self.alpha)

    def min(self) -> float:
        return 0.0

    def get_config(self) -> dict:
        return {"alpha": self.alpha}
