"""Quantization configuration scopes.

Layers read the innermost scope when they are constructed and store the resolved values in
their config, so a saved model reproduces itself regardless of the scope at load time::

    with hgq_compat.quantization_config(mode="hgq", granularity="per-element", beta=1e-5):
        model = build_my_qkeras_model()
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from typing import Any, Iterator

from .spec import check_choice, normalize_granularity

MODES = ("qkeras", "hgq")


@dataclasses.dataclass(frozen=True)
class QuantizationConfig:
    """Defaults for layers built inside a scope.

    mode: 'qkeras' (fixed bitwidths, QKeras numbers) or 'hgq' (trainable bitwidths).
    granularity: bitwidth sharing of HGQ-mode weight quantizers.
    activation_granularity: bitwidth sharing of HGQ-mode activation quantizers.
    beta: EBOPs weight in the loss (loss += beta * EBOPs), per layer.
    default_input_bits: bits assumed for an input that no quantizer produced (bits);
        16 matches hls4ml's default ap_fixed<16,6>.
    """

    mode: str = "qkeras"
    granularity: Any = "per-element"
    activation_granularity: Any = "per-element"
    beta: float = 0.0
    default_input_bits: float = 16.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", check_choice("mode", str(self.mode).lower(), MODES))
        object.__setattr__(self, "granularity", normalize_granularity(self.granularity, "granularity"))
        object.__setattr__(
            self, "activation_granularity", normalize_granularity(self.activation_granularity, "activation_granularity")
        )
        beta = self.beta
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or beta < 0:
            raise ValueError(f"beta={beta!r} is not accepted; accepted values: a number >= 0")
        object.__setattr__(self, "beta", float(beta))
        dib = self.default_input_bits
        if isinstance(dib, bool) or not isinstance(dib, (int, float)) or dib < 0:
            raise ValueError(f"default_input_bits={dib!r} is not accepted; accepted values: a number of bits >= 0")


_state = threading.local()


def current_config() -> QuantizationConfig:
    """The innermost active configuration (the defaults outside any scope)."""
    stack = getattr(_state, "stack", None)
    return stack[-1] if stack else QuantizationConfig()


@contextlib.contextmanager
def quantization_config(**overrides: Any) -> Iterator[QuantizationConfig]:
    """Context manager setting mode, granularity, beta, ... for layers built inside it."""
    base = current_config()
    accepted = {f.name for f in dataclasses.fields(QuantizationConfig)}
    unknown = sorted(set(overrides) - accepted)
    if unknown:
        raise ValueError(f"quantization_config got unknown arguments {unknown}; accepted: {sorted(accepted)}")
    cfg = dataclasses.replace(base, **overrides)
    stack = getattr(_state, "stack", None)
    if stack is None:
        stack = _state.stack = []
    stack.append(cfg)
    try:
        yield cfg
    finally:
        stack.pop()
