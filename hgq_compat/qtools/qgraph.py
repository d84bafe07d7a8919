"""The model as a networkx graph for QTools (QKeras ``qtools.qgraph``).

Nodes are layers (``layer``, ``type`` = class name, ``out_quantizer``), edges the tensors between
them (``shape``, ``tensor``, ``quantizer`` of the data on the edge); SOURCE and SINK join the model
inputs and outputs. Shapes follow Keras 2: an input layer's shape is a one-item list.
"""

from __future__ import annotations

import logging
from typing import Any

import keras
import networkx as nx

from . import qtools_util
from .quantized_operators import quantizer_factory as quantizer_factory_module
from .settings import cfg

SOURCE = -1
SINK = -2


class WrongInputQuantizerError(ValueError):
    pass


def GraphRemoveNode(graph: nx.DiGraph, v: int) -> None:
    """Removes node ``v`` from u -> v -> w, connecting u -> w with v's outgoing edge attributes."""
    incoming = [u for u in graph.predecessors(v) if u != v]
    outgoing = [w for w in graph.successors(v) if w != v]
    for u in incoming:
        for w in outgoing:
            in_attr, out_attr = graph[u][v], graph[v][w]
            assert list(in_attr["shape"]) == list(out_attr["shape"])
            graph.add_edges_from([(u, w, out_attr)])
    graph.remove_node(v)


def GraphRemoveNodeWithNodeType(graph: nx.DiGraph, node_type: str) -> None:
    """Removes the nodes of class ``node_type``, reconnecting their neighbours."""
    for v in [v for v in graph.nodes if graph.nodes[v]["type"][-1] == node_type]:
        GraphRemoveNode(graph, v)


def GraphAddHiddenInputLayer(model: Any, graph: nx.DiGraph, input_quantizer_map: dict) -> None:
    """A Sequential model has no InputLayer in ``model.layers``: add one before its first layer."""
    node_id = -1
    for u in graph.nodes:
        node_id = max(node_id, u)
        if u in (SOURCE, SINK):
            continue
        if graph.nodes[u]["type"][-1] == "InputLayer":
            return
    node_id += 1
    first = [u for u in graph.nodes if u not in (SOURCE, SINK) and not list(graph.predecessors(u))]
    assert len(first) == 1
    input_shape = qtools_util.layer_input_shape(model.layers[0])
    layer = keras.layers.InputLayer(shape=input_shape[1:])
    graph.add_nodes_from([(node_id, {"layer": [layer], "type": ["InputLayer"], "out_quantizer": None})])
    edge = None
    for tensor_key, quantizer in input_quantizer_map.items():
        edge = (node_id, first[0], {"shape": [input_shape], "tensor": tensor_key, "quantizer": quantizer})
    graph.add_edges_from([edge])


def GraphAddSingleSourceSingleSink(graph: nx.DiGraph) -> None:
    """Connects SOURCE to the input layers and the layers without successors to SINK."""
    edges = []
    for u in graph.nodes:
        if u in (SOURCE, SINK):
            continue
        layer = graph.nodes[u]["layer"][-1]
        if graph.nodes[u]["type"][-1] == "InputLayer":
            tensor = layer.output
            edges.append((SOURCE, u, {"shape": [tuple(tensor.shape)], "tensor": tensor, "quantizer": None}))
        if graph.out_degree(u) == 0:
            tensor = layer.output
            edges.append((u, SINK, {"shape": tuple(tensor.shape), "tensor": tensor, "quantizer": None}))
    graph.add_edges_from(edges)


def GenerateInputQuantizerList(input_quantizers: Any, inputs_length: int, default_source_quantizer: str) -> list:
    """One data type per model input: ``input_quantizers`` (a list, one per input, or a single
    quantizer for all), or the default source quantizer when None."""
    factory = quantizer_factory_module.QuantizerFactory()
    if input_quantizers is None:
        logging.warning("************ SOURCE has no quantizer type. Use default quantizer instead")
        return [factory.make_default_quantizer(mode=default_source_quantizer) for _ in range(inputs_length)]
    if isinstance(input_quantizers, list) and inputs_length == len(input_quantizers):
        return [factory.make_quantizer(q) for q in input_quantizers]
    if not isinstance(input_quantizers, list):
        return [factory.make_quantizer(input_quantizers) for _ in range(inputs_length)]
    raise WrongInputQuantizerError(
        f"ERROR: Numer of input ({inputs_length}) must be the same as number of source "
        f"quantizers ({len(input_quantizers)})"
    )


def _tensor_keys(tensors: Any) -> list[int]:
    return [id(t) for t in keras.tree.flatten(tensors)]


def AddToNodeDict(layer_items: Any, layer: Any, nodes_dict: dict) -> None:
    """Files ``layer`` under each of the tensors ``layer_items`` (by identity)."""
    for key in _tensor_keys(layer_items):
        nodes_dict.setdefault(key, []).append(layer)


