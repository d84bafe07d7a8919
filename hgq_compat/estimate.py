"""QKeras ``qkeras.estimate``: ``print_qstats`` (which here leaves the model untouched) and QKeras'
operation table and accumulator analysis (`extract_model_operations`, `analyze_accumulator`, ...)."""

from __future__ import annotations

import logging
from typing import Any

import keras
import numpy as np
from keras import ops

from .layers.base import QuantizedLayerMixin
from .utils import get_model_sparsity


def _bits_label(bits: np.ndarray) -> str:
    b = np.unique(np.round(np.asarray(bits, dtype=np.float64), 2))
    return f"{b[0]:g}" if b.size == 1 else f"{b.min():g}-{b.max():g}"


def print_qstats(model: keras.Model) -> None:
    """Print per-layer operation cost (EBOPs with input x weight bitwidths), weight profiling
    (count and bits of every quantized weight) and weight sparsity. Unlike QKeras, the model's
    weights are not modified."""
    print("")
    print("Number of operations in model:")
    totals: dict[str, float] = {}
    layers = [
        l for l in model._flatten_layers(include_self=False, recursive=True) if isinstance(l, QuantizedLayerMixin)
    ]
    for layer in sorted(layers, key=lambda l: l.name):
        if not layer.has_ebops or not layer.built or not layer.weight_roles():
            continue
        in_bits = ops.convert_to_numpy(layer.input_bits())
        w = ops.convert_to_numpy(layer.quantized_weight(layer.weight_roles()[0]))
        w_bits = ops.convert_to_numpy(
            layer.weight_bits(layer.weight_roles()[0], layer.quantized_weight(layer.weight_roles()[0]))
        )
        nz = w_bits[w != 0] if np.any(w != 0) else np.zeros(1)
        op = f"smult_{_bits_label(in_bits)}_{_bits_label(nz)}"
        ebops = float(ops.convert_to_numpy(layer.compute_ebops()))
        totals[op] = totals.get(op, 0.0) + ebops
        print("    {:30}: {:8.0f} EBOPs ({})".format(layer.name, ebops, op))
    print("")
    print("Number of operation types in model:")
    for key in sorted(totals):
        print("    {:30}: {:.0f} EBOPs".format(key, totals[key]))
    print("")
    print("Weight profiling:")
    for layer in sorted(layers, key=lambda l: l.name):
        for role in layer.weight_roles():
            wq = layer.quantized_weight(role)
            bits = ops.convert_to_numpy(layer.weight_bits(role, wq))
            size = int(np.prod(getattr(layer, role).shape))
            print("    {:30} : {:5} ({}-bit unit)".format(f"{layer.name}_{role}", size, _bits_label(bits)))
    print("")
    print("Weight sparsity:")
    total, per_layer = get_model_sparsity(model, per_layer=True)
    for name, value in per_layer:
        print("    {:30} : {:.4f}".format(name, value))
    print("    " + "-" * 40)
    print("    {:30} : {:.4f}".format("Total Sparsity", total))


# ---------------------------------------------------------------------------- operation table
# QKeras' ``qkeras.estimate`` analysis functions, on Keras 3 graphs: tensors are the cache keys
# (a KerasTensor hashes by identity, as ``tensor.experimental_ref()`` did).

_MAC_LAYERS = ("QDepthwiseConv2D", "QConv2D", "QConv1D", "QDense")
_OPERATION_LAYERS = ("QDense", "QConv2D", "QConv1D", "QDepthwiseConv2D", "QSeparableConv1D", "QSeparableConv2D")

