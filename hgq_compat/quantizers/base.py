"""Base class, registry and lookup of the QKeras quantizers.

Each quantizer is a callable object (QKeras-mode numbers, straight-through gradient) that
also lowers itself to a `QuantSpec` (``to_spec``). Layers use the spec to build an HGQ
`FixedPointQuantizer` in HGQ mode; quantizers that are not fixed point refuse HGQ mode.
"""

from __future__ import annotations

import inspect
from typing import Any

import keras
import numpy as np
from keras import ops

from ..core.quantizer import FixedPointQuantizer, float32_dtype
from ..core.spec import QuantSpec, normalize_granularity
from ..parsing import Call, parse_quantizer_string, snippet

QUANTIZERS: dict[str, type] = {}

NOT_IN_QKERAS: dict[str, str] = {}
"""Names that look like QKeras quantizers but do not exist in QKeras 0.9.0."""


def register_quantizer(cls: type) -> type:
    """Register a QKeras quantizer class under its name (for strings, configs and Keras)."""
    QUANTIZERS[cls.__name__] = cls
    return keras.saving.register_keras_serializable(package="qkeras")(cls)


MAX_BITS = 32
"""Largest bits accepted by any quantizer."""

MAX_INTEGER = 100
"""Largest |integer| of quantized_bits / quantized_relu: 2**integer and the step stay well inside float32's
range (QKeras' own tests use integer=100)."""

_NUMBER_TYPES = (int, float, np.integer, np.floating)


