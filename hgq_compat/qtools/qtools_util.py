"""QTools helpers (QKeras ``qtools.qtools_util``), plus the Keras 3 readings of the Keras 2 layer
attributes QTools relies on (``input_shape``, ``output_shape``, a layer's quantizers)."""

from __future__ import annotations

import copy
from typing import Any

import keras
import numpy as np

from . import quantized_operators
from .quantized_operators.auto_po2 import adjust_multiplier_for_auto_po2
from .quantized_operators.auto_po2 import (
    get_scale_from_quantized_bits_with_auto_po2 as get_scale_from_quantized_bits_with_auto_po2,  # QKeras' name here
)


def get_val(feature: Any, key: str, default_val: Any = None) -> Any:
    """``feature[key]`` for a dict, else ``feature.key``."""
    if isinstance(feature, dict):
        return feature.get(key, default_val)
    return getattr(feature, key, default_val)


# ---------------------------------------------------------------- Keras 2 attributes on Keras 3
def _shapes(tensors: Any) -> Any:
    return keras.tree.map_structure(lambda t: tuple(t.shape), tensors)


def layer_output_shape(layer: Any) -> Any:
    """Keras 2's ``layer.output_shape``: a tuple with the batch axis; a list of tuples for several
    outputs, and for an ``InputLayer`` (Keras 2 reports an input layer's shape as a one-item list)."""
    shape = _shapes(layer.output)
    if isinstance(layer, keras.layers.InputLayer) and isinstance(shape, tuple):
        return [shape]
    return shape


def layer_input_shape(layer: Any) -> Any:
    """Keras 2's ``layer.input_shape``: a tuple, or a list of tuples for several inputs."""
    return _shapes(layer.input)


def layer_quantizers(layer: Any) -> list:
    """QKeras' ``layer.get_quantizers()``: for ``QBatchNormalization`` gamma, beta, mean, variance
    and inverse (QKeras master's order)."""
    quantizers = list(layer.get_quantizers())
    if type(layer).__name__ == "QBatchNormalization":
        quantizers = quantizers[:4] + [getattr(layer, "inverse_quantizer", None)]
    return quantizers


def activation_quantizer(layer: Any) -> Any:
    """What QKeras keeps in ``layer.quantizer`` (QActivation, QAdaptiveActivation) or
    ``layer.activation`` (other layers): a quantizer object, a Keras activation, or None."""
    name = type(layer).__name__
    if name == "QAdaptiveActivation":
        return adaptive_activation_quantizer(layer)
    if name == "QActivation":
        return layer.quantizer
    q = getattr(layer, "_activation_quantizer", None)
    return q if q is not None else getattr(layer, "activation", None)


def adaptive_activation_quantizer(layer: Any) -> Any:
    """The quantizer a QKeras ``QAdaptiveActivation`` holds: ``activation`` with ``total_bits`` bits and
    the current integer bits (one per channel; a single value when not per channel), alpha 1."""
    from .. import quantizers

    integer = keras.ops.convert_to_numpy(layer.quantizer_integer).astype(np.int32)
    if integer.ndim == 1 and len(integer) == 1:
        integer = integer[0]
    if layer._activation_name == "quantized_relu":
        q = quantizers.quantized_relu(
            bits=layer.total_bits, negative_slope=layer.relu_neg_slope, relu_upper_bound=layer.relu_upper_bound
        )
        q.is_quantized_clip = False
    else:
        q = quantizers.quantized_bits(bits=layer.total_bits, symmetric=layer.symmetric)
    q.integer = integer
    q.alpha = 1.0
    return q


def has_quantizers(layer: Any) -> bool:
    """QKeras' ``hasattr(layer, "get_quantizers")``: a QKeras layer (not a plain Keras layer)."""
    return hasattr(layer, "get_quantizers")


# ---------------------------------------------------------------- layer kinds
def is_shape_alternation_layers(layer: Any) -> bool:
    lname = layer.__class__.__name__
    return bool(lname) and ("MaxPool" in lname or "Reshape" in lname or "Flatten" in lname)


def is_merge_layers(layer: Any) -> bool:
    return layer.__class__.__name__ in (
        "Add",
        "Multiply",
        "Subtract",
        "Average",
        "Maximum",
        "Minimum",
        "Concatenate",
        "Dot",
    )


def get_input_quantizers(graph: Any, node_id: int, quantizer_factory: Any, debug: bool = False) -> list:
    """(data type, edge) of each incoming edge of ``node_id``."""
    output = []
    for parent in graph.predecessors(node_id):
        edge = graph.edges[(parent, node_id)]
        if debug:
            print("parent_node_id:", parent)
            print(edge)
        output.append((quantizer_factory.make_quantizer(edge["quantizer"]), edge))
    return output


def get_input_quantizers_advanced(
    graph: Any, node_id: int, is_input_layer: bool, quantizer_factory: Any, cfg: Any, debug: bool = False
) -> list:
    """As `get_input_quantizers`; an edge without a quantizer gets the default source quantizer
    (model inputs) or the default intermediate quantizer."""
    output = []
    for parent in graph.predecessors(node_id):
        edge = graph.edges[(parent, node_id)]
        if debug:
            print("parent_node_id:", parent)
            print(edge)
        q = quantizer_factory.make_quantizer(edge["quantizer"])
        if not q:
            mode = cfg.default_source_quantizer if is_input_layer else cfg.default_interm_quantizer
            q = quantizer_factory.make_default_quantizer(mode=mode)
        output.append((q, edge))
    return output