# QKeras' modes: quantized_bits(n) 0, +/- exponent 1, ternary 2, binary(-1,+1) 3, binary(0,1) 4, float 5.
# (quantizer class name, mode, bits (-1: the quantizer's own), signed)
_QUANT_MODES = (
    ("quantized_bits", 0, -1, 1),
    ("bernoulli", 4, 1, 0),
    ("stochastic_ternary", 2, 2, 1),
    ("ternary", 2, 2, 1),
    ("stochastic_binary", 3, 1, 1),
    ("binary", 3, 1, 1),
    ("quantized_relu", 0, -1, 0),
    ("quantized_ulaw", 0, -1, 1),
    ("quantized_tanh", 0, -1, 1),
    ("quantized_po2", 1, -1, 1),
    ("quantized_relu_po2", 1, -1, 0),
)
_FLOAT_MODE = (5, 32, 1)

# operation of a weight mode (row) times an input mode (column)
_WX_TABLE = (
    ("mult", "barrel", "mux", "mux", "mux", "fmult"),
    ("barrel", "adder", "mux", "xor", "mux", "fmult"),
    ("mux", "mux", "mux", "mux", "xor", "fmult"),
    ("mux", "xor", "mux", "xor", "xor", "fmult"),
    ("mux", "mux", "xor", "xor", "xor", "fmult"),
    ("fmult", "fmult", "fmult", "fmult", "fmult", "fmult"),
)


def _is_mac_layer(layer: Any) -> bool:
    from .layers import QConv1D, QConv2D, QDense, QDepthwiseConv2D

    return isinstance(layer, (QDepthwiseConv2D, QConv2D, QConv1D, QDense))


def _unfolded(model: keras.Model) -> keras.Model:
    """QKeras' ``unfold_model``; a model without folded layers is used as it is."""
    from .bn_folding_utils import _UNFOLDED, unfold_model

    layers = model._flatten_layers(include_self=False, recursive=True)
    return unfold_model(model) if any(isinstance(l, tuple(_UNFOLDED)) for l in layers) else model


def analyze_accumulator(in_model: keras.Model, x: dict, verbose: bool = False) -> dict:
    """Accumulator size (bits, ``ceil(log2(largest |sum|))``) of every QDense / QConv1D / QConv2D /
    QDepthwiseConv2D, from its unquantized weights and the input range ``x = {layer_name: (min, max)}``.

    As QKeras: per output index ``i`` of the kernel's axis 1 the positive (negative) weights plus the
    bias give the largest (smallest) sum; folded layers are unfolded first. Returns
    ``{layer_name: bits}``."""
    model = _unfolded(in_model)
    acc_sizes = {}
    for layer in model.layers:
        if not _is_mac_layer(layer):
            continue
        weights = layer.get_weights()
        k = weights[0]
        b = weights[1] if layer.use_bias else np.zeros((k.shape[-1],), dtype=np.float32)
        all_bits, nbits = [], []
        x_min, x_max = x[layer.name][0], x[layer.name][1]
        for i in range(k.shape[1]):
            npp = np.sum(k[..., i] * (k[..., i] > 0)) + (b[i] > 0) * b[i]
            nnn = np.sum(k[..., i] * (k[..., i] < 0)) + (b[i] < 0) * b[i]
            n1 = npp * (x_max > 0) * x_max + nnn * (x_min < 0) * x_min
            n0 = -(nnn * (x_max > 0) * x_max + npp * (x_min < 0) * x_min)
            nbits.append(n1 if n1 > n0 else n0)
            all_bits.append((n1, n0))
        max_bits = int(np.ceil(np.log2(max(nbits))))
        acc_sizes[layer.name] = max_bits
        if verbose:
            print()
            print(layer.name, "- input range:", x[layer.name])
            print("  max value:", np.amax(k))
            print("  min value:", np.amin(k))
            print("  most positive sum:", np.amax(np.array(all_bits)[:, 0]))
            print("  most negative sum:", -np.amax(np.array(all_bits)[:, 1]))
            print("  number of bits:", max_bits)
    if verbose:
        print()
    return acc_sizes


def _predict_list(model: keras.Model, x: Any) -> list:
    """``model.predict`` as tf-keras returned it: one array for one output, a list otherwise."""
    values = model.predict(x, verbose=0)
    if isinstance(values, (list, tuple)) and len(values) == 1:
        return values[0]
    return values


