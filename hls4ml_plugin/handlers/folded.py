"""Handlers of QConv2DBatchnorm, QDepthwiseConv2DBatchnorm and QDenseBatchnorm.

In inference Keras computes ``conv(x, Q_k(inv * W)) + Q_b(inv * (b - mean) + beta)`` (``x @ ...``
for QDenseBatchnorm) with the
moving statistics; the handlers emit that folded, quantized kernel and bias, read through the
layer's own `folded_weights` (the same float32 ops as its call).

QConv2DBatchnorm and QDenseBatchnorm subclass hls4ml's `ConvHandler` / `DenseHandler` (as hls4ml's
HGQ2 handlers do), which read the folded kernel and bias through their `load_weight` hook; the
folded bias exists even with ``use_bias=False``. QDepthwiseConv2DBatchnorm keeps its own handler:
hls4ml's `ConvHandler` emits hls4ml's DepthwiseConv2D, whose bit_exact rule hgq-compat replaces by its
own depthwise node, and no hls4ml node takes a depth multiplier above 1 (`_multi.depthwise_node`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hls4ml.converters.keras_v3._base import KerasV3LayerHandler
from hls4ml.converters.keras_v3.conv import ConvHandler
from hls4ml.converters.keras_v3.core import DenseHandler

from ..ir import describe
from ..ir.exactness import constant_problem
from ._common import check_constant
from ._multi import chain, check_dilation, depthwise_node, shapes


def folded_weights(layer: Any) -> tuple[np.ndarray, np.ndarray]:
    """(kernel, bias) as the layer's inference call uses them, float64; refused where hls4ml cannot
    hold them exactly (`ir.exactness.constant_problem`, the check of every weight; for values of a
    quantizer that is not fixed point the refusal is deferred, `_common.check_constant`)."""
    from keras import ops

    weights = layer.folded_weights(training=False)
    out = []
    for role, key in ((layer.kernel_role, "folded_kernel"), ("bias", "folded_bias")):
        value = np.asarray(ops.convert_to_numpy(weights[key]), np.float64)
        quantizer = layer.quantizer_for(role)
        problem = constant_problem(value, quantizer)
        if problem and quantizer is not None:
            value = check_constant(layer, f"folded {role}", value, quantizer)
        elif problem:
            raise NotImplementedError(
                f"layer {layer.name!r} ({type(layer).__name__}): the folded {role} is "
                f"{'not quantized' if quantizer is None else 'quantized by ' + describe(quantizer)}, and its float "
                f"values are {problem}, so hls4ml cannot hold them exactly; give the "
                f"layer a fixed-point {role.replace('_kernel', '')}_quantizer (e.g. quantized_bits(8,2,alpha=1))"
            )
        out.append(value)
    return out[0], out[1]


class FoldedHandler(KerasV3LayerHandler):
    """hls4ml's handler of the unfolded Keras layer (the next base class), given the folded weights."""

    ir_class: str  # hls4ml's IR class of the node
    _folded: dict[str, np.ndarray] | None = None  # while `handle` runs

    def handle(self, layer: Any, in_tensors: Any, out_tensors: Any) -> tuple[dict[str, Any], ...]:
        check_dilation(layer)
        shapes(layer, in_tensors, out_tensors)
        folded = dict(zip(("kernel", "bias"), folded_weights(layer)))
        self._folded = folded
        try:
            config = super().handle(layer, in_tensors, out_tensors)
        finally:
            self._folded = None
        node = {**config, "name": layer.name, "class_name": self.ir_class, "bias_data": folded["bias"]}
        return chain(self, layer, [node], in_tensors, out_tensors)

    def load_weight(self, layer: Any, key: str) -> np.ndarray:
        return self._folded[key]


class QConv2DBatchnormHandler(FoldedHandler, ConvHandler):
    handles = ("hgq_compat.layers.folded.QConv2DBatchnorm",)
    ir_class = "Conv2D"


class QDenseBatchnormHandler(FoldedHandler, DenseHandler):
    handles = ("hgq_compat.layers.folded.QDenseBatchnorm",)
    ir_class = "Dense"


class QDepthwiseConv2DBatchnormHandler(KerasV3LayerHandler):
    handles = ("hgq_compat.layers.folded.QDepthwiseConv2DBatchnorm",)

    def handle(self, layer: Any, in_tensors: Any, out_tensors: Any) -> tuple[dict[str, Any], ...]:
        check_dilation(layer)
        in_shape, out_shape = shapes(layer, in_tensors, out_tensors)
        kernel, bias = folded_weights(layer)
        node = depthwise_node(layer.name, kernel, bias, in_shape, out_shape, layer.strides, layer.padding)
        return chain(self, layer, [node], in_tensors, out_tensors)
