"""Handlers of QConv1D and QConv2D: Conv IR layers with quantized weights, then the output quantizer
(alpha='auto' kernels in inexact exports: the codes, then the scale, as `dense`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from hls4ml.converters.keras_v3._base import KerasV3LayerHandler
from hls4ml.converters.keras_v3.conv import gen_conv_config

from ._common import alpha_split, quantized_weight, with_output_quantizer
from ._multi import chain, scale_shift_node


class QConvHandler(KerasV3LayerHandler):
    handles = ("hgq_compat.layers.conv.QConv1D", "hgq_compat.layers.conv.QConv2D")

    def handle(self, layer: Any, in_tensors: Any, out_tensors: Any) -> Any:
        mask = getattr(layer, "_kernel_mask", None)
        if mask is not None and not np.isin(mask, (0.0, 1.0)).all():
            raise NotImplementedError(f"layer {layer.name!r}: a kernel mask with values other than 0 and 1 is not "
                                      "exported (the masked kernel may not be fixed point); accepted: a 0/1 mask")
        if any(d != 1 for d in layer.dilation_rate):
            raise NotImplementedError(
                f"layer {layer.name!r}: dilation_rate={layer.dilation_rate} is not supported by hls4ml; use 1")
        in_shape = tuple(in_tensors[0].shape[1:])
        out_shape = tuple(out_tensors[0].shape[1:])
        if None in in_shape or None in out_shape:
            raise ValueError(f"layer {layer.name!r}: hls4ml needs fixed input and output shapes, got {in_shape}")
        config = gen_conv_config(in_shape=in_shape, out_shape=out_shape, ker_px_shape=tuple(layer.kernel_size),
                                 strides=tuple(layer.strides), padding=layer.padding, data_format="channels_last",
                                 name=layer.name)
        split = alpha_split(layer, "kernel")  # alpha='auto' kernels, inexact exports: codes, then ApplyAlpha
        config.update({
            "class_name": f"Conv{len(layer.kernel_size)}D",
            "data_format": "channels_last",
            "weight_data": quantized_weight(layer, "kernel") if split is None else split[0],
            "bias_data": quantized_weight(layer, "bias") if split is None else None,
        })
        if split is None:
            return with_output_quantizer(self, layer, config, out_tensors)
        alpha = scale_shift_node(f"{layer.name}_alpha", split[1], quantized_weight(layer, "bias"), out_shape,
                                 layer.name)
        return chain(self, layer, [{**config, "name": layer.name}, alpha], in_tensors, out_tensors)