def analyze_accumulator_from_sample(
    in_model: keras.Model, x_sample: Any, mode: str = "conservative", verbose: bool = False
) -> dict:
    """Accumulator sizes (bits) from a sample of inputs. ``mode='sampled'``: ``ceil(log2(max |output|))``
    of each QDense / QConv / QDepthwiseConv2D on ``x_sample`` (0 for an all-zero output);
    ``'conservative'``: `analyze_accumulator` with each layer's input range on ``x_sample``."""
    if mode not in ("conservative", "sampled"):
        raise ValueError(
            f"analyze_accumulator_from_sample: mode={mode!r} is not accepted; accepted values: "
            "'conservative', 'sampled'"
        )
    model = _unfolded(in_model)
    mac_layers = [layer for layer in model.layers if _is_mac_layer(layer)]
    layer_names = [layer.name for layer in mac_layers]
    if mode == "sampled":
        values = _predict_list(keras.Model(inputs=model.inputs, outputs=[l.output for l in mac_layers]), x_sample)
        acc_sizes = {}
        for name, value in zip(layer_names, values):
            max_value = np.amax(np.abs(value))
            acc_sizes[name] = int(np.ceil(np.log2(max_value))) if max_value != 0 else 0
        return acc_sizes
    # a linear Activation on each input keeps model inputs from being outputs themselves (as QKeras)
    outputs = [keras.layers.Activation("linear")(layer.input) for layer in mac_layers]
    values = _predict_list(keras.Model(inputs=model.inputs, outputs=outputs), x_sample)
    x_dict = {name: (np.amin(value), np.amax(value)) for name, value in zip(layer_names, values)}
    return analyze_accumulator(model, x_dict, verbose)


def get_quant_mode(quant: Any) -> tuple[int, int, int]:
    """QKeras' ``(mode, bits, signed)`` of a quantizer. Modes: 0 quantized_bits-like, 1 power of two,
    2 ternary, 3 binary (-1, +1), 4 binary (0, 1), 5 float (no quantizer or ``linear``: 32 bits).
    A 2-bit quantized_bits / tanh / ulaw with integer 1 is ternary, a 1-bit quantized_relu with
    integer 1 is binary (0, 1)."""
    from .quantizers import quantized_bits, quantized_relu, quantized_tanh, quantized_ulaw

    if not quant or getattr(quant, "__name__", None) == "linear":
        return _FLOAT_MODE
    for inst, mode, bits, sign in _QUANT_MODES:
        if quant.__class__.__name__ != inst:
            continue
        if bits == -1:
            bits = int(quant.bits)
            if isinstance(quant, (quantized_bits, quantized_tanh, quantized_ulaw)):
                if bits == 2 and int(quant.integer) == 1:
                    mode = 2
            elif isinstance(quant, quantized_relu):
                if bits == 1 and int(quant.integer) == 1:
                    mode = 4
        return mode, bits, sign
    raise ValueError(
        f"Quantizer {quant} Not Found: get_quant_mode accepts None, 'linear' and the QKeras "
        f"quantizers {', '.join(m[0] for m in _QUANT_MODES)}"
    )


