"""Handler of QDense: a Dense IR layer with quantized weights, then the output quantizer.

A kernel quantizer with alpha='auto' whose float scales hls4ml cannot hold exactly (inexact
exports only, see `_common.alpha_split`) becomes, as in hls4ml's QKeras converter, a Dense with
the integer codes followed by the per-channel scale and the bias (ApplyAlpha)."""

from __future__ import annotations

from typing import Any

from hls4ml.converters.keras_v3._base import KerasV3LayerHandler

from ._common import alpha_split, quantized_weight, with_output_quantizer
from ._multi import chain, scale_shift_node


class QDenseHandler(KerasV3LayerHandler):
    handles = ("hgq_compat.layers.dense.QDense",)

    def handle(self, layer: Any, in_tensors: Any, out_tensors: Any) -> Any:
        split = alpha_split(layer, "kernel")
        kernel = quantized_weight(layer, "kernel") if split is None else split[0]
        config = {
            "class_name": "Dense",
            "data_format": "channels_last",
            "weight_data": kernel,
            "bias_data": quantized_weight(layer, "bias") if split is None else None,  # None: hls4ml adds 0
            "n_in": kernel.shape[0],
            "n_out": kernel.shape[1],
        }
        if split is None:
            return with_output_quantizer(self, layer, config, out_tensors)
        alpha = scale_shift_node(f"{layer.name}_alpha", split[1], quantized_weight(layer, "bias"),
                                 tuple(out_tensors[0].shape[1:]), layer.name)
        return chain(self, layer, [{**config, "name": layer.name}, alpha], in_tensors, out_tensors)
