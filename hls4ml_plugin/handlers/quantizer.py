"""Handler of the HGQ quantizer layer used directly in a model, and of the input quantizer that
``convert(..., input_precision=...)`` puts first (`hls4ml_plugin.inputs.InputQuantizer`)."""

from __future__ import annotations

from typing import Any

from hls4ml.converters.keras_v3._base import KerasV3LayerHandler

from ._common import quantizer_node


class FixedPointQuantizerHandler(KerasV3LayerHandler):
    handles = ("hgq_compat.core.quantizer.FixedPointQuantizer", "hls4ml_plugin.inputs.InputQuantizer")

    def handle(self, layer: Any, in_tensors: Any, out_tensors: Any) -> tuple[dict[str, Any], ...]:
        shape = tuple(in_tensors[0].shape[1:])
        return (quantizer_node(layer, layer.name, layer.name, shape, in_tensors[0].name, out_tensors[0].name),)
