"""Handler of Keras' InputLayer: hls4ml's, plus a new node name for an input named 'input'.

hls4ml reserves the node name 'input' (``Layer.__init__`` refuses it). Its Keras-v3 parser means to
rename such a layer, but its ``UniqueName`` starts from ``set('input')`` (the letters i, n, p, u,
t), so a model whose input is named 'input' is refused. Here that input becomes the node
`RENAMED_INPUT` ('input_0'); its ``config['LayerName']['input']`` settings follow it
(``hgq_compat_keras_layer``, `passes.layer_config`), and nothing else changes.
"""

from __future__ import annotations

from typing import Any

from hls4ml.converters.keras_v3.core import InputHandler

from ..ir import Attr

RESERVED_NAME = "input"
RENAMED_INPUT = "input_0"


class InputLayerHandler(InputHandler):
    handles = ("keras.src.layers.core.input_layer.InputLayer",)

    def handle(self, layer: Any, in_tensors: Any, out_tensors: Any) -> dict[str, Any]:
        config = super().handle(layer, in_tensors, out_tensors)
        if layer.name == RESERVED_NAME:
            config.update({"name": RENAMED_INPUT, Attr.KERAS_LAYER: layer.name})
        return config