def _show(value: Any, width: int = 80) -> str:
    """``repr(value)``, cut to ``width`` characters."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _is_number(value: Any) -> bool:
    return isinstance(value, _NUMBER_TYPES) and not isinstance(value, (bool, np.bool_))


def check_int_arg(quantizer: str, name: str, value: Any, minimum: int = 0, maximum: int = MAX_BITS) -> None:
    """ValueError naming ``quantizer`` and ``name`` unless ``value`` is an integer (or a float equal
    to one) within [minimum, maximum]; checked before any 2**value is computed."""
    ok = _is_number(value)
    if ok and isinstance(value, (float, np.floating)):
        ok = bool(np.isfinite(value)) and float(value).is_integer()
    if not (ok and minimum <= value <= maximum):
        raise ValueError(
            f"{quantizer}: {name}={_show(value)} is not accepted; accepted values: an integer from "
            f"{minimum} to {maximum}"
        )


def check_bits(quantizer: str, value: Any, minimum: int = 0) -> None:
    """`check_int_arg` for a ``bits`` argument: an integer from ``minimum`` to `MAX_BITS`."""
    check_int_arg(quantizer, "bits", value, minimum, MAX_BITS)


def check_number_arg(
    quantizer: str, name: str, value: Any, minimum: float | None = None, allow_none: bool = False
) -> None:
    """ValueError unless ``value`` is a finite number (>= ``minimum`` if given), or None if allowed."""
    if value is None and allow_none:
        return
    try:
        ok = _is_number(value) and bool(np.isfinite(float(value)))
    except OverflowError:  # an int beyond float range
        ok = False
    if not ok or (minimum is not None and value < minimum):
        what = "a finite number" + (f" >= {minimum:g}" if minimum is not None else "")
        raise ValueError(
            f"{quantizer}: {name}={_show(value)} is not accepted; accepted values: "
            + ("None or " if allow_none else "")
            + what
        )


def check_flag_arg(quantizer: str, name: str, value: Any) -> None:
    """ValueError unless ``value`` is a bool or a number (QKeras uses its truth value)."""
    if not isinstance(value, (bool, np.bool_)) and not _is_number(value):
        raise ValueError(f"{quantizer}: {name}={_show(value)} is not accepted; accepted values: True/False or 0/1")


def check_power_of_two_slope(quantizer: str, value: Any) -> None:
    """``negative_slope``: 0 or a positive power of two (finite)."""
    check_number_arg(quantizer, "negative_slope", value)
    if value < 0 or (value != 0 and np.mod(np.log2(float(value)), 1) != 0):
        raise ValueError(
            f"{quantizer}: negative_slope={_show(value)} is not accepted; accepted values: 0 or a power of two"
        )


def check_alpha_arg(quantizer: str, alpha: Any) -> None:
    """``alpha``: None, 'auto', 'auto_po2', a finite number or an array of finite numbers."""
    if alpha is None or (isinstance(alpha, str) and alpha in ("auto", "auto_po2")):
        return
    ok = False
    if _is_number(alpha) or isinstance(alpha, (list, tuple, np.ndarray)):
        try:
            arr = np.asarray(alpha, dtype=np.float64)
            ok = arr.size > 0 and bool(np.all(np.isfinite(arr)))
        except (TypeError, ValueError, OverflowError):
            ok = False
    if not ok:
        raise ValueError(
            f"{quantizer}: alpha={_show(alpha)} is not accepted; accepted values: None, a finite number "
            "(or an array of them), 'auto', 'auto_po2'"
        )


class BaseQuantizer:
    """Common behaviour of QKeras quantizer objects."""

    bits: float = 0

    @property
    def seed_generator(self) -> Any:
        """The `keras.random.SeedGenerator` of this quantizer's random draws (created on first use)."""
        sg = self.__dict__.get("_seed_generator")
        if sg is None:
            sg = keras.random.SeedGenerator()
            self.__dict__["_seed_generator"] = sg
        return sg

    def is_stochastic(self) -> bool:
        """True if training-mode outputs are random."""
        return bool(getattr(self, "use_stochastic_rounding", False))

    def __call__(self, x: Any, training: bool | None = None) -> Any:
        """Quantize ``x`` as QKeras does. ``training=True`` selects the training-time behaviour of the
        stochastic quantizers (stochastic rounding / sampling), which QKeras takes from Keras 2's
        learning phase; None or False is inference (Keras 3 has no global learning phase)."""
        return self.quantize(x, training=False if training is None else training)

    def quantize(self, x: Any, training: bool = False) -> Any:
        """Quantize ``x`` with QKeras-mode numbers (float32)."""
        raise NotImplementedError(f"{type(self).__name__}.quantize")

    def to_spec(self) -> QuantSpec:
        """QKeras-mode `QuantSpec` (fixed bitwidths)."""
        raise NotImplementedError(f"{type(self).__name__}.to_spec")

    def hgq_spec(self, granularity: Any = "per-element") -> QuantSpec:
        """HGQ-mode `QuantSpec`: trainable bitwidths starting at this quantizer's values."""
        spec = self.to_spec()
        if not spec.is_fixed_point:
            raise NotImplementedError(
                f"HGQ mode is not available for {self}: it is not a fixed-point quantizer "
                f"(kind {spec.kind!r}); use QKeras mode for it (see migration_guide/features.md)"
            )
        return spec.replace(
            trainable_f=True,
            trainable_i=spec.overflow != "WRAP",
            ste="clip",
            granularity=normalize_granularity(granularity),
        )

    def update_qnoise_factor(self, qnoise_factor: Any) -> None:
        """Set the quantization-noise factor (0: identity, 1: fully quantized) used by later calls."""
        self.qnoise_factor = float(np.asarray(keras.ops.convert_to_numpy(qnoise_factor)))

    def _set_trainable_parameter(self) -> None:
        """QKeras hook called by weight layers; alpha=None kernels become 'auto_po2'."""

    def max(self) -> float:
        return 1.0

    def min(self) -> float:
        return 0.0

    def _ste(self, x: Any, xq: Any, qnoise_factor: float, use_ste: bool) -> Any:
        """QKeras' output mixing, literally (`functions.qkeras_output`): ``x + sg(xq - x)`` is ``xq``
        exactly while |x| < 2**24 quantization steps, NaN for +-inf, and, as in QKeras, loses
        ``xq`` to float32 cancellation beyond (migration guide, 'Errors and bad input')."""
        from .functions import qkeras_output

        return qkeras_output(x, xq, qnoise_factor, use_ste)

    @classmethod
    def from_config(cls, config: dict) -> "BaseQuantizer":
        return cls(**config)

    def get_config(self) -> dict:
        raise NotImplementedError

    def __repr__(self) -> str:
        return str(self)

    def __eq__(self, other: Any) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash(str(self))


# ---------------------------------------------------------------------------- lookup


def _accepted_names() -> str:
    return ", ".join(sorted(QUANTIZERS))


def _construct(name: str, args: tuple, kwargs: dict, source: str) -> BaseQuantizer:
    cls = QUANTIZERS.get(name)
    if cls is None:
        raise ValueError(
            f"unknown quantizer {snippet(str(name))} in {source}; accepted quantizers: {_accepted_names()}"
        )
    params = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(kwargs) - set(params))
    if unknown:
        raise ValueError(f"{name} got unknown keyword(s) {_show(unknown)} in {source}; accepted keywords: {params}")
    if len(args) > len(params):
        raise ValueError(f"{name} takes at most {len(params)} arguments ({params}), got {len(args)} in {source}")
    twice = [p for p in params[: len(args)] if p in kwargs]
    if twice:
        raise ValueError(f"{name} got {twice[0]!r} both as a positional and as a keyword argument in {source}")
    return cls(*args, **kwargs)


