"""Handlers of QAveragePooling2D and QGlobalAveragePooling2D.

Keras computes the average in float32 as ``sum / count`` (padding excluded), exact only when
every count is a power of two; hls4ml's average pooling then gives the same numbers. With an
``average_quantizer`` Keras computes ``average * area * Q(1 / area)``, which equals
``sum * Q(1 / area)`` when the area is a power of two and no window is cut by padding: that is
a depthwise convolution with a constant kernel ``Q(1 / area)``. Anything else is refused.

The handler subclasses hls4ml's `PoolingHandler`, as hls4ml's HGQ2 pooling handler does: the plain
average is its config, as hls4ml's AveragePooling2D or hgq-compat's global pooling node.
"""

from __future__ import annotations

from math import prod
from typing import Any

import numpy as np
from hls4ml.converters.keras_v3.pooling import PoolingHandler

from ..ir.layers import GLOBAL_POOLING_2D
from ._multi import chain, depthwise_node, is_power_of_two, pool_counts, reshape_node, shapes


def average_factor(layer: Any, area: int) -> float:
    """``Q(1 / area)`` exactly as the layer's call computes it."""
    from keras import ops

    q = layer.average_quantizer_internal
    value = q(ops.convert_to_tensor(1.0 / area, dtype="float32"), training=False)
    return float(np.asarray(ops.convert_to_numpy(value), np.float32))


class QAveragePoolingHandler(PoolingHandler):
    handles = ("hgq_compat.layers.pooling.QAveragePooling2D", "hgq_compat.layers.pooling.QGlobalAveragePooling2D")

    def handle(self, layer: Any, in_tensors: Any, out_tensors: Any) -> tuple[dict[str, Any], ...]:
        if layer.data_format != "channels_last":
            raise NotImplementedError(
                f"layer {layer.name!r} ({type(layer).__name__}): data_format="
                f"{layer.data_format!r} is not exported; accepted: 'channels_last'"
            )
        in_shape, out_shape = shapes(layer, in_tensors, out_tensors)
        *px, channels = in_shape
        is_global = type(layer).__name__ == "QGlobalAveragePooling2D"
        pool, strides, padding = (px, px, "valid") if is_global else (layer.pool_size, layer.strides, layer.padding)
        counts = pool_counts(px, pool, strides, padding)
        area = prod(pool)
        label = f"layer {layer.name!r} ({type(layer).__name__})"
        if layer.average_quantizer_internal is None:
            if not is_power_of_two(counts):
                raise NotImplementedError(
                    f"{label}: averages over {sorted(set(counts.ravel().tolist()))} pixels; Keras divides in float32, "
                    "which rounds unless every count is a power of two, so hls4ml cannot match it bit for bit. Use a "
                    "power-of-two pool size (with padding='valid' or an input size that needs no padding)"
                )
            config = super().handle(layer, in_tensors, out_tensors)
            config.update(
                {
                    "name": layer.name,
                    "data_format": "channels_last",
                    "pool_op": "Average",
                    "class_name": GLOBAL_POOLING_2D if is_global else "AveragePooling2D",
                }
            )
            return chain(self, layer, [config], in_tensors, out_tensors)
        if not is_power_of_two(area) or np.any(counts != area):
            raise NotImplementedError(
                f"{label}: with an average_quantizer Keras computes average * {area} * average_quantizer(1/{area}) "
                "in float32, exact only for a power-of-two pool area whose windows padding never cuts; use such a "
                "pool size (padding='valid' or an input size that needs no padding), or average_quantizer=None"
            )
        kernel = np.full((*pool, channels, 1), average_factor(layer, area))
        pooled = (*counts.shape, channels)
        nodes = [depthwise_node(layer.name, kernel, None, in_shape, pooled, strides, padding)]
        if is_global:
            nodes.append(reshape_node(f"{layer.name}_flatten", out_shape))
        return chain(self, layer, nodes, in_tensors, out_tensors)