def get_operation_type(layer: Any, output_cache: dict) -> tuple:
    """QKeras' operation of a quantized layer: ``(op, (w_mode, x_mode), (w_bits, x_bits),
    (w_signed, x_signed))`` with op one of 'mult', 'fmult' (float), 'adder', 'barrel', 'mux', 'xor',
    from the mode of its first weight quantizer and of its input's quantizer in ``output_cache``
    (`create_activation_cache`); ``('null', (w_mode, -1), (w_bits, -1), (w_signed, -1))`` when the
    input's quantizer is unknown."""
    if not hasattr(layer, "get_quantizers"):
        raise ValueError(f"Cannot find suitable quantization candidates for {layer.name}")
    w_mode, w_bits, w_sign = get_quant_mode(layer.get_quantizers()[0])
    if w_mode == _FLOAT_MODE[0]:
        logging.warning("%s kernel is unquantized!", layer.name)
    x_quant = output_cache.get(layer.input, None)
    if x_quant is None:
        print("cannot determine presently model for {}".format(layer.name))
        return "null", (w_mode, -1), (w_bits, -1), (w_sign, -1)
    x_mode, x_bits, x_sign = get_quant_mode(x_quant)
    if x_mode == _FLOAT_MODE[0]:
        logging.warning("%s input is unquantized!", layer.name)
    return _WX_TABLE[w_mode][x_mode], (w_mode, x_mode), (w_bits, x_bits), (w_sign, x_sign)


def _output_quantizer_object(layer: Any) -> Any:
    """What QKeras' ``layer.activation`` of a QDense / QConv layer is: its output quantizer, else the
    Keras activation."""
    q = getattr(layer, "_activation_quantizer", None)
    return q if q is not None else layer.activation


def create_activation_cache(model: keras.Model) -> dict:
    """``{tensor: quantizer}``: the quantizer that produced each tensor of ``model`` (model inputs
    count as ``quantized_relu(8, 0)``; a QDense / QConv1D / QConv2D / QDepthwiseConv2D gives its
    activation; any other layer passes its (first) input's on). Keys are the Keras tensors
    (``layer.output``)."""
    from .layers import QActivation, QAdaptiveActivation
    from .quantizers import quantized_relu

    input_quantizer = quantized_relu(8, 0)
    output_cache: dict = {}
    if not isinstance(model.layers[0], keras.layers.InputLayer):  # a Sequential model hides its input layer
        output_cache[model.layers[0].input] = input_quantizer
    nodes = _graph_nodes(model)
    for l in model.layers:
        if isinstance(l, (QActivation, QAdaptiveActivation)):
            q = l.quantizer
        elif isinstance(l, keras.layers.InputLayer):
            q = input_quantizer
        elif l.__class__.__name__ in ("QDense", "QConv2D", "QConv1D", "QDepthwiseConv2D"):
            q = _output_quantizer_object(l)
        else:  # the first input leads
            node = nodes.get(id(l))
            inputs = node.input_tensors if node is not None else keras.tree.flatten(l.input)
            q = output_cache.get(inputs[0]) if inputs else None
            if q is None:
                raise ValueError("Unknown operation in {}".format(l.name))
        # every call of the layer: a Sequential model calls its layers again each time it grows
        for n in l._inbound_nodes:
            for t in n.output_tensors:
                output_cache[t] = q
    return output_cache


def _graph_nodes(model: keras.Model) -> dict:
    """``{id(layer): node}``: the call of each layer that belongs to ``model``'s graph."""
    graph = getattr(model, "_functional", None) or model
    return {id(node.operation): node for nodes in getattr(graph, "_nodes_by_depth", {}).values() for node in nodes}


def _shape(tensor: Any) -> tuple:
    return tuple(tensor.shape)


