"""Plain Keras layers whose hls4ml 1.3.0 handlers need help for bit-exact conversion.

Activation layers (Activation, ReLU, LeakyReLU, ELU) in an hgq-compat model: on a value an
hgq_compat layer computed (a fixed-point grid), linear and relu are exact in hls4ml as they are,
and every other elementwise activation becomes a lookup table of the float32 function Keras
computes (`_common.activation_node`). hls4ml's own converters approximate tanh/sigmoid with fixed
tables and convert ``ReLU()`` to a ThresholdedReLU. Activations on values no hgq_compat layer
produced (plain Keras models) keep hls4ml's conversion; a softmax too (the exactness check
refuses it in hgq-compat models, naming ``hgq_compat.swap_softmax``).

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

from hls4ml.converters.keras_v3.core import ActivationHandler, EluHandler, ReLUHandler
from hls4ml.converters.keras_v3.merge import MergeHandler
from hls4ml.converters.keras_v3.pooling import PoolingHandler

from ..ir import Attr
from ..ir.layers import GLOBAL_POOLING_2D
from ..ir.lut import is_elementwise_activation
from ._common import activation_node, made_by_hgq_compat, quantizer_output

ADD = "keras.src.layers.merging.add.Add"
CONCATENATE = "keras.src.layers.merging.concatenate.Concatenate"
GLOBAL_POOLING = {
    "keras.src.layers.pooling.global_max_pooling2d.GlobalMaxPooling2D": "Max",
    "keras.src.layers.pooling.global_average_pooling2d.GlobalAveragePooling2D": "Average",
}


class ExactActivationMixin:
    """``handle``: the exact node of the layer's elementwise activation when its input comes from an
    hgq_compat layer, else hls4ml's own conversion (the next ``handle`` in the MRO)."""

    def activation(self, layer: Any) -> Any:
        """The elementwise function the layer applies (a function, or the layer itself)."""
        return layer

    def handle(self, layer: Any, in_tensors: Any, out_tensors: Any) -> Any:
        fn = self.activation(layer)
        if fn is not None and is_elementwise_activation(fn) and made_by_hgq_compat(in_tensors[0]):
            node = activation_node(
                fn,
                layer.name,
                layer.name,
                tuple(in_tensors[0].shape[1:]),
                in_tensors[0].name,
                out_tensors[0].name,
                after_quantizer=quantizer_output(in_tensors[0]),
            )
            if node is not None:
                return (node,)
        return super().handle(layer, in_tensors, out_tensors)  # type: ignore[misc]


class KerasActivationHandler(ExactActivationMixin, ActivationHandler):
    handles = ("keras.src.layers.activations.activation.Activation",)

    def activation(self, layer: Any) -> Any:
        return layer.activation


class KerasReLUHandler(ExactActivationMixin, ReLUHandler):
    handles = ("keras.src.layers.activations.leaky_relu.LeakyReLU", "keras.src.layers.activations.relu.ReLU")

    def activation(self, layer: Any) -> Any:
        import keras

        plain = (
            isinstance(layer, keras.layers.ReLU)
            and layer.max_value in (None, float("inf"))
            and float(layer.threshold) == 0.0
            and float(layer.negative_slope) == 0.0
        )
        return keras.activations.relu if plain else layer


class KerasELUHandler(ExactActivationMixin, EluHandler):
    handles = ("keras.src.layers.activations.elu.ELU",)


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
            configs.append(
                {
                    **self.default_config,
                    **config,
                    "name": layer.name if last else f"{layer.name}_{j}",
                    Attr.KERAS_LAYER: layer.name,
                    "output_shape": list(shape),
                    "input_keras_tensor_names": [prev, tensor.name],
                    "output_keras_tensor_names": [name],
                }
            )
            prev = name
        return tuple(configs)
