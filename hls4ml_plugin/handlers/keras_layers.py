"""Plain Keras layers whose hls4ml 1.3.0 handlers need help for bit-exact conversion.

Global pooling 2D: bit_exact's rule for hls4ml's GlobalPooling2D returns types of the wrong
shape; the handler emits hgq-compat's subclass with a corrected rule (same code otherwise).

Merge layers with more than two inputs:

hls4ml 1.3.0's Merge and Concatenate IR layers take exactly two inputs (an AssertionError
otherwise), and bit_exact concatenates along the Keras axis without removing the batch axis
(wrong for a positive ``axis``). These handlers replace hls4ml's for Add and Concatenate:
two inputs give hls4ml's own config (the axis made negative), more give a chain of two-input
nodes, which is exact: every partial sum or concatenation is exact in fixed point, and Keras'
float32 sum is exact wherever the result fits 24 bits (warned about otherwise).
"""

from __future__ import annotations

from typing import Any

from hls4ml.converters.keras_v3.merge import MergeHandler
from hls4ml.converters.keras_v3.pooling import PoolingHandler

from ..ir_layers import GLOBAL_POOLING_2D

ADD = "keras.src.layers.merging.add.Add"
CONCATENATE = "keras.src.layers.merging.concatenate.Concatenate"
GLOBAL_POOLING = {"keras.src.layers.pooling.global_max_pooling2d.GlobalMaxPooling2D": "Max",
                  "keras.src.layers.pooling.global_average_pooling2d.GlobalAveragePooling2D": "Average"}


class GlobalPooling2DHandler(PoolingHandler):
    handles = tuple(GLOBAL_POOLING)

    def handle(self, layer: Any, in_tensors: Any, out_tensors: Any) -> Any:
        if getattr(layer, "keepdims", False):
            return super().handle(layer, in_tensors, out_tensors)
        config = super().handle(layer, in_tensors, out_tensors)
        op = GLOBAL_POOLING[f"{type(layer).__module__}.{type(layer).__name__}"]
        return {**config, "class_name": GLOBAL_POOLING_2D, "pool_op": op}


class MultiInputMergeHandler(MergeHandler):
    handles = (ADD, CONCATENATE)

    def handle(self, layer: Any, in_tensors: Any, out_tensors: Any, cls_name: str | None = None) -> Any:
        config = super().handle(layer, in_tensors, out_tensors, cls_name)
        rank = len(out_tensors[0].shape) - 1
        if "axis" in config and config["axis"] >= 0:
            config["axis"] = config["axis"] - (rank + 1)  # Keras counts the batch axis
        if len(in_tensors) <= 2:
            return config
        out = out_tensors[0].name
        configs = []
        prev = in_tensors[0].name
        shape = list(in_tensors[0].shape[1:])
        for j, tensor in enumerate(in_tensors[1:], start=1):
            last = j == len(in_tensors) - 1
            if "axis" in config:
                shape[config["axis"]] += tensor.shape[1:][config["axis"]]
            name = out if last else f"{out}_{layer.name}_{j}"
            configs.append({**self.default_config, **config, "name": layer.name if last else f"{layer.name}_{j}",
                            "hgq_compat_keras_layer": layer.name,
                            "output_shape": list(shape), "input_keras_tensor_names": [prev, tensor.name],
                            "output_keras_tensor_names": [name]})
            prev = name
        return tuple(configs)
