"""Base class, registry and lookup of the QKeras quantizers.

Each quantizer is a callable object (QKeras-mode numbers, straight-through gradient) that
also lowers itself to a `QuantSpec` (``to_spec``). Layers use the spec to build an HGQ
`FixedPointQuantizer` in HGQ mode; quantizers that are not fixed point refuse HGQ mode.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

import keras
import numpy as np
from keras import ops

from ..core.quantizer import FixedPointQuantizer
from ..core.spec import QuantSpec, normalize_granularity
from ..parsing import Call, parse_quantizer_string

QUANTIZERS: dict[str, type] = {}

NOT_IN_QKERAS = {
    "quantized_linear": "it does not exist in that release (hgq-compat follows QKeras 0.9.0); use "
                        "quantized_bits(bits, integer, alpha=1) for a fixed-point linear quantizer",
}
"""Names that look like QKeras quantizers but do not exist in QKeras 0.9.0."""


def register_quantizer(cls: type) -> type:
    """Register a QKeras quantizer class under its name (for strings, configs and Keras)."""
    QUANTIZERS[cls.__name__] = cls
    return keras.saving.register_keras_serializable(package="qkeras")(cls)


def check_bits(name: str, value: Any, minimum: int = 0) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or value < minimum:
        raise ValueError(f"{name}={value!r} is not accepted; accepted values: a number of bits >= {minimum}")




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

    def __call__(self, x: Any) -> Any:
        return self.quantize(x, training=False)

    def quantize(self, x: Any, training: bool = False) -> Any:
        """Quantize ``x`` with QKeras-mode numbers (float32)."""
        raise NotImplementedError(f"{type(self).__name__}.quantize")

    def to_spec(self) -> QuantSpec:
        """QKeras-mode `QuantSpec` (fixed bitwidths)."""
        raise NotImplementedError(f"{type(self).__name__}.to_spec")

    def hgq_spec(self, granularity: Any = "per-element") -> QuantSpec:
        """HGQ-mode `QuantSpec`: trainable bitwidths starting at this quantizer's values."""
        spec = self.to_spec()
        if spec.kind != "fixed":
            raise NotImplementedError(
                f"HGQ mode is not available for {self}: it is not a fixed-point quantizer "
                f"(kind {spec.kind!r}); use QKeras mode for it (see migration_guide/features.md)"
            )
        return spec.replace(
            trainable_f=True, trainable_i=spec.overflow != "WRAP", ste="clip",
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
        """QKeras' output mixing: exact ``xq`` when qnoise_factor is 1 and use_ste."""
        if use_ste:
            if qnoise_factor == 1.0:
                return ops.stop_gradient(xq) + (x - ops.stop_gradient(x))
            return x + ops.stop_gradient(qnoise_factor * (xq - x))
        return (1.0 - qnoise_factor) * x + ops.stop_gradient(qnoise_factor * xq)

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
        raise ValueError(f"unknown quantizer {name!r} in {source}; accepted quantizers: {_accepted_names()}")
    params = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(kwargs) - set(params))
    if unknown:
        raise ValueError(f"{name} got unknown keyword(s) {unknown} in {source}; accepted keywords: {params}")
    if len(args) > len(params):
        raise ValueError(f"{name} takes at most {len(params)} arguments ({params}), got {len(args)} in {source}")
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
            return _construct(name, (), dict(config), f"config {identifier!r}")
        return keras.activations.get(identifier)
    if isinstance(identifier, str):
        call = parse_quantizer_string(identifier)
        if call.name in NOT_IN_QKERAS:
            raise NotImplementedError(
                f"{call.name!r} in {identifier!r} is not part of QKeras 0.9.0: {NOT_IN_QKERAS[call.name]}")
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
            f"unknown quantizer {call.name!r} in {identifier!r}; accepted quantizers: {_accepted_names()} "
            "or a Keras activation name")
    if callable(identifier):
        return identifier
    raise ValueError(f"cannot interpret {identifier!r} as a quantizer; accepted: a quantizer object, string or config dict")


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
    return _construct(call.name, args, kwargs, repr(source))


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
        super().__init__(**kwargs)
        self.quantizer = get_quantizer(quantizer)
        self.spec = self.quantizer.to_spec()
        if self.quantizer.is_stochastic():
            self.seed_generator = self.quantizer.seed_generator  # tracked by the layer

    def call(self, x: Any, training: bool | None = None) -> Any:
        return self.quantizer.quantize(x, training=bool(training))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

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


def quantizer_function_kind(q: Any) -> str:
    """'quantizer' for QKeras quantizer objects, 'activation' for plain callables."""
    return "quantizer" if isinstance(q, BaseQuantizer) else "activation"


def is_quantizer(q: Any) -> bool:
    return isinstance(q, BaseQuantizer)

