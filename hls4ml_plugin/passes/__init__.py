"""Optimizer passes of hgq-compat, added to hls4ml's backend-independent 'convert' flow.

- `ApplyLayerConfig` (first): config['LayerName'] settings reach every node of a Keras layer
  (`layer_config`); Precision on inferred types is ignored with a warning.
- `DeclareInputPrecision` (before hls4ml's batch-norm fusion): float inputs take hls4ml's configured input type.
- `CheckExactness` (then): refuses what cannot be exact, naming the layer (a float batch norm before
  hls4ml fuses it into the preceding layer's weights).
- `RemoveRedundantQuantizers` (after 'bit_exact'): drops quantizer nodes that change no value.
- `RecordOutputNames` / `CopyAliasedOutputs` (before the fusion / appended): an output that the
  fusion turns into a model input gets a copy node (`outputs`).
- `KeepConsecutiveQuantizers` (then): keeps a quantizer after a fused one out of the fusion
  (`fusion`), which would otherwise overwrite the first one's type.
- `WidenInputPrecision` (after 'fix_input_precision'): exact float -> fixed input conversion.
- `RebuildLUTTables` (appended): lookup tables indexed for their final input type (`lut`).
- `CheckInferredTypes` (appended): refuses hls4ml code that is wrong for the inferred types.
- `CheckFloat32Accumulation` (last): warns where Keras' float32 arithmetic may round.

`PASSES` lists them with their places in the flow. The pass modules import hls4ml, whose plugin entry
point calls `register_passes`, so this package imports them only on use (after hls4ml), as `ir` does.
"""

from __future__ import annotations

from typing import Any

from ..ir.exactness import ExactnessError


def _passes() -> tuple:
    """`PASSES`, importing the pass modules (they import hls4ml)."""
    from .checks import CheckExactness, CheckFloat32Accumulation, CheckInferredTypes
    from .fusion import KeepConsecutiveQuantizers
    from .input_precision import DeclareInputPrecision, WidenInputPrecision
    from .layer_config import ApplyLayerConfig
    from .lut import RebuildLUTTables
    from .outputs import CopyAliasedOutputs, RecordOutputNames
    from .resources import RemoveRedundantQuantizers

    return (
        (ApplyLayerConfig, "channels_last_converter"),
        # before hls4ml fuses a float BatchNormalization into the layer before it (with config_from_keras_model's
        # 'auto' result types it does, silently changing quantized weights): the check must see the BN node
        (DeclareInputPrecision, "fuse_consecutive_batch_normalization"),
        (CheckExactness, "fuse_consecutive_batch_normalization"),
        (RemoveRedundantQuantizers, "fuse_fixed_point_quantizer"),
        (KeepConsecutiveQuantizers, "fuse_fixed_point_quantizer"),
        (RecordOutputNames, "fuse_fixed_point_quantizer"),
        (WidenInputPrecision, None),
        (RebuildLUTTables, None),
        (CopyAliasedOutputs, None),
        (CheckInferredTypes, None),
        (CheckFloat32Accumulation, None),
    )


def __getattr__(name: str) -> Any:
    if name != "PASSES":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import hls4ml  # noqa: F401  (before the pass modules: see the module docstring)

    return _passes()


def register_passes() -> None:
    """Register the passes and put them in the 'convert' flow (idempotent).

    ``Flow._add_optimizer`` appends; its DynamicFlow override is broken in hls4ml 1.3.0, and
    'convert' is a plain Flow, so insertion edits its list directly.
    """
    from hls4ml.model.flow import get_flow  # (hls4ml first: see the module docstring)
    from hls4ml.model.optimizer import get_available_passes, register_pass

    flow = get_flow("convert")
    for cls, before in _passes():
        if cls.name not in get_available_passes():
            register_pass(cls.name, cls)
        if cls.name in flow.optimizers:
            continue
        if before is not None and before in flow.optimizers:
            flow.optimizers.insert(flow.optimizers.index(before), cls.name)
        else:
            flow._add_optimizer(cls.name)


__all__ = ["ExactnessError", "register_passes"]
