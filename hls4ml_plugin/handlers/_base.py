"""Base of the handlers of hgq-compat layers that extend a Keras layer hls4ml converts.

As ``hls4ml/converters/keras_v3/hgq2/_base.py``: a handler subclasses this and hls4ml's own handler
of the Keras layer (``class QDenseHandler(QLayerHandler, DenseHandler)``). hls4ml's handler builds
the config; `QLayerHandler.load_weight` gives it the quantized weight (checked exact,
`_common.quantized_weight`) and `QLayerHandler.__call__` appends the output quantizer or activation
node (`_common.output_node`).

A kernel quantizer with alpha='auto' whose float scales hls4ml cannot hold exactly (inexact exports
only, `_common.alpha_split`) becomes, as in hls4ml's QKeras converter, the layer with the integer
codes and no bias, followed by the per-channel scale and the bias (ApplyAlpha, `_multi.scale_shift_node`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hls4ml.converters.keras_v3._base import KerasV3LayerHandler

from ..ir import Attr
from ._common import alpha_split, attach_deferred, output_node, quantized_weight
from ._multi import chain, scale_shift_node


class QLayerHandler(KerasV3LayerHandler):
    """hls4ml's handler of the Keras layer, with quantized weights and the layer's output quantizer."""

    _codes: np.ndarray | None = None  # the kernel codes of an alpha split, while `handle` runs

    def handle(self, layer: Any, in_tensors: Any, out_tensors: Any) -> Any:
        split = alpha_split(layer, "kernel")
        self._codes = None if split is None else split[0]
        try:
            config = super().handle(layer, in_tensors, out_tensors)
        finally:
            self._codes = None
        if split is None:
            return config
        alpha = scale_shift_node(
            f"{layer.name}_alpha",
            split[1],
            quantized_weight(layer, "bias"),
            tuple(out_tensors[0].shape[1:]),
            layer.name,
        )
        node = {**config, "name": layer.name, "class_name": self.default_config["class_name"]}
        return chain(self, layer, [node, alpha], in_tensors, out_tensors)

    def load_weight(self, layer: Any, key: str) -> np.ndarray | None:
        """The weight ``key`` after its quantizer (float64), checked exact; with an alpha split, the
        kernel codes and no bias (hls4ml adds 0; the bias follows the scale)."""
        if self._codes is not None:
            return self._codes if key == "kernel" else None
        return quantized_weight(layer, key)

    def default_class_name(self, layer: Any) -> str:
        """hls4ml's IR class of the Keras layer: QDense -> Dense, QConv2D -> Conv2D."""
        name = type(layer).__name__
        return name[1:] if name.startswith("Q") else name

    def maybe_get_activation_config(self, layer: Any, out_tensors: Any) -> tuple[None, None]:
        return None, None  # the layer's activation is its output node, appended by `__call__`

    def __call__(self, layer: Any, in_tensors: Any, out_tensors: Any) -> tuple[dict[str, Any], ...]:
        configs = super().__call__(layer, in_tensors, out_tensors)
        if len(configs) != 1 or Attr.WEIGHTS_CHECKED in configs[0]:
            return configs  # `handle` made a chain of nodes (`_multi.chain`), output node included
        out = out_tensors[0]
        mid = f"{out.name}_unquantized"
        node = output_node(layer, tuple(out.shape[1:]), mid, out.name)  # before attach_deferred: it may defer
        config = attach_deferred(layer, {**configs[0], Attr.WEIGHTS_CHECKED: True, Attr.KERAS_LAYER: layer.name})
        if node is None:
            return (config,)
        config["output_keras_tensor_names"] = [mid]
        return config, node
