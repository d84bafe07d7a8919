"""Handler of QActivation: a per-element quantizer node, or its Keras/QKeras activation function
(relu exactly, other elementwise functions as lookup tables; see `_common.activation_node`)."""

from __future__ import annotations

from typing import Any

from hls4ml.converters.keras_v3._base import KerasV3LayerHandler

from ._common import activation_node, quantizer_node, quantizer_output


class QActivationHandler(KerasV3LayerHandler):
    handles = ("hgq_compat.layers.activation.QActivation",)

    def handle(self, layer: Any, in_tensors: Any, out_tensors: Any) -> tuple[dict[str, Any], ...]:
        shape = tuple(in_tensors[0].shape[1:])
        if layer.output_quantizer is not None:
            return (
                quantizer_node(
                    layer.output_quantizer, layer.name, layer.name, shape, in_tensors[0].name, out_tensors[0].name
                ),
            )
        node = activation_node(
            layer.activation,
            layer.name,
            layer.name,
            shape,
            in_tensors[0].name,
            out_tensors[0].name,
            after_quantizer=quantizer_output(in_tensors[0]),
        )
        if node is None:  # linear: hls4ml drops it
            return ({**self.default_config, "class_name": "Activation", "activation": "linear"},)
        return (node,)
