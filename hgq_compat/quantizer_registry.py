"""QKeras ``qkeras.quantizer_registry`` (master): register and look up quantizer classes.

Backed by hgq_compat's quantizer table, so a registered class is also usable in quantizer
strings and configs (``get_quantizer``)."""

from __future__ import annotations

from .quantizers import QUANTIZERS
from .quantizers import register_quantizer as _register


def register_quantizer(quantizer: type) -> type:
    """Decorator: register ``quantizer`` under its class name; returns it unchanged."""
    _register(quantizer)
    return quantizer


def lookup_quantizer(name: str) -> type:
    """The quantizer class registered as ``name``; KeyError if there is none (as QKeras)."""
    return QUANTIZERS[name]


__all__ = ["lookup_quantizer", "register_quantizer"]