def get_quantizer(identifier: Any) -> Any:
    """QKeras' ``get_quantizer``: a quantizer from an object, a string or a config dict.

    Strings that name a Keras activation ('relu', 'softmax', ...) give that activation.
    """
    if identifier is None:
        return None
    if isinstance(identifier, BaseQuantizer):
        return identifier
    if isinstance(identifier, dict):
        name = identifier.get("class_name")
        config = identifier.get("config", {}) or {}
        if name in NOT_IN_QKERAS:
            raise NotImplementedError(f"{name!r} is not part of QKeras 0.9.0: {NOT_IN_QKERAS[name]}")
        if name in QUANTIZERS:
            return _construct(name, (), dict(config), f"config {_show(identifier)}")
        return keras.activations.get(identifier)
    if isinstance(identifier, str):
        call = parse_quantizer_string(identifier)
        if call.name in NOT_IN_QKERAS:
            raise NotImplementedError(
                f"{call.name!r} in {snippet(identifier)} is not part of QKeras 0.9.0: {NOT_IN_QKERAS[call.name]}"
            )
        if call.name in QUANTIZERS:
            return _from_call(call, identifier)
        if "(" not in identifier:
            from .functions import QKERAS_FUNCTIONS

            if call.name in QKERAS_FUNCTIONS:
                return QKERAS_FUNCTIONS[call.name]
            try:
                return keras.activations.get(identifier)
            except ValueError:
                pass
        raise ValueError(
            f"unknown quantizer {snippet(call.name)} in {snippet(identifier)}; accepted quantizers: {_accepted_names()} "
            "or a Keras activation name"
        )
    if callable(identifier):
        return identifier
    raise ValueError(
        f"cannot interpret {_show(identifier)} as a quantizer; accepted: a quantizer object, string or config dict"
    )


def _argument(value: Any, source: str) -> Any:
    """A parsed argument: nested quantizer calls are built; a bare name that is no quantizer
    (``alpha=auto_po2``) is taken as that string (QKeras' safe_eval mangles it to 'uto_po')."""
    if isinstance(value, Call):
        if not value.args and not value.kwargs and value.name not in QUANTIZERS:
            return value.name
        return _from_call(value, source)
    return value


def _from_call(call: Call, source: str) -> BaseQuantizer:
    if call.name in NOT_IN_QKERAS:
        raise NotImplementedError(f"{call.name!r} in {source} is not part of QKeras 0.9.0: {NOT_IN_QKERAS[call.name]}")
    args = tuple(_argument(a, source) for a in call.args)
    kwargs = {k: _argument(v, source) for k, v in call.kwargs.items()}
    return _construct(call.name, args, kwargs, snippet(source))


def serialize_quantizer(q: Any) -> Any:
    """QKeras-style config: ``{'class_name': name, 'config': {...}}``, an activation name, or None."""
    if q is None:
        return None
    if isinstance(q, BaseQuantizer):
        return {"class_name": type(q).__name__, "config": q.get_config()}
    return keras.activations.serialize(q)


# ---------------------------------------------------------------------------- layers


@keras.saving.register_keras_serializable(package="hgq_compat")
class QKerasModeQuantizer(keras.layers.Layer):
    """Applies a QKeras quantizer object with QKeras numbers; no variables."""

    def __init__(self, quantizer: Any, **kwargs: Any):
        kwargs["dtype"] = float32_dtype(kwargs.get("dtype"), type(self).__name__)
        super().__init__(**kwargs)
        self.quantizer = get_quantizer(quantizer)
        self.spec = self.quantizer.to_spec()
        if self.quantizer.is_stochastic():
            self.seed_generator = self.quantizer.seed_generator  # tracked by the layer

    def call(self, x: Any, training: bool | None = None) -> Any:
        return self.quantizer.quantize(x, training=bool(training))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def __str__(self) -> str:
        """The QKeras quantizer's string (what ``str(layer.kernel_quantizer_internal)`` gives in QKeras)."""
        return str(self.quantizer)

    def bits(self) -> Any:
        """Bitwidth (bits) as a scalar tensor."""
        return ops.convert_to_tensor(np.float32(max(self.spec.bits, 0.0)))

    def get_config(self) -> dict:
        config = super().get_config()
        config["quantizer"] = serialize_quantizer(self.quantizer)
        return config


def make_quantizer_layer(quantizer: Any, mode: str, granularity: Any, is_weight: bool, name: str) -> keras.layers.Layer:
    """The layer that applies ``quantizer`` in ``mode`` ('qkeras' or 'hgq')."""
    if isinstance(quantizer, (FixedPointQuantizer, QKerasModeQuantizer)):
        return quantizer
    if isinstance(quantizer, QuantSpec):
        return FixedPointQuantizer(quantizer, is_weight=is_weight, name=name)
    if mode == "hgq":
        return FixedPointQuantizer(quantizer.hgq_spec(granularity), is_weight=is_weight, name=name)
    return QKerasModeQuantizer(quantizer, name=name)


def is_quantizer(q: Any) -> bool:
    return isinstance(q, BaseQuantizer)
