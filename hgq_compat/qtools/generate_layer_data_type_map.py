"""Data types of every layer's inputs, weights, multiplier, accumulator and output
(QKeras ``qtools.generate_layer_data_type_map``)."""

from __future__ import annotations

import collections
import copy
import sys
from typing import Any

import networkx as nx
import numpy as np

from . import qgraph, qtools_util, quantized_operators
from .quantized_operators import adder_factory
from .quantized_operators import quantizer_factory as quantizer_factory_module
from .quantized_operators.fused_bn_factory import FusedBNFactory
from .settings import cfg


class TagMissingError(ValueError):
    pass


LayerDataType = collections.namedtuple(
    "LayerDataType",
    [
        "input_quantizer_list",
        "multiplier",
        "accumulator",
        "weight_quantizer",
        "w_shapes",
        "bias_quantizer",
        "b_shapes",
        "output_quantizer",
        "output_shapes",
        "operation_count",
    ],
)

QKERAS_LAYERS = ["QDense", "QConv1D", "QConv2D", "QDepthwiseConv2D", "QConv2D", "QConv2DTranspose"]
KERAS_LAYERS = ["Dense", "Conv1D", "Conv2D", "DepthwiseConv2D", "Conv2DTranspose"]
AVERAGE_POOLING_LAYERS = [
    "AveragePooling2D",
    "AvgPool2D",
    "GlobalAvgPool2D",
    "GlobalAveragePooling2D",
    "QAveragePooling2D",
    "QGlobalAveragePooling2D",
]


def _defaults(factory: Any, n: int, keras_mode: str | None) -> list:
    mode = keras_mode or cfg.default_interm_quantizer
    return [factory.make_default_quantizer(mode=mode) for _ in range(n)]


def get_bn_quantizers(
    layer: Any,
    quantizer_factory: Any,
    cfg: Any,
    keras_quantizer: Any,
    input_quantizer: Any,
    is_inference: bool,
    for_reference: bool,
    model_weights_already_quantized: bool,
) -> tuple:
    """(gamma, beta, mean, variance, inverse) data types of a batch normalization layer. A missing
    beta/mean quantizer takes the input type; other missing ones the default intermediate type."""
    if for_reference or not qtools_util.has_quantizers(layer):
        gamma, beta, mean, variance, inverse = _defaults(quantizer_factory, 5, keras_quantizer)
    else:
        q_gamma, q_beta, q_mean, q_variance, q_inverse = qtools_util.layer_quantizers(layer)

        def make(q: Any, fallback_input: bool) -> Any:
            if q:
                return quantizer_factory.make_quantizer(q)
            if fallback_input:
                return quantizer_factory.clone_quantizer(input_quantizer)
            return quantizer_factory.make_default_quantizer(mode=cfg.default_interm_quantizer)

        beta, mean = make(q_beta, True), make(q_mean, True)
        variance, gamma, inverse = make(q_variance, False), make(q_gamma, False), make(q_inverse, False)

    if is_inference:
        weights = qtools_util.get_weights(layer, model_weights_already_quantized)
        num_weights = 4 - (not layer.scale) - (not layer.center)
        if layer.scale and gamma is not None and gamma.is_po2:
            gamma.update_inference_values(weights[0])
        if variance is not None and variance.is_po2:
            variance.update_inference_values(weights[num_weights - 1])
    return gamma, beta, mean, variance, inverse


def update_output_quantizer_in_graph(
    graph: Any, node_id: int, quantizer_factory: Any, new_quantizer: Any, for_reference: bool
) -> Any:
    """The node's output data type: its own output quantizer, else ``new_quantizer`` (then put on
    the outgoing edges)."""
    q = graph.nodes[node_id]["out_quantizer"]
    if for_reference or not q or not quantizer_factory.is_quantizer_supported(q):
        q = new_quantizer
        qgraph.GraphUpdateEdge(graph, node_id, q)
    return quantizer_factory.make_quantizer(q)


