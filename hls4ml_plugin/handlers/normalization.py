"""Handler of QBatchNormalization.

In inference the layer computes ``x * scale + shift`` in float32, with
``scale = gamma / sqrt(variance + epsilon)`` and ``shift = beta - mean * scale`` (quantized
statistics). hls4ml computes the same expression exactly in fixed point, so the export is exact
only where float32 does not round: the node (`ir_layers.ScaleShift`) proves that for every input
value its upstream can produce and otherwise raises `ExactnessError`. With QKeras' defaults
(epsilon 1e-3) scale has a full 24-bit significand and the proof fails: use a folded layer.
"""

from __future__ import annotations

from math import prod
from typing import Any

import numpy as np
from hls4ml.converters.keras_v3._base import KerasV3LayerHandler

from ..ir_layers import SCALE_SHIFT
from ._multi import chain, shapes


class QBatchNormalizationHandler(KerasV3LayerHandler):
    handles = ("hgq_compat.layers.normalization.QBatchNormalization",)

    def handle(self, layer: Any, in_tensors: Any, out_tensors: Any) -> tuple[dict[str, Any], ...]:
        from keras import ops

        in_shape, _ = shapes(layer, in_tensors, out_tensors)
        axis = layer.axis if isinstance(layer.axis, int) else layer.axis[0]
        if axis % (len(in_shape) + 1) != len(in_shape):
            raise NotImplementedError(f"layer {layer.name!r} (QBatchNormalization): axis={layer.axis}; the hls4ml "
                                      "export supports the last (channel) axis only")
        scale, shift = (np.asarray(ops.convert_to_numpy(ops.cast(v, "float32")), np.float64)
                        for v in layer.inference_scale_shift())
        channels = in_shape[-1]
        node = {"name": layer.name, "class_name": SCALE_SHIFT, "n_in": prod(in_shape), "n_filt": channels,
                "scale_data": np.broadcast_to(scale, (channels,)).copy(),
                "bias_data": np.broadcast_to(shift, (channels,)).copy(), "hgq_compat_keras_layer": layer.name}
        return chain(self, layer, [node], in_tensors, out_tensors)
