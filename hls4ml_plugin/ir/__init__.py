"""The IR layer of the plugin: what handlers (converters) and passes both depend on, as in hls4ml.

- `attr`: the keys of what the plugin records on IR nodes and models (`Attr`).
- `quantizer`: the per-element quantizer node (`FixedPointQuantizer`) and its bit_exact rules.
- `layers`: depthwise, scale-shift, global-pooling and zero-padding nodes and their bit_exact rules.
- `lut`: the lookup-table node (`UnaryLUT`), its rules, and the functions its tables tabulate (`LutFunction`).
- `exactness`: which constants hls4ml holds exactly, refusal messages, the opt-in to inexact exports.
- `limits`: hls4ml's limits, in one place.

Handlers and passes import this package and never each other.
"""

from __future__ import annotations

from .attr import Attr
from .exactness import ExactnessError
from .layers import register_ir_layers
from .lut import register_lut_ir
from .quantizer import (
    IR_CLASS_NAME,
    ROUND_MODES,
    FixedPointQuantizer,
    describe,
    mask_kbi,
    quantizer_config,
    register_quantizer_ir,
)


def register_ir() -> None:
    """Register every IR layer of the plugin and its bit_exact rules with hls4ml (idempotent)."""
    register_quantizer_ir()
    register_ir_layers()
    register_lut_ir()


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
