"""The IR layer of the plugin: what handlers (converters) and passes both depend on, as in hls4ml.

- `attr`: the keys of what the plugin records on IR nodes and models (`Attr`).
- `quantizer`: the per-element quantizer node (`FixedPointQuantizer`) and its bit_exact rules.
- `layers`: depthwise, scale-shift, global-pooling and zero-padding nodes and their bit_exact rules.
- `lut`: the lookup-table node (`UnaryLUT`), its rules, and the functions its tables tabulate (`LutFunction`).
- `exactness`: which constants hls4ml holds exactly, refusal messages, the opt-in to inexact exports.
- `limits`: hls4ml's limits, in one place.

Handlers and passes import this package and never each other.

Only `attr` and `exactness` (and `limits`) are imported with the package: the other submodules import
hls4ml, whose plugin entry point imports handlers that import this package, so this package must be
complete while hls4ml is loading. Their names (`FixedPointQuantizer`, `describe`, ...) load on first
use, after hls4ml (module ``__getattr__``); `register_ir` loads the rest. Import those names from this
package (or import hls4ml first), not from their submodules, when hls4ml may not be loaded yet.
"""

from __future__ import annotations

from typing import Any

from .attr import Attr
from .exactness import ExactnessError

_FROM_QUANTIZER = frozenset(
    {"FixedPointQuantizer", "IR_CLASS_NAME", "ROUND_MODES", "describe", "mask_kbi", "quantizer_config"}
)
"""Names of `quantizer` (an hls4ml-dependent module) that this package gives on first use."""


def _load_hls4ml() -> None:
    """Import hls4ml before an hls4ml-dependent submodule: hls4ml's plugin entry point then registers
    the plugin, which needs that submodule, before the submodule starts (inside ``import hls4ml``,
    which is the usual case, hls4ml is already in ``sys.modules`` and this returns at once)."""
    import hls4ml  # noqa: F401


def register_ir() -> None:
    """Register every IR layer of the plugin and its bit_exact rules with hls4ml (idempotent)."""
    _load_hls4ml()
    from .layers import register_ir_layers
    from .lut import register_lut_ir
    from .quantizer import register_quantizer_ir

    register_quantizer_ir()
    register_ir_layers()
    register_lut_ir()


def __getattr__(name: str) -> Any:
    if name not in _FROM_QUANTIZER:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    _load_hls4ml()
    from . import quantizer

    try:
        return getattr(quantizer, name)
    except AttributeError:  # still loading: it started hls4ml, whose plugin registration asks for it
        raise ImportError(f"{name} of {quantizer.__name__}: that module was imported before hls4ml") from None


def __dir__() -> list[str]:
    return sorted(set(globals()) | _FROM_QUANTIZER)


__all__ = [
    "Attr",
    "ExactnessError",
    "FixedPointQuantizer",
    "IR_CLASS_NAME",
    "ROUND_MODES",
    "describe",
    "mask_kbi",
    "quantizer_config",
    "register_ir",
]
