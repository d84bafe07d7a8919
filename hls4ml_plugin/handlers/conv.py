"""Handlers of QConv1D and QConv2D: hls4ml's Conv with quantized weights, then the output quantizer
(`_base`; alpha='auto' kernels in inexact exports: the codes, then the scale)."""

from __future__ import annotations

from typing import Any

import numpy as np
from hls4ml.converters.keras_v3.conv import ConvHandler

from ._base import QLayerHandler


class QConvHandler(QLayerHandler, ConvHandler):
    handles = ("hgq_compat.layers.conv.QConv1D", "hgq_compat.layers.conv.QConv2D")

    def handle(self, layer: Any, in_tensors: Any, out_tensors: Any) -> Any:
        mask = getattr(layer, "_kernel_mask", None)
        if mask is not None and not np.isin(mask, (0.0, 1.0)).all():
            raise NotImplementedError(
                f"layer {layer.name!r}: a kernel mask with values other than 0 and 1 is not "
                "exported (the masked kernel may not be fixed point); accepted: a 0/1 mask"
            )
        if any(d != 1 for d in layer.dilation_rate):
            raise NotImplementedError(
                f"layer {layer.name!r}: dilation_rate={layer.dilation_rate} is not supported by hls4ml; use 1"
            )
        in_shape = tuple(in_tensors[0].shape[1:])
        out_shape = tuple(out_tensors[0].shape[1:])
        if None in in_shape or None in out_shape:
            raise ValueError(f"layer {layer.name!r}: hls4ml needs fixed input and output shapes, got {in_shape}")
        return super().handle(layer, in_tensors, out_tensors)