def _layer_counts(layer: Any, input_shape: tuple, output_shape: tuple) -> tuple:
    """(number_of_operations, number_of_weights, number_of_bias, weight_type, bias_type) as QKeras."""
    name = layer.__class__.__name__
    weights = layer.get_weights()
    quantizers = layer.get_quantizers()
    separable = name in ("QSeparableConv1D", "QSeparableConv2D")
    n_bias_index = 2 if separable else 1
    number_of_bias = weights[n_bias_index].shape[0] if len(weights) > n_bias_index else 0
    if name == "QConv2D":
        channels_i = input_shape[-1]
        _, height_o, width_o, channels_o = output_shape
        kernel_h, kernel_w = weights[0].shape[:2]
        ops_count = height_o * width_o * channels_o * kernel_h * kernel_w * channels_i
        n_weights = kernel_h * kernel_w * channels_o * channels_i
    elif name == "QConv1D":
        channels_i = input_shape[-1]
        _, time_o, channels_o = output_shape
        kernel_length = weights[0].shape[0]
        ops_count = time_o * channels_o * kernel_length * channels_i
        n_weights = kernel_length * channels_o * channels_i
    elif name == "QDepthwiseConv2D":
        channels_i = input_shape[-1]
        _, height_o, width_o, channels_o = output_shape
        kernel_h, kernel_w = weights[0].shape[:2]
        ops_count = kernel_h * kernel_w * height_o * width_o * channels_i
        n_weights = kernel_h * kernel_w * channels_o * channels_i
    elif name == "QSeparableConv1D":
        channels_i = input_shape[-1]
        _, time_o, channels_o = output_shape
        kernel_length = weights[0].shape[0]
        ops_count = kernel_length * time_o * channels_i + time_o * channels_o
        n_weights = [kernel_length * channels_i, channels_o * channels_i]
    elif name == "QSeparableConv2D":
        channels_i = input_shape[-1]
        _, height_o, width_o, channels_o = output_shape
        kernel_h, kernel_w = weights[0].shape[:2]
        ops_count = kernel_h * kernel_w * height_o * width_o * channels_i + height_o * width_o * channels_o
        n_weights = [kernel_h * kernel_w * channels_i, channels_o * channels_i]
    else:  # QDense: the one dimension > 1 of input and output (a squeeze-and-excite Dense sees (1, 1, C))
        ishape = np.array([i for i in input_shape if i is not None])
        oshape = np.array([i for i in output_shape if i is not None])
        if sum(ishape > 1) != 1 or sum(oshape > 1) != 1:
            raise ValueError(
                f"{layer.name}: extract_model_operations accepts a QDense whose input and output "
                f"have one dimension > 1; got {input_shape} -> {output_shape}"
            )
        ops_count = int(np.max(ishape) * np.max(oshape))
        n_weights = int(np.max(ishape) * np.max(oshape))
    if separable:
        depthwise_type, pointwise_type = get_quant_mode(quantizers[0]), get_quant_mode(quantizers[1])
        weight_type = [depthwise_type, pointwise_type]
        bias_type = get_quant_mode(quantizers[2])
        kernels = ((depthwise_type, "depthwise kernel"), (pointwise_type, "pointwise kernel"))
    else:
        weight_type = get_quant_mode(quantizers[0])
        bias_type = get_quant_mode(quantizers[1])
        kernels = ((weight_type, "kernel"),)
    for t, what in (*kernels, (bias_type, "bias")):
        if t[0] == _FLOAT_MODE[0]:
            logging.warning("%s %s is unquantized!", layer.name, what)
    return int(ops_count), n_weights, number_of_bias, weight_type, bias_type


def extract_model_operations(in_model: keras.Model) -> dict:
    """QKeras' operation table: ``{layer_name: {'type': get_operation_type(...),
    'number_of_operations', 'number_of_weights', 'number_of_bias', 'type_of_weights' ((mode, bits,
    signed), a list of two for separable layers), 'type_of_bias'}}`` for every QDense, QConv1D,
    QConv2D, QDepthwiseConv2D, QSeparableConv1D and QSeparableConv2D (folded layers unfolded first).
    Operations count multiplications."""
    model = _unfolded(in_model)
    cache_q = create_activation_cache(model)
    operations = {}
    for layer in model.layers:
        if layer.__class__.__name__ not in _OPERATION_LAYERS:
            continue
        n_ops, n_weights, n_bias, weight_type, bias_type = _layer_counts(
            layer, _shape(layer.input), _shape(layer.output)
        )
        operations[layer.name] = {
            "type": get_operation_type(layer, cache_q),
            "number_of_operations": n_ops,
            "number_of_weights": n_weights,
            "number_of_bias": n_bias,
            "type_of_weights": weight_type,
            "type_of_bias": bias_type,
        }
    return operations
