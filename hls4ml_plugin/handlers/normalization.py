"""Handler of QBatchNormalization.

In inference the layer computes ``x * scale + shift`` in float32, with
``scale = gamma / sqrt(variance + epsilon)`` and ``shift = beta - mean * scale`` (quantized
statistics). hls4ml computes the same expression exactly in fixed point, so the export is exact
only where float32 does not round: the node (`ir.layers.ScaleShift`) proves that for every input
value its upstream can produce and otherwise raises `ExactnessError`. With QKeras' defaults
(epsilon 1e-3) scale has a full 24-bit significand and the proof fails: use a folded layer, or
``allow_inexact`` (then the constants are kept at 24 significant bits and the node is recorded
as approximated).

The handler subclasses `KerasV3LayerHandler`: hls4ml 1.3.0's Keras-v3 converter has no handler of
Keras' BatchNormalization, and its HGQ2 one (``hgq2/_base.py``) reads HGQ2's quantizers and emits
hls4ml's BatchNormalization node, not the `ScaleShift` node that proves exactness.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hls4ml.converters.keras_v3._base import KerasV3LayerHandler

from ._multi import chain, scale_shift_node, shapes


class QBatchNormalizationHandler(KerasV3LayerHandler):
    handles = ("hgq_compat.layers.normalization.QBatchNormalization",)

    def handle(self, layer: Any, in_tensors: Any, out_tensors: Any) -> tuple[dict[str, Any], ...]:
        from keras import ops

        in_shape, _ = shapes(layer, in_tensors, out_tensors)
        axis = layer.axis if isinstance(layer.axis, int) else layer.axis[0]
        if axis % (len(in_shape) + 1) != len(in_shape):
            raise NotImplementedError(
                f"layer {layer.name!r} (QBatchNormalization): axis={layer.axis}; the hls4ml "
                "export supports the last (channel) axis only"
            )
        scale, shift = (
            np.asarray(ops.convert_to_numpy(ops.cast(v, "float32")), np.float64) for v in layer.inference_scale_shift()
        )
        node = scale_shift_node(layer.name, scale, shift, in_shape, layer.name)
        return chain(self, layer, [node], in_tensors, out_tensors)
