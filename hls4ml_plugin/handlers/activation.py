"""Handler of QActivation: a per-element quantizer node, or an exact Keras activation."""

from __future__ import annotations

from typing import Any

from hls4ml.converters.keras_v3._base import KerasV3LayerHandler

from ._common import check_activation, quantizer_node


class QActivationHandler(KerasV3LayerHandler):
    handles = ("hgq_compat.layers.activation.QActivation",)

    def handle(self, layer: Any, in_tensors: Any, out_tensors: Any) -> tuple[dict[str, Any], ...]:
        if layer.output_quantizer is not None:
            shape = tuple(in_tensors[0].shape[1:])
            return (quantizer_node(layer.output_quantizer, layer.name, layer.name, shape,
                                   in_tensors[0].name, out_tensors[0].name),)
        check_activation(layer)  # linear or relu
        return ({**self.default_config, "class_name": "Activation", "activation": layer.activation.__name__},)