def GenerateGraphFromModel(model: Any, input_quantizers: Any, default_source_quantizer: str) -> tuple:
    """(graph of ``model``'s layers, input data types); the input types sit on the edges leaving the
    input layers."""
    input_quantizer_list = GenerateInputQuantizerList(input_quantizers, len(model.inputs), default_source_quantizer)
    input_quantizer_map = {id(t): input_quantizer_list[i] for i, t in enumerate(model.inputs)}

    graph = nx.DiGraph()
    nodes = [
        (SOURCE, {"layer": [None], "type": [None], "out_quantizer": None}),
        (SINK, {"layer": [None], "type": [None], "out_quantizer": None}),
    ]
    nodes += [
        (i, {"layer": [layer], "type": [layer.__class__.__name__], "out_quantizer": None})
        for i, layer in enumerate(model.layers)
    ]
    node_dict = {id(layer): i for i, layer in enumerate(model.layers)}
    graph.add_nodes_from(nodes)

    out_nodes: dict = {}
    for layer in model.layers:
        AddToNodeDict(layer.output, layer, out_nodes)

    # One edge per (producer, consumer, tensor), in the consumers' input order: QKeras iterates a set of
    # tensors (an arbitrary order, which orders a merge layer's inputs); hgq_compat follows the model.
    edges = []
    for v in model.layers:
        if isinstance(v, keras.layers.InputLayer):
            continue
        for key in _tensor_keys(v.input):
            for u in out_nodes.get(key, []):
                edges.append(
                    (
                        node_dict[id(u)],
                        node_dict[id(v)],
                        {
                            "shape": qtools_util.layer_output_shape(u),
                            "tensor": key,
                            "quantizer": input_quantizer_map.get(key),
                        },
                    )
                )
    graph.add_edges_from(edges)
    GraphAddHiddenInputLayer(model, graph, input_quantizer_map)
    return graph, input_quantizer_list


def GraphGetInputs(graph: nx.DiGraph) -> list:
    """The edges SOURCE -> input layer."""
    return [graph[SOURCE][u] for u in graph.successors(SOURCE) if u not in (SOURCE, SINK)]


def GraphGetOutputs(graph: nx.DiGraph) -> list:
    """The edges output layer -> SINK."""
    return [graph[u][SINK] for u in graph.predecessors(SINK) if u not in (SOURCE, SINK)]


def GraphPropagateActivationsToEdges(graph: nx.DiGraph, debug: bool = False) -> None:
    """Puts each layer's output quantizer on its outgoing edges: a QActivation's quantizer, another
    layer's activation (None for linear or no activation)."""
    for vertex in list(nx.topological_sort(graph))[1:-1]:
        for u, v in graph.edges(vertex):
            layer = graph.nodes[u]["layer"][0]
            activation = qtools_util.activation_quantizer(layer) if layer is not None else None
            result = None
            if layer is not None and hasattr(layer, "activation"):
                if (
                    graph.nodes[u]["type"][0] in ("QActivation", "QAdaptiveActivation")
                    or getattr(activation, "__name__", None) != "linear"
                ):
                    result = activation
            if debug:
                print(f"  {u}->{v}: {result}")
            graph[u][v]["quantizer"] = result
            graph.nodes[vertex]["out_quantizer"] = result


def PrintGraph(graph: nx.DiGraph, msg: str = "") -> None:
    """Prints the nodes and edges."""
    print()
    print(msg)
    print()
    print(
        "nodes:",
        [
            (
                u,
                graph.nodes[u]["layer"][0].name if graph.nodes[u]["layer"][0] is not None else "",
                graph.nodes[u]["type"],
            )
            for u in graph.nodes
        ],
    )
    print()
    print("edges:", [(u, v, graph[u][v]["shape"], graph[u][v]["quantizer"]) for u, v in graph.edges])


def CreateGraph(
    model: Any,
    input_quantizers: Any = None,
    default_source_quantizer: str = cfg.default_source_quantizer,
    debug: bool = False,
) -> tuple:
    """(graph with SOURCE/SINK, Dropout and InputLayer nodes removed; input data types)."""
    if keras.backend.image_data_format() != "channels_last":
        raise ValueError(
            "QTools counts operations for channels_last data only (keras.backend.image_data_format() "
            f"is {keras.backend.image_data_format()!r}); QKeras switches the global setting, "
            "hgq_compat does not change it for you"
        )
    for layer in model.layers:
        if getattr(layer, "hgq", False):
            raise NotImplementedError(
                f"QTools: layer {layer.name!r} ({type(layer).__name__}) is in HGQ mode; its trained per-element "
                "bitwidths are not QKeras quantizers, so QTools' data types would be wrong. Accepted: layers in "
                "qkeras mode. For HGQ cost use hgq_compat.model_ebops / layer_ebops"
            )
    graph, source_quantizer_list = GenerateGraphFromModel(model, input_quantizers, default_source_quantizer)
    GraphAddSingleSourceSingleSink(graph)
    GraphRemoveNodeWithNodeType(graph, "Dropout")
    GraphRemoveNodeWithNodeType(graph, "InputLayer")
    if debug:
        for vertex in list(nx.topological_sort(graph))[1:-1]:
            for _, v in graph.edges(vertex):
                if v != SINK:
                    print("... calling", graph.nodes[v]["layer"][0].name, graph.nodes[v]["type"])
    return graph, source_quantizer_list


def GraphUpdateEdge(graph: nx.DiGraph, node_id: int, quantizer_on_edge: Any) -> None:
    """Sets the quantizer on every edge leaving ``node_id``."""
    for u, v in graph.edges(node_id):
        graph[u][v]["quantizer"] = quantizer_on_edge