def get_operation_count(layer: Any, input_shape: Any) -> int:
    """Multiplications (or additions, for pooling/merging layers) of ``layer`` for one sample."""
    if isinstance(input_shape, list):
        input_shape = input_shape[0]
    name = layer.__class__.__name__
    count = 0
    if is_merge_layers(layer) or is_shape_alternation_layers(layer):
        count = np.prod(input_shape[1:])
    elif name in (
        "AveragePooling2D",
        "AvgPool2D",
        "GlobalAvgPool2D",
        "GlobalAveragePooling2D",
        "QGlobalAveragePooling2D",
    ):
        pool_size = layer.pool_size if hasattr(layer, "pool_size") else input_shape[1:-1]
        count = layer.compute_output_shape(input_shape)[-1] * np.prod(pool_size)
    elif "UpSampling" in name:
        count = np.prod(layer.compute_output_shape(input_shape)[1:])
    elif "Activation" in name or "BatchNormalization" in name:
        count = np.prod(input_shape[1:])
    elif name in ("QConv2D", "Conv2D", "QConv2DBatchnorm", "QConv2DTranspose", "Conv2DTranspose"):
        _, height_o, width_o, channels_o = layer.compute_output_shape(input_shape)
        kernel_h, kernel_w = layer.get_weights()[0].shape[:2]
        count = height_o * width_o * channels_o * kernel_h * kernel_w * input_shape[-1]
    elif name in ("QConv1D", "Conv1D"):
        _, time_o, channels_o = layer.compute_output_shape(input_shape)
        count = time_o * channels_o * layer.get_weights()[0].shape[0] * input_shape[-1]
    elif name in ("QDepthwiseConv2D", "DepthwiseConv2D"):
        _, height_o, width_o, _ = layer.compute_output_shape(input_shape)
        kernel_h, kernel_w = layer.get_weights()[0].shape[:2]
        count = kernel_h * kernel_w * height_o * width_o * input_shape[-1]
    elif name in ("QDense", "Dense"):
        # the input and output sizes are the only dimensions > 1 (batch None dropped; a dense layer in
        # squeeze-and-excite sees (None, 1, 1, C))
        ishape = np.array([i for i in input_shape if i is not None])
        assert sum(ishape > 1) <= 1, f"Input Tensor shape in {layer.name} has multiple >1 size dims"
        oshape = np.array([i for i in layer.compute_output_shape(input_shape) if i is not None])
        assert sum(oshape > 1) <= 1, f"Output Tensor shape in {layer.name} has multiple >1 size dims"
        count = np.max(ishape) * np.max(oshape)
    else:
        print(f"operation count for {layer} is defaulted to 0")
    return int(count)


def get_weights(layer: Any, model_weights_already_quantized: bool = True) -> list:
    """``layer.get_weights()``, passed through the layer's quantizers unless already quantized
    (quantizing twice changes alpha='auto_po2' weights)."""
    weights = layer.get_weights()
    out = copy.deepcopy(weights)
    if not model_weights_already_quantized and has_quantizers(layer):
        quantizers = layer_quantizers(layer)
        for j, weight in enumerate(weights):
            if quantizers[j]:
                out[j] = keras.ops.convert_to_numpy(quantizers[j](keras.ops.convert_to_tensor(weight)))
    return out


def adjust_accumulator_for_auto_po2(
    layer: Any, multiplier: Any, qkeras_weight_quantizer: Any, bias_quantizer: Any
) -> Any:
    """The accumulator of `adjust_multiplier_for_auto_po2`'s widened multiplier (plus the bias)."""
    fused_multiplier = copy.deepcopy(multiplier)
    adjust_multiplier_for_auto_po2(fused_multiplier, qkeras_weight_quantizer)
    kernel_shape = layer.get_weights()[0].shape
    if layer.__class__.__name__ in ("QDepthwiseConv2D", "DepthwiseConv2D"):
        assert kernel_shape[-1] == 1, f"depth_multiplier must be 1, {kernel_shape[-1]} found instead!"
        kernel_shape = kernel_shape[:-2] + (1, 1)
    kernel_accumulator = quantized_operators.AccumulatorFactory().make_accumulator(
        kernel_shape, fused_multiplier, use_bias=False
    )
    if not layer.use_bias:
        return kernel_accumulator
    return quantized_operators.adder_factory.IAdder().make_quantizer(kernel_accumulator.output, bias_quantizer)


def find_divisors(num: int) -> list[int]:
    return [i for i in range(1, num + 1) if num % i == 0]


def get_layer_info(layer: Any, attr_name: str) -> Any:
    """``layer_type``, ``input_channel``, ``output_channel``, ``kernel_height`` or ``kernel_width``
    of a layer QKeras' divide-and-conquer search supports (dense counts as a 1x1 kernel)."""
    layer_type = layer.__class__.__name__
    supported = [
        "QDense",
        "QConv2D",
        "QDepthwiseConv2D",
        "MaxPooling2D",
        "GlobalMaxPooling2D",
        "QAveragePooling2D",
        "QGlobalAveragePooling2D",
        "UpSampling2D",
        "Concatenate",
        "QBatchNormalization",
        "QActivation",
        "Activation",
        "Dropout",
        "Reshape",
        "ZeroPadding2D",
    ]
    assert layer_type in supported, f"For now only {supported} layers are supported. Found {layer_type} instead."
    kernel_height, kernel_width = layer.kernel_size if hasattr(layer, "kernel_size") else (1, 1)
    info = {
        "layer_type": layer_type,
        "input_channel": layer_input_shape(layer)[-1],
        "output_channel": layer_output_shape(layer)[-1],
        "kernel_height": kernel_height,
        "kernel_width": kernel_width,
    }
    return info.get(attr_name, None)


def is_upsampled(layer: Any) -> bool:
    return "UpSampling" in layer.__class__.__name__
