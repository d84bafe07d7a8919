"""Handler of QDense: a Dense IR layer with quantized weights, then the output quantizer."""

from __future__ import annotations

from typing import Any

from hls4ml.converters.keras_v3._base import KerasV3LayerHandler

from ._common import quantized_weight, with_output_quantizer


class QDenseHandler(KerasV3LayerHandler):
    handles = ("hgq_compat.layers.dense.QDense",)

    def handle(self, layer: Any, in_tensors: Any, out_tensors: Any) -> Any:
        kernel = quantized_weight(layer, "kernel")
        config = {
            "class_name": "Dense",
            "data_format": "channels_last",
            "weight_data": kernel,
            "bias_data": quantized_weight(layer, "bias"),  # None: hls4ml adds a zero bias
            "n_in": kernel.shape[0],
            "n_out": kernel.shape[1],
        }
        return with_output_quantizer(self, layer, config, out_tensors)
