"""QKeras master's ``quantized_linear``: the updated linear (fixed-point) quantizer.

Not in QKeras 0.9.0; signature, numbers and gradient follow google/qkeras master (commit
78ea90f): ``x + qnoise_factor * (xq - x)`` with ``xq = round(clip(x / s, lo, hi)) * s``, where
the quantization scale ``s`` is ``alpha * 2**(integer - bits + keep_negative)`` (alpha None: 1),
or fitted to the data for alpha 'auto' (max |x| per channel) or 'auto_po2' (a power of two
refined by least squares).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from keras import ops

from ..core.spec import QuantSpec
from . import functions as F
from .base import (
    MAX_INTEGER,
    BaseQuantizer,
    _is_number,
    check_alpha_arg,
    check_bits,
    check_flag_arg,
    check_int_arg,
    check_number_arg,
    register_quantizer,
)


@register_quantizer
class quantized_linear(BaseQuantizer):  # noqa: N801 (QKeras name)
    """Linear quantization to ``bits`` bits (sign included), QKeras master.

    Args:
        bits: total bits (>= 1).
        integer: integer bits (sign excluded); sets the data type scale
            ``2**(integer - bits + keep_negative)``.
        symmetric: if true, as many negative as positive levels (default 1, unlike quantized_bits).
        keep_negative: if false, negative inputs clip to 0.
        alpha: None, a number or array (scale in units of the data type scale), 'auto' or 'auto_po2'.
        use_stochastic_rounding: stochastic rounding in training calls.
        scale_axis: the channel axis of the 'auto'/'auto_po2' scales (default: the last).
        qnoise_factor: 0 (identity) to 1 (fully quantized).

    With ``bits == 1`` and ``keep_negative`` the quantizer is a scaled sign: ``+-s/2``.
    """

    ALPHA_STRING_OPTIONS = ("auto", "auto_po2")

    def __init__(
        self,
        bits: int = 8,
        integer: int = 0,
        symmetric: int = 1,
        keep_negative: bool = True,
        alpha: Any = None,
        use_stochastic_rounding: bool = False,
        scale_axis: int | None = None,
        qnoise_factor: float = 1.0,
        var_name: str | None = None,
        use_variables: bool = False,
    ):
        name = "quantized_linear"
        check_bits(name, bits, 1)
        check_int_arg(name, "integer", integer, -MAX_INTEGER, MAX_INTEGER)
        for flag, value in (
            ("symmetric", symmetric),
            ("keep_negative", keep_negative),
            ("use_stochastic_rounding", use_stochastic_rounding),
        ):
            check_flag_arg(name, flag, value)
        if alpha is not None and not isinstance(alpha, str) and not _is_number(alpha):
            alpha = np.asarray(ops.convert_to_numpy(alpha), dtype=np.float32)  # a tensor (e.g. another's scale)
        check_alpha_arg(name, alpha)
        check_number_arg(name, "qnoise_factor", qnoise_factor)
        self._bits = bits
        self._integer = integer
        self._keep_negative = keep_negative
        self._use_stochastic_rounding = use_stochastic_rounding
        self._scale_axis = scale_axis
        self._use_variables = use_variables
        self.var_name = var_name
        self.alpha = alpha
        self.qnoise_factor = qnoise_factor
        self.symmetric = symmetric
        self.quantization_scale = self.default_quantization_scale

    # ---------------------------------------------------------------- QKeras' read-only attributes
    bits = property(lambda self: self._bits)
    integer = property(lambda self: self._integer)
    keep_negative = property(lambda self: self._keep_negative)
    use_stochastic_rounding = property(lambda self: self._use_stochastic_rounding)
    scale_axis = property(lambda self: self._scale_axis)
    use_variables = property(lambda self: self._use_variables)

    @property
    def data_type_scale(self) -> float:
        """Step of the data type, 2**(integer - bits + keep_negative)."""
        return float(2.0 ** (self.integer - self.bits + int(bool(self.keep_negative))))

    @property
    def auto_alpha(self) -> bool:
        return isinstance(self.alpha, str)

    @property
    def use_sign_function(self) -> bool:
        return self.bits == 1 and bool(self.keep_negative)

    @property
    def default_quantization_scale(self) -> Any:
        if self.alpha is not None and not self.auto_alpha:
            return np.float32(self.alpha) * np.float32(self.data_type_scale)
        return np.float32(self.data_type_scale)

    @property
    def scale(self) -> Any:
        """quantization_scale / data_type_scale (what ``alpha`` sets)."""
        return self.quantization_scale / np.float32(self.data_type_scale)

    def get_clip_bounds(self) -> tuple[float, float]:
        """Clip range of x / quantization_scale (integers but for the sign function's +-0.5)."""
        if self.use_sign_function:
            return -0.5, 0.5
        m = float(2.0 ** (self.bits - int(bool(self.keep_negative))))
        return float(bool(self.keep_negative)) * (-m + float(self.symmetric)), m - 1.0

    # ---------------------------------------------------------------- numbers
    def quantize(self, x: Any, training: bool = False) -> Any:
        x = ops.cast(x, "float32")
        if self.auto_alpha:
            scale = self._auto_quantization_scale(x, training)
        else:
            scale = self.quantization_scale
        xq = ops.multiply(self._scale_clip_and_round(x, scale, training), scale)  # ops: scale may be NumPy
        return x + self.qnoise_factor * (xq - x)

    def _scale_clip_and_round(self, x: Any, scale: Any, training: bool) -> Any:
        shift = 0.5 if self.use_sign_function else 0.0  # a sign function: round x/s - 0.5 in [-1, 0]
        lo, hi = self.get_clip_bounds()
        clipped = F.clip(ops.divide(x, scale), lo, hi)
        stoch = bool(self.use_stochastic_rounding)
        seed = self.seed_generator if stoch and training else None
        return F.round_through(clipped - shift, stoch, 1.0, training, seed) + shift

    def _auto_quantization_scale(self, x: Any, training: bool) -> Any:
        axes = F.channel_axes(len(x.shape), self.scale_axis)
        lo, hi = self.get_clip_bounds()
        if self.keep_negative:
            data_max = ops.abs(x)
            data_max = ops.max(data_max, axis=axes, keepdims=True) if axes else data_max
            scale = (data_max * 2.0) / (hi - lo)
        else:
            data_max = ops.max(x, axis=axes, keepdims=True) if axes else x
            scale = data_max / (hi - lo)
        scale = ops.maximum(scale, F.EPSILON)
        if self.alpha == "auto_po2":
            scale = F.po2_round(scale)
            # QKeras iterates while any channel's scale changes (at most 5 times, 1 for a sign); each channel's
            # refinement depends on that channel only, so iterating the full count gives the same scales
            for _ in range(1 if self.use_sign_function else 5):
                scale = F.get_scale("auto_po2", x, self._scale_clip_and_round(x, scale, training), self.scale_axis)
        self.quantization_scale = ops.stop_gradient(scale)
        return self.quantization_scale

    # ---------------------------------------------------------------- lowering and QKeras API
    def _is_unit_alpha(self) -> bool:
        return self.alpha is None or (not self.auto_alpha and bool(np.all(np.asarray(self.alpha) == 1)))

    def to_spec(self) -> QuantSpec:
        """Fixed point (RND_CONV, SAT or SAT_SYM) for alpha None or 1; other forms are QKeras mode only."""
        k = int(bool(self.keep_negative))
        kind = "fixed"
        if self.use_sign_function:
            kind = "binary"
        elif self.auto_alpha:
            kind = "function"  # data-dependent scale: QKeras mode only
        elif not self._is_unit_alpha():
            kind = "float_scale"
        elif self.qnoise_factor != 1.0:
            kind = "function"
        return QuantSpec.from_bits(
            self.bits,
            self.integer,
            k,
            round_mode="S_RND_CONV" if self.use_stochastic_rounding else "RND_CONV",
            overflow="SAT_SYM" if self.symmetric and k else "SAT",
            kind=kind,
        )

    def _set_trainable_parameter(self) -> None:
        if self.alpha is None:
            self.alpha = "auto_po2"
            self.symmetric = True

    def _scale_value(self) -> np.ndarray:
        return np.asarray(ops.convert_to_numpy(self.quantization_scale), dtype=np.float32)

    def max(self) -> Any:
        """Largest output: clip_max * quantization_scale (per channel after an auto call)."""
        v = np.float32(self.get_clip_bounds()[1]) * self._scale_value()
        return float(v) if v.size == 1 else v

    def min(self) -> Any:
        """Smallest output: clip_min * quantization_scale."""
        v = np.float32(self.get_clip_bounds()[0]) * self._scale_value()
        return float(v) if v.size == 1 else v

    def range(self) -> np.ndarray:
        """All outputs: codes 0..clip_max then clip_min..-1, times the scale ([max, min] for a sign)."""
        if self.use_sign_function:
            return np.array([self.max(), self.min()], dtype=np.float32)
        lo, hi = self.get_clip_bounds()
        codes = np.concatenate([np.arange(int(hi) + 1), np.arange(int(lo), 0)]).astype(np.float32)
        return self._scale_value() * codes

    def __str__(self) -> str:
        flags = [str(int(self.bits)), str(int(self.integer)), str(int(self.symmetric))]
        if not self.keep_negative:
            flags.append("keep_negative=False")
        if self.auto_alpha:
            flags.append(f"alpha='{self.alpha}'")
        elif self.alpha is not None:
            flags.append("alpha=" + str(np.array(self.alpha)))
        if self.use_stochastic_rounding:
            flags.append("use_stochastic_rounding=" + str(int(self.use_stochastic_rounding)))
        return "quantized_linear(" + ",".join(flags) + ")"

    def get_config(self) -> dict:
        alpha = self.alpha.tolist() if isinstance(self.alpha, np.ndarray) else self.alpha
        return {
            "bits": self.bits,
            "integer": self.integer,
            "symmetric": self.symmetric,
            "alpha": alpha,
            "keep_negative": self.keep_negative,
            "use_stochastic_rounding": self.use_stochastic_rounding,
            "qnoise_factor": self.qnoise_factor,
        }
