"""`QuantSpec`: the one value type that describes a quantizer.

Every QKeras quantizer, HGQ quantizer, legacy config and hls4ml export speaks this type.
Fixed-point parameters follow the HGQ convention: keep_negative ``k`` (0 or 1), integer
bits ``i`` (excluding the sign bit) and fractional bits ``f``; the total bitwidth is
``k + i + f`` bits, the step is ``2**-f`` and the range is ``[-k * 2**i, 2**i - 2**-f]``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

ROUND_MODES = ("TRN", "RND", "RND_CONV", "RND_INF", "S_RND", "S_RND_CONV")
"""TRN: floor. RND: half up. RND_CONV: half to even. RND_INF: half away from zero.
S_RND / S_RND_CONV: stochastic while training, RND / RND_CONV at inference."""

OVERFLOW_MODES = ("WRAP", "SAT", "SAT_SYM")
GRANULARITIES = ("per-tensor", "per-channel", "per-element")
KINDS = ("fixed", "float_scale", "po2", "ulaw", "binary", "ternary", "stochastic", "function")
"""'fixed' is a plain fixed-point quantizer, every other kind is not and is refused by the
HGQ machinery and by the hls4ml plugin where it has no exact counterpart."""
PREFNS = (None, "relu", "hard_tanh", "hard_sigmoid")
STE_MODES = ("identity", "clip")
"""identity: d(xq)/dx = 1 everywhere (QKeras quantized_bits). clip: 1 inside the range, 0
outside (QKeras quantized_relu, and HGQ, where the clipped gradient goes to the bounds)."""

MAX_BITS = 32


def _accepted(values: Sequence[Any]) -> str:
    return ", ".join(repr(v) for v in values)


def check_choice(argument: str, value: Any, accepted: Sequence[Any]) -> Any:
    """Return ``value`` if it is one of ``accepted``, else raise a ValueError naming it."""
    if isinstance(value, str) and value.upper() in [a for a in accepted if isinstance(a, str)]:
        return value.upper()
    if value in accepted:
        return value
    raise ValueError(f"{argument}={value!r} is not accepted; accepted values: {_accepted(accepted)}")


def normalize_granularity(value: Any, argument: str = "granularity") -> str | tuple[int, ...]:
    """Granularity is one of GRANULARITIES or a tuple of axes that share one bitwidth.

    Axes count the tensor's own dimensions: for activations the batch axis is excluded,
    so axis 0 is the first feature axis. Negative axes count from the end.
    """
    if isinstance(value, str):
        v = value.lower().replace("_", "-")
        if v in GRANULARITIES:
            return v
        raise ValueError(
            f"{argument}={value!r} is not accepted; accepted values: {_accepted(GRANULARITIES)} "
            "or a tuple of integer axes that share a bitwidth"
        )
    if isinstance(value, (list, tuple)) and all(isinstance(a, int) and not isinstance(a, bool) for a in value):
        return tuple(int(a) for a in value)
    raise ValueError(
        f"{argument}={value!r} is not accepted; accepted values: {_accepted(GRANULARITIES)} "
        "or a tuple of integer axes that share a bitwidth"
    )


def shared_axes(granularity: str | tuple[int, ...], rank: int, argument: str = "granularity") -> tuple[int, ...]:
    """Axes (of a tensor of ``rank`` dims, no batch axis) along which one bitwidth is shared."""
    if granularity == "per-tensor":
        return tuple(range(rank))
    if granularity == "per-channel":
        return tuple(range(rank - 1))
    if granularity == "per-element":
        return ()
    axes = []
    for a in granularity:
        if not -rank <= a < rank:
            raise ValueError(
                f"{argument}={granularity!r} does not fit a tensor of rank {rank} "
                f"(batch axis excluded); accepted axes: {list(range(-rank, rank))}"
            )
        axes.append(a % rank)
    return tuple(sorted(set(axes)))


def bitwidth_shape(
    granularity: str | tuple[int, ...], shape: Sequence[int | None], argument: str = "granularity"
) -> tuple[int, ...]:
    """Shape of the bitwidth variables for a tensor of ``shape`` (no batch axis)."""
    axes = shared_axes(granularity, len(shape), argument)
    out = []
    for n, d in enumerate(shape):
        if n in axes:
            out.append(1)
        elif d is None:
            raise ValueError(
                f"{argument}={granularity!r} needs a known size on axis {n} of shape {tuple(shape)}; "
                "share the bitwidth along that axis or give the input a fixed shape"
            )
        else:
            out.append(int(d))
    return tuple(out)


@dataclasses.dataclass(frozen=True)
class QuantSpec:
    """A quantizer description.

    ``integer`` and ``fractional`` are the initial (or fixed) integer and fractional bits;
    trainable bitwidths start there. For ``kind != 'fixed'`` the fixed-point fields are
    advisory only (bitwidth used for EBOPs accounting).
    """

    keep_negative: int = 1
    integer: float = 0.0
    fractional: float = 8.0
    round_mode: str = "RND_CONV"
    overflow: str = "SAT"
    granularity: str | tuple[int, ...] = "per-tensor"
    trainable_i: bool = False
    trainable_f: bool = False
    range_tracking: bool = False
    ste: str = "identity"
    prefn: str | None = None
    po2_scale: str | None = None
    scale_axis: int | None = None
    kind: str = "fixed"

    def __post_init__(self) -> None:
        k = self.keep_negative
        if isinstance(k, bool):
            object.__setattr__(self, "keep_negative", int(k))
        elif k not in (0, 1):
            raise ValueError(f"keep_negative={k!r} is not accepted; accepted values: 0, 1, False, True")
        for name in ("integer", "fractional"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ValueError(f"{name}={v!r} is not accepted; accepted values: a number of bits")
            object.__setattr__(self, name, float(v))
        if self.bits < 0:
            raise ValueError(
                f"bits={self.bits:g} (keep_negative={self.keep_negative} + integer={self.integer:g} + "
                f"fractional={self.fractional:g}) is negative; accepted values: >= 0"
            )
        if self.bits > MAX_BITS:
            raise ValueError(f"bits={self.bits:g} is not accepted; accepted values: 0 to {MAX_BITS}")
        object.__setattr__(self, "round_mode", check_choice("round_mode", self.round_mode, ROUND_MODES))
        object.__setattr__(self, "overflow", check_choice("overflow", self.overflow, OVERFLOW_MODES))
        object.__setattr__(self, "granularity", normalize_granularity(self.granularity))
        check_choice("ste", self.ste, STE_MODES)
        check_choice("prefn", self.prefn, PREFNS)
        check_choice("po2_scale", self.po2_scale, (None, "auto_po2"))
        check_choice("kind", self.kind, KINDS)
        if self.range_tracking and self.overflow != "WRAP":
            raise ValueError(
                f"range_tracking=True needs overflow='WRAP' (got overflow={self.overflow!r}): "
                "SAT quantizers learn their integer bits instead"
            )

    @classmethod
    def from_bits(cls, bits: float, integer: float, keep_negative: int | bool = 1, **kwargs: Any) -> "QuantSpec":
        """Build from the (k, bits, integer) form: bits counts the sign bit."""
        if isinstance(bits, bool) or not isinstance(bits, (int, float)) or bits < 0:
            raise ValueError(f"bits={bits!r} is not accepted; accepted values: a number of bits >= 0")
        return cls(
            keep_negative=int(keep_negative), integer=integer, fractional=bits - int(keep_negative) - integer, **kwargs
        )

    @property
    def bits(self) -> float:
        """Total bitwidth k + i + f (bits)."""
        return self.keep_negative + self.integer + self.fractional

    @property
    def is_fixed_point(self) -> bool:
        """True for a fixed-point spec (kind 'fixed'); False for po2, binary, ternary, ... kinds."""
        return self.kind == "fixed"

    @property
    def trainable(self) -> bool:
        return self.trainable_i or self.trainable_f

    def replace(self, **changes: Any) -> "QuantSpec":
        return dataclasses.replace(self, **changes)

    def get_config(self) -> dict[str, Any]:
        cfg = dataclasses.asdict(self)
        if isinstance(cfg["granularity"], tuple):
            cfg["granularity"] = list(cfg["granularity"])
        return cfg

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "QuantSpec":
        config = dict(config)
        if isinstance(config.get("granularity"), list):
            config["granularity"] = tuple(config["granularity"])
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(config) - known)
        if unknown:
            raise ValueError(f"QuantSpec config has unknown keys {unknown}; accepted keys: {sorted(known)}")
        return cls(**config)