def _weight_and_bias_quantizers(
    layer: Any, factory: Any, keras_quantizer: Any, for_reference: bool, optional_bias: bool
) -> tuple:
    """(weight type, bias type, QKeras weight quantizer or None) of a dense/conv-like layer."""
    if for_reference or not qtools_util.has_quantizers(layer):
        weight, bias = _defaults(factory, 2, keras_quantizer)
        return weight, bias, None
    q_weight, q_bias = qtools_util.layer_quantizers(layer)[:2]
    for what, q in (("weight", q_weight), ("bias", q_bias)):
        if not factory.is_quantizer_supported(q):
            raise TagMissingError(f"Unsupported {what} quantizer {q} on this layer: {layer}")
    weight = factory.make_quantizer(q_weight)
    bias = factory.make_quantizer(q_bias) if (q_bias or not optional_bias) else None
    return weight, bias, q_weight


def _reference_outputs(factory: Any, keras_accumulator: Any, *operators: Any) -> None:
    """For reference (float/Keras) layers: every operator's output becomes the reference type."""
    mode = keras_accumulator or cfg.default_interm_quantizer
    for op in operators:
        if op:
            op.output = factory.make_default_quantizer(mode=mode)


def generate_layer_data_type_map(
    graph: Any,
    source_quantizer_list: list,
    is_inference: bool,
    keras_quantizer: Any = None,
    keras_accumulator: Any = None,
    for_reference: bool = False,
    debug: bool = False,
    model_weights_already_quantized: bool = True,
    hw_weight_dict: dict | None = None,
) -> dict:
    """The data type map of the graph's layers.

    Args:
      graph: from `qgraph.CreateGraph` (after `qgraph.GraphPropagateActivationsToEdges`).
      source_quantizer_list: data types of the model inputs.
      is_inference: the weights are trained (power-of-two types count their distinct values).
      keras_quantizer / keras_accumulator: types for weights / MAC results of reference (float) layers.
      for_reference: give every layer the reference types (a baseline model).
      model_weights_already_quantized: the weights need no quantizer applied here.
      hw_weight_dict: `hgq_compat.utils.model_save_quantized_weights`' output; layers with
        ``enable_bn_fusing`` are fused with the batch normalization after them.

    Returns:
      {"source_quantizer_list", "output_layers", "input_layers", "layer_data_type_map"}; the map is
      layer -> LayerDataType or dict.
    """
    factory = quantizer_factory_module.QuantizerFactory()
    layer_data_type_map: dict = collections.OrderedDict()
    output_layers = [
        graph.nodes[u]["layer"][0] for u in graph.predecessors(qgraph.SINK) if u not in (qgraph.SOURCE, qgraph.SINK)
    ]
    input_layers = [
        graph.nodes[u]["layer"][0] for u in graph.successors(qgraph.SOURCE) if u not in (qgraph.SOURCE, qgraph.SINK)
    ]
    input_quantizer_list: list = []
    input_shape = None
    operation_count = 0

    for node_id in nx.topological_sort(graph):
        node = graph.nodes[node_id]
        node_type = node["type"][-1]
        layer = node["layer"][0]
        if layer is None:  # SOURCE / SINK
            continue
        is_input_layer = any(layer is x for x in input_layers)
        class_name = layer.__class__.__name__
        w_shapes = b_shapes = None
        q_weight = None
        output_shapes = qtools_util.layer_output_shape(layer)
        weights = layer.get_weights()
        if weights:
            w_shapes = weights[0].shape
            b_shapes = weights[0].shape[-1] if weights[0].ndim else None  # (a scalar first weight has none)

        input_qe_list = qtools_util.get_input_quantizers_advanced(graph, node_id, is_input_layer, factory, cfg)
        if input_qe_list:
            input_quantizer_list = [q for q, _ in input_qe_list]
            sizes = [np.prod(edge["shape"][1:]) for _, edge in input_qe_list]
            input_shape = input_qe_list[int(np.argmax(sizes))][1]["shape"]  # the largest input (first on ties)
            operation_count = qtools_util.get_operation_count(layer, input_shape)

        def output_of(q: Any) -> Any:
            return update_output_quantizer_in_graph(graph, node_id, factory, q, for_reference)

        if qtools_util.is_merge_layers(layer):
            merge = quantized_operators.MergeFactory().make_quantizer(input_qe_list, class_name)
            if merge is None or not hasattr(merge, "output"):
                raise NotImplementedError(
                    f"QTools has no data type for the merge layer {class_name} "
                    f"({layer.name}); QKeras supports Add, Multiply, Maximum, Minimum, "
                    "Average and Concatenate"
                )
            if for_reference:
                _reference_outputs(factory, keras_accumulator, merge)
            layer_data_type_map[layer] = LayerDataType(
                input_quantizer_list,
                merge,
                None,
                None,
                None,
                None,
                None,
                output_of(merge.output),
                output_shapes,
                operation_count,
            )

        elif qtools_util.is_shape_alternation_layers(layer) or "UpSampling" in class_name:
            layer_data_type_map[layer] = LayerDataType(
                input_quantizer_list,
                None,
                None,
                None,
                None,
                None,
                None,
                output_of(input_quantizer_list[0]),
                output_shapes,
                operation_count,
            )

        elif class_name in AVERAGE_POOLING_LAYERS:
            input_quantizer = input_qe_list[0][0]
            if class_name in ("AveragePooling2D", "AvgPool2D", "QAveragePooling2D"):
                pool_size = tuple(list(layer.pool_size) + [1, 1])
            else:
                pool_size = tuple(list(input_shape)[1:-1] + [1, 1])
            multipliers = quantized_operators.MultiplierFactory()
            summed = multipliers.make_multiplier(input_quantizer, input_quantizer)
            summed.output = input_quantizer  # the sum of inputs, as an accumulator of "products" x
            accumulator = quantized_operators.AccumulatorFactory().make_accumulator(pool_size, summed, use_bias=False)
            average_quantizer = multiplier = None
            if class_name in ("QAveragePooling2D", "QGlobalAveragePooling2D"):
                average_quantizer = factory.make_quantizer(qtools_util.layer_quantizers(layer)[0])
                multiplier = multipliers.make_multiplier(accumulator.output, average_quantizer)
            if for_reference:
                _reference_outputs(factory, keras_accumulator, multiplier, accumulator)
            layer_quantizer = multiplier.output if multiplier is not None else accumulator.output
            layer_data_type_map[layer] = {
                "input_quantizer_list": input_quantizer_list,
                "average_quantizer": average_quantizer,
                "pool_sum_accumulator": accumulator,
                "pool_avg_multiplier": multiplier,
                "output_quantizer": output_of(layer_quantizer),
                "output_shapes": output_shapes,
                "operation_count": operation_count,
            }

        elif node_type in ("QActivation", "QAdaptiveActivation", "Activation"):
            if for_reference or not hasattr(layer, "quantizer") and node_type != "QAdaptiveActivation":
                layer_quantizer = factory.make_default_quantizer(mode=keras_accumulator or cfg.default_interm_quantizer)
            else:
                layer_quantizer = qtools_util.activation_quantizer(layer)
                if not factory.is_quantizer_supported(layer_quantizer):
                    raise TagMissingError(f"Unsupported activation quantizer {layer_quantizer} on this layer: {layer}")
                if not layer_quantizer:
                    layer_quantizer = factory.make_default_quantizer(mode=cfg.default_interm_quantizer)
            layer_data_type_map[layer] = LayerDataType(
                input_quantizer_list,
                None,
                None,
                None,
                w_shapes,
                None,
                b_shapes,
                output_of(layer_quantizer),
                output_shapes,
                operation_count,
            )

        elif node_type in ("QBatchNormalization", "BatchNormalization"):
            input_quantizer = input_qe_list[0][0]
            if hw_weight_dict is not None and hw_weight_dict[layer.name]["enable_bn_fusing"]:
                # fused into the previous layer: passes its input through
                if for_reference and keras_accumulator and not is_input_layer:
                    input_quantizer = factory.make_default_quantizer(mode=keras_accumulator)
                layer_data_type_map[layer] = {
                    "input_quantizer_list": input_quantizer_list,
                    "output_quantizer": output_of(input_quantizer),
                    "output_shapes": input_shape,
                    "operation_count": operation_count,
                }
            else:
                gamma, beta, mean, variance, _ = get_bn_quantizers(
                    layer,
                    factory,
                    cfg,
                    keras_quantizer,
                    input_quantizer,
                    is_inference,
                    for_reference,
                    model_weights_already_quantized,
                )
                qbn = quantized_operators.QBNFactory()
                qbn.make_quantizer(input_quantizer, gamma, beta, mean, variance, layer.scale, layer.center)
                if for_reference or not qtools_util.has_quantizers(layer):
                    interm = cfg.default_interm_quantizer
                    for op in (
                        qbn.internal_divide_quantizer,
                        qbn.internal_multiplier,
                        qbn.internal_accumulator,
                        qbn.internal_output,
                    ):
                        if op:
                            op.output = factory.make_default_quantizer(mode=interm)
                    if keras_accumulator:
                        for op in (
                            qbn.internal_divide_quantizer,
                            qbn.internal_multiplier,
                            qbn.internal_accumulator,
                            qbn.internal_output.output,
                        ):  # (sic) QKeras sets the output's output
                            if op:
                                op.output = factory.make_default_quantizer(mode=keras_accumulator)
                if not layer.center:
                    qbn.beta_quantizer = None
                if not layer.scale:
                    qbn.gamma_quantizer = None
                layer_data_type_map[layer] = {
                    "input_quantizer_list": input_quantizer_list,
                    "gamma_quantizer": gamma,
                    "beta_quantizer": beta,
                    "mean_quantizer": mean,
                    "variance_quantizer": variance,
                    "gamma_range": getattr(layer, "gamma_range", None),
                    "beta_range": getattr(layer, "beta_range", None),
                    "internal_divide_quantizer": qbn.internal_divide_quantizer,
                    "internal_multiplier": qbn.internal_multiplier,
                    "internal_accumulator": qbn.internal_accumulator,
                    "output_quantizer": output_of(qbn.internal_output.output),
                    "output_shapes": input_shape,
                    "operation_count": operation_count,
                }

        elif node_type in QKERAS_LAYERS or node_type in KERAS_LAYERS:
            input_quantizer = input_qe_list[0][0]
            weight_quantizer, bias_quantizer, q_weight = _weight_and_bias_quantizers(
                layer, factory, keras_quantizer, for_reference, optional_bias=False
            )
            if is_inference:
                weights = qtools_util.get_weights(layer, model_weights_already_quantized)
                if weight_quantizer.is_po2:
                    weight_quantizer.update_inference_values(weights[0])
                if bias_quantizer.is_po2:
                    bias_quantizer.update_inference_values(weights[1])
            multiplier = quantized_operators.MultiplierFactory().make_multiplier(weight_quantizer, input_quantizer)
            enable_bn_fusing = (
                hw_weight_dict is not None
                and hw_weight_dict.get(layer.name, None)
                and hw_weight_dict[layer.name].get("enable_bn_fusing", None)
            )
            if enable_bn_fusing and q_weight:
                qtools_util.adjust_multiplier_for_auto_po2(multiplier, q_weight)
            kernel_shape = layer.get_weights()[0].shape
            if node_type in ("QDepthwiseConv2D", "DepthwiseConv2D"):
                kernel_shape = kernel_shape[:-2] + (1, 1)
            kernel_accumulator = quantized_operators.AccumulatorFactory().make_accumulator(
                kernel_shape, multiplier, use_bias=False
            )
            if not layer.use_bias:
                bias_quantizer = None
                accumulator = kernel_accumulator
            else:
                accumulator = adder_factory.IAdder().make_quantizer(kernel_accumulator.output, bias_quantizer)
            if for_reference or not qtools_util.has_quantizers(layer):
                _reference_outputs(factory, keras_accumulator, accumulator, multiplier)

            if enable_bn_fusing:
                bn_layer_name = hw_weight_dict[layer.name]["fused_bn_layer_name"]
                bn_layer = graph.nodes[list(graph.successors(node_id))[0]]["layer"][0]
                assert bn_layer.name == bn_layer_name, (
                    "Batchnorm layer in the graph has different name from hw_weight_dict: "
                    f"{layer.name} vs {bn_layer_name}. Check both places to ensure they are matching."
                )
                _, beta, mean, _, inverse = get_bn_quantizers(
                    bn_layer,
                    factory,
                    cfg,
                    keras_quantizer,
                    input_quantizer,
                    is_inference,
                    for_reference,
                    model_weights_already_quantized,
                )
                fused_bn = FusedBNFactory()
                fused_bn.make_quantizer(
                    prev_output_quantizer=kernel_accumulator.output,
                    prev_bias_quantizer=bias_quantizer,
                    beta_quantizer=beta,
                    mean_quantizer=mean,
                    inverse_quantizer=inverse,
                    use_beta=bn_layer.center,
                    use_bias=layer.use_bias,
                    qkeras_inverse_quantizer=getattr(bn_layer, "inverse_quantizer", None),
                )
                if for_reference or not qtools_util.has_quantizers(layer):
                    _reference_outputs(factory, keras_accumulator, fused_bn.internal_accumulator)
                    fused_bn.internal_output.output = fused_bn.internal_accumulator.output
                layer_data_type_map[layer] = {
                    "input_quantizer_list": input_quantizer_list,
                    "multiplier": multiplier,
                    "accumulator": accumulator,
                    "weight_quantizer": weight_quantizer,
                    "w_shapes": w_shapes,
                    "bias_quantizer": bias_quantizer,
                    "b_shapes": b_shapes,
                    "bn_inverse_quantizer": inverse,
                    "bn_mean_quantizer": mean,
                    "bn_beta_quantizer": beta,
                    "fused_accumulator": fused_bn.internal_accumulator,
                    "output_quantizer": output_of(fused_bn.internal_accumulator.output),
                    "output_shapes": output_shapes,
                    "operation_count": operation_count,
                }
            else:
                if "quantized_bits" in str(q_weight) and q_weight.alpha == "auto_po2":
                    fused_accumulator = qtools_util.adjust_accumulator_for_auto_po2(
                        layer, multiplier, q_weight, bias_quantizer
                    )
                else:
                    fused_accumulator = accumulator
                layer_data_type_map[layer] = {
                    "input_quantizer_list": input_quantizer_list,
                    "multiplier": multiplier,
                    "accumulator": accumulator,
                    "weight_quantizer": weight_quantizer,
                    "w_shapes": w_shapes,
                    "bias_quantizer": bias_quantizer,
                    "b_shapes": b_shapes,
                    "fused_accumulator": fused_accumulator,
                    "output_quantizer": output_of(accumulator.output),
                    "output_shapes": output_shapes,
                    "operation_count": operation_count,
                }

        elif node_type in ("QConv2DBatchnorm", "QDepthwiseConv2DBatchnorm"):
            input_quantizer = input_qe_list[0][0]
            weight_quantizer, bias_quantizer, q_weight = _weight_and_bias_quantizers(
                layer, factory, keras_quantizer, for_reference, optional_bias=True
            )
            if is_inference:
                weights = qtools_util.get_weights(layer, model_weights_already_quantized)
                if weight_quantizer.is_po2:
                    weight_quantizer.update_inference_values(weights[0])
                if bias_quantizer and bias_quantizer.is_po2:
                    bias_quantizer.update_inference_values(weights[1])
            multiplier = quantized_operators.MultiplierFactory().make_multiplier(weight_quantizer, input_quantizer)
            if q_weight:
                qtools_util.adjust_multiplier_for_auto_po2(multiplier, q_weight)
            accumulator = quantized_operators.AccumulatorFactory().make_accumulator(
                layer.get_weights()[0].shape, multiplier, use_bias=bool(bias_quantizer)
            )
            if not bias_quantizer:  # the folded bias is as wide as the accumulator
                bias_quantizer = copy.deepcopy(accumulator.output)
                if not accumulator.output.is_floating_point:
                    accumulator.output.bits += 1
                    accumulator.output.int_bits += 1
            if for_reference or not qtools_util.has_quantizers(layer):
                _reference_outputs(factory, keras_accumulator, accumulator, multiplier)
            layer_data_type_map[layer] = LayerDataType(
                input_quantizer_list,
                multiplier,
                accumulator,
                weight_quantizer,
                w_shapes,
                bias_quantizer,
                b_shapes,
                output_of(accumulator.output),
                output_shapes,
                operation_count,
            )

        elif node_type:
            print(
                f"[WARNING] QTools cannot parse {node_type}. The input quatnizer of this layer is directly passed "
                "through to the output!",
                file=sys.stderr,
            )
            input_quantizer = input_qe_list[0][0]
            if for_reference and keras_accumulator and not is_input_layer:
                input_quantizer = factory.make_default_quantizer(mode=keras_accumulator)
            layer_data_type_map[layer] = LayerDataType(
                input_quantizer_list,
                None,
                None,
                None,
                None,
                None,
                None,
                output_of(input_quantizer),
                output_shapes,
                operation_count,
            )

    return {
        "source_quantizer_list": source_quantizer_list,
        "output_layers": output_layers,
        "input_layers": input_layers,
        "layer_data_type_map": layer_data_type_map,
    }
