"""Divide-and-conquer hardware design search (QKeras ``qkeras.qtools.DnC.divide_and_conquer``).

For a target throughput, walks a sequential model from its output back to its input and picks,
per layer, the unroll factors (input/output channels, kernel height/width) and elements per
clock that minimise the total ACE cost (MAC gates + register/ROM bits), by dynamic programming
over the elements per clock passed between layers.
"""

from __future__ import annotations

import enum
import logging
from typing import Any

import numpy as np

from ... import quantizers
from .. import generate_layer_data_type_map, qgraph, qtools_util
from . import dnc_layer_cost_ace


class CostMode(enum.Enum):
    ACE = 1  # cost from the theoretical equations
    PE_AREA = 2  # compute area only
    PE_BW_AREA = 3  # compute area and memory bandwidth


class DivideConquerGraph:
    """The QTools graph and data type map of a model, with accessors by node index or layer."""

    def __init__(self, model: Any, source_quantizers: Any = None):
        self._model = model
        self._source_quantizer_list = source_quantizers or [quantizers.quantized_bits(8, 0, 1)]
        self._graph, self._source_quantizer_list = qgraph.CreateGraph(
            model, source_quantizers, "quantized_bits(8, 0, 1)"
        )
        qgraph.GraphPropagateActivationsToEdges(self._graph)
        self._layer_map = generate_layer_data_type_map.generate_layer_data_type_map(
            self._graph, self._source_quantizer_list, is_inference=False, keras_accumulator=None, for_reference=False
        )["layer_data_type_map"]
        self._layer_to_idx_dict = {self.idx_to_layer(idx): idx for idx in self._graph.nodes}

    def idx_to_layer(self, idx: int) -> Any:
        return self._graph.nodes[idx]["layer"][0]

    def layer_to_idx(self, layer: Any) -> Any:
        return self._layer_to_idx_dict.get(layer, None)

    def _idx(self, node: int | Any) -> Any:
        return node if isinstance(node, int) else self.layer_to_idx(node)

    def get_first_node(self) -> int:
        return qgraph.SOURCE

    def is_first_node(self, node: int | Any) -> bool:
        return self._idx(node) == qgraph.SOURCE

    def get_last_node(self) -> int:
        return qgraph.SINK

    def is_last_node(self, node: int | Any) -> bool:
        return self._idx(node) == qgraph.SINK

    def get_prev_nodes(self, node: int | Any) -> list:
        return list(self._graph.predecessors(self._idx(node)))

    def get_next_nodes(self, node: int | Any) -> list:
        return list(self._graph.successors(self._idx(node)))

    def get_layer_quantizer_bitwidth(self, node: int | Any) -> dict:
        """Input, weight, MAC, accumulator and output bits of a layer (0 for SOURCE/SINK)."""
        layer = self.idx_to_layer(node) if isinstance(node, int) else node
        if not layer:
            return {"input_bits": 0, "weight_bits": 0, "mac_bits": 0, "acc_bits": 0, "output_bits": 0}
        item = self._layer_map[layer]
        weight = qtools_util.get_val(item, "weight_quantizer")
        mac = qtools_util.get_val(item, "multiplier")
        acc = qtools_util.get_val(item, "accumulator")
        input_bits = qtools_util.get_val(item, "input_quantizer_list")[0].bits
        return {
            "input_bits": input_bits,
            "weight_bits": weight.bits if weight else 0,
            "mac_bits": mac.output.bits if mac else input_bits,
            "acc_bits": acc.output.bits if acc else input_bits,
            "output_bits": qtools_util.get_val(item, "output_quantizer").bits,
        }

    def get_layer_mac_count(self, node: int | Any) -> int:
        """Multiplications of a layer."""
        layer = self.idx_to_layer(node) if isinstance(node, int) else node
        return qtools_util.get_val(self._layer_map[layer], "operation_count", 0) if layer else 0

    def get_layer_shapes(self, node: int | Any) -> dict:
        """weight_shape, output_shape and input_shape_list of a layer."""
        layer = self.idx_to_layer(node) if isinstance(node, int) else node
        inputs = qtools_util.layer_input_shape(layer) if layer else 0
        if not isinstance(inputs, list):
            inputs = [inputs]
        return {
            "weight_shape": qtools_util.get_val(self._layer_map[layer], "w_shapes", 0) if layer else 0,
            "output_shape": qtools_util.get_val(self._layer_map[layer], "output_shapes", 0) if layer else 0,
            "input_shape_list": inputs,
        }


class Choice:
    """One combination of hardware design parameters: l = OutElementPerClk / ComputeOutElementPerClk,
    k = InElementPerClk / ComputeInElementPerClk, and the four unroll factors."""

    def __init__(
        self,
        l: float = 0,
        k: float = 0,
        cin_unroll: int = 0,
        cout_unroll: int = 0,
        kh_unroll: int = 0,
        kw_unroll: int = 0,
    ):
        self.k = k
        self.l = l
        self.cin_unroll = cin_unroll
        self.cout_unroll = cout_unroll
        self.kh_unroll = kh_unroll
        self.kw_unroll = kw_unroll

    def __str__(self) -> str:
        return (
            f"Choice(k={self.k}, l={self.l}, cin_unroll={self.cin_unroll}, cout_unroll={self.cout_unroll} "
            f"kh_unroll={self.kh_unroll}, kw_unroll={self.kw_unroll})"
        )


def _layer_info(layer: Any) -> tuple:
    return tuple(
        qtools_util.get_layer_info(layer, key)
        for key in ("input_channel", "output_channel", "kernel_height", "kernel_width", "layer_type")
    )


def get_valid_unrolls(layer: Any, cout_unroll: int, target_pe_throughput: float) -> list:
    """(cin, kh, kw) unrolls whose compute throughput reaches the target."""
    input_channel, output_channel, kernel_height, kernel_width, layer_type = _layer_info(layer)
    if layer_type in (
        "QDepthwiseConv2D",
        "QAveragePooling2D",
        "MaxPooling2D",
        "QGlobalAveragePooling2D",
        "GlobalMaxPooling2D",
    ):
        cin_unrolls = [cout_unroll]
    else:
        cin_unrolls = qtools_util.find_divisors(input_channel)
    valid = []
    for cin_unroll in cin_unrolls:
        for kw_unroll in qtools_util.find_divisors(kernel_width):
            for kh_unroll in qtools_util.find_divisors(kernel_height):
                throughput = get_pe_throughput(
                    layer_type,
                    cin_unroll,
                    cout_unroll,
                    kh_unroll,
                    kw_unroll,
                    input_channel,
                    output_channel,
                    kernel_height,
                    kernel_width,
                )
                if throughput >= target_pe_throughput:
                    valid.append((cin_unroll, kh_unroll, kw_unroll))
    return valid


def get_per_layer_cost(
    layer_quantizer_bitwidth: dict,
    layer_mac_count: int,
    layer_shapes: dict,
    cin_unroll: int,
    cout_unroll: int,
    kh_unroll: int,
    kw_unroll: int,
    InElementPerClk: float,
    OutElementPerClk: float,
    mode: CostMode,
) -> float:
    """Gates of a layer: MACs x unrolls, plus input/output registers and weight ROM."""
    assert mode == CostMode.ACE, "Only CostMode.ACE is supported for now."
    bits = layer_quantizer_bitwidth
    mac_gates = dnc_layer_cost_ace.get_ace_mac_gates(
        xbit=bits["input_bits"], wbit=bits["weight_bits"], abit=bits["acc_bits"], regen_params=False
    )
    pe_area = mac_gates * cin_unroll * cout_unroll * kh_unroll * kw_unroll
    gates = dnc_layer_cost_ace.MemoryGatesPerBit
    memory_area = (
        InElementPerClk * bits["input_bits"] * gates["Register"]
        + OutElementPerClk * bits["output_bits"] * gates["Register"]
        + np.prod(layer_shapes["weight_shape"]) * bits["weight_bits"] * gates["ROM"]
    )
    return pe_area + memory_area


def get_valid_candidates(input_value: int, output_to_input_ratio_max: int) -> list:
    """Divisors of ``input_value``, then its multiples up to ``output_to_input_ratio_max``."""
    candidates = qtools_util.find_divisors(input_value)
    if output_to_input_ratio_max >= 2:
        candidates += [input_value * x for x in range(2, output_to_input_ratio_max + 1)]
    return candidates


def get_InBufferThru(InElementPerClk: float, input_channel: int) -> float:
    return InElementPerClk / input_channel


def get_OutBufferThru(
    OutElementPerClk: float, output_channel: int, kernel_height: int, kernel_width: int, layer_type: str
) -> float:
    if layer_type in ("UpSampling2D",):
        return OutElementPerClk / (output_channel * kernel_height * kernel_width)
    return OutElementPerClk / output_channel


def is_bufferThru_greater_than_targetThru(
    layer_type: str,
    InElementPerClk: int,
    OutElementPerClk: int,
    input_channel: int,
    output_channel: int,
    kernel_height: int,
    kernel_width: int,
    target_out_throughput: float,
    target_in_throughput: float,
) -> bool:
    """Whether the input and output buffers keep up with the target throughputs."""
    in_buf = get_InBufferThru(InElementPerClk, input_channel)
    out_buf = get_OutBufferThru(
        OutElementPerClk=OutElementPerClk,
        output_channel=output_channel,
        kernel_height=kernel_height,
        kernel_width=kernel_width,
        layer_type=layer_type,
    )
    return in_buf >= target_out_throughput and out_buf >= target_in_throughput


def set_best_global_cost_in_paths(
    OutElementPerClk_list: list,
    paths: dict,
    layer_idx: int,
    cur_layer_idx: int,
    layer_quantizer_bitwidth: dict,
    layer_mac_count: int,
    layer_shapes: dict,
    mode: CostMode,
) -> None:
    """Keeps, for the first node, the OutElementPerClk with the lowest total cost."""

    def cost(out_per_clk: Any) -> tuple:
        layer_cost = get_per_layer_cost(
            layer_quantizer_bitwidth, layer_mac_count, layer_shapes, 0, 0, 0, 0, 0, out_per_clk, mode
        )
        return layer_cost, layer_cost + paths[layer_idx][out_per_clk]["acc_cost"], out_per_clk

    layer_cost, best_cost, best_out = min(map(cost, OutElementPerClk_list), key=lambda x: x[1])
    paths[cur_layer_idx] = {
        best_out: {
            "choice": Choice().__str__(),
            "cur_cost": layer_cost,
            "acc_cost": best_cost,
            "OutElementPerClk": best_out,
        }
    }


def backtrack(graph: DivideConquerGraph, paths: dict) -> tuple:
    """(best choice per node from the first to the last, the best total cost)."""
    best_path = {}
    layer_idx = graph.get_first_node()
    best_out = list(paths[layer_idx].keys())[0]
    best_entry = paths[layer_idx][best_out]
    layer = graph.idx_to_layer(layer_idx)
    best_entry["layer_name"] = layer.name if layer else "None"
    best_path[layer_idx] = best_entry
    best_out = best_entry["OutElementPerClk"]
    best_cost = best_entry["acc_cost"]
    layer_idx = graph.get_next_nodes(layer_idx)[0]
    while not graph.is_last_node(layer_idx):
        best_entry = paths[layer_idx][best_out]
        layer = graph.idx_to_layer(layer_idx)
        best_entry["layer_name"] = layer.name if layer else "None"
        best_path[layer_idx] = best_entry
        best_out = best_entry["OutElementPerClk"]
        layer_idx = graph.get_next_nodes(layer_idx)[0]
    return best_path, best_cost


def update_cur_best_choices(
    cur_best_choices: dict,
    OutElementPerClk: int,
    prev_OutElementPerClk: int,
    cur_layer_cost: float,
    accumulative_cost: float,
    choice: Choice,
) -> None:
    """Keeps, per previous layer's OutElementPerClk, the cheapest choice."""
    entry = cur_best_choices.get(prev_OutElementPerClk, None)
    if accumulative_cost < (entry["acc_cost"] if entry else np.inf):
        cur_best_choices[prev_OutElementPerClk] = {
            "choice": choice.__str__(),
            "cur_cost": cur_layer_cost,
            "acc_cost": accumulative_cost,
            "OutElementPerClk": OutElementPerClk,
        }


def get_ComputeInElementPerClk(
    layer_type: str, cin_unroll: int, cout_unroll: int, kh_unroll: int, kw_unroll: int
) -> Any:
    if layer_type in ("QConv2D", "QDense"):
        return cin_unroll * kh_unroll * kw_unroll
    if layer_type in ("QDepthwiseConv2D", "QAveragePooling2D", "MaxPooling2D"):
        return cout_unroll * kh_unroll * kw_unroll
    if layer_type in ("QGlobalAveragePooling2D", "GlobalMaxPooling2D", "UpSampling2D"):
        return cout_unroll
    if layer_type in ("Concatenate",):
        return cin_unroll
    return None


def get_InElementPerClk_base(ComputInElementPerClk: int, kh_unroll: int, kw_unroll: int) -> int:
    return int(ComputInElementPerClk / (kh_unroll * kw_unroll))


def get_pe_throughput(
    layer_type: str,
    cin_unroll: int,
    cout_unroll: int,
    kh_unroll: int,
    kw_unroll: int,
    input_channel: int,
    output_channel: int,
    kernel_height: int,
    kernel_width: int,
) -> float:
    """Fraction of a layer's work done per clock with these unrolls."""
    if layer_type in ("QConv2D", "QDense"):
        return (
            1.0
            * cin_unroll
            * cout_unroll
            * kh_unroll
            * kw_unroll
            / (input_channel * output_channel * kernel_height * kernel_width)
        )
    if layer_type in ("QDepthwiseConv2D", "QAveragePooling2D", "MaxPooling2D", "UpSampling2D"):
        return 1.0 * cout_unroll * kh_unroll * kw_unroll / (output_channel * kernel_height * kernel_width)
    if layer_type in ("QGlobalAveragePooling2D", "GlobalMaxPooling2D", "Concatenate"):
        return 1.0 * cout_unroll / output_channel
    raise ValueError(f"Unspported layer type: {layer_type}")


def get_target_throughputs(layer: Any, target_out_throughput: float) -> tuple:
    """(input throughput, compute throughput) a layer needs for ``target_out_throughput``."""

    def size(shape: tuple) -> float:
        return np.nanprod([x if x is not None else np.nan for x in shape])

    if layer:
        target_in = (
            target_out_throughput
            * size(qtools_util.layer_input_shape(layer)[:-1])
            / size(qtools_util.layer_output_shape(layer)[:-1])
        )
    else:
        target_in = target_out_throughput
    return target_in, target_out_throughput


def calc_hw_params(
    graph: DivideConquerGraph,
    target_OutElementPerClk: int,
    target_out_throughput: float,
    input_quantizer_bits: int,
    compute_to_memory_max_ratio: int = 4,
    memory_to_unroll_max_ratio: int = 4,
    mode: CostMode = CostMode.ACE,
) -> tuple:
    """(best design parameters per node, best total cost); ({}, None) when a layer has no valid choice."""
    layer_idx = graph.get_last_node()
    paths = {
        layer_idx: {
            target_OutElementPerClk: {
                "choice": Choice().__str__(),
                "cur_cost": 0,
                "acc_cost": 0,
                "OutElementPerClk": -1,
            }
        }
    }
    while graph.get_prev_nodes(layer_idx):
        cur_layer_idx = graph.get_prev_nodes(layer_idx)[0]
        cur_layer = graph.idx_to_layer(cur_layer_idx)
        target_in_throughput, target_pe_throughput = get_target_throughputs(cur_layer, target_out_throughput)
        out_list = list(paths[layer_idx].keys())
        bits = graph.get_layer_quantizer_bitwidth(cur_layer)
        mac_count = graph.get_layer_mac_count(cur_layer)
        shapes = graph.get_layer_shapes(cur_layer)
        if graph.is_first_node(cur_layer_idx):
            set_best_global_cost_in_paths(out_list, paths, layer_idx, cur_layer_idx, bits, mac_count, shapes, mode)
            break
        input_channel, output_channel, kernel_height, kernel_width, layer_type = _layer_info(cur_layer)
        cout_divisors = qtools_util.find_divisors(output_channel)
        cur_best: dict = {}
        for out_per_clk in out_list:
            if layer_type in (
                "QBatchNormalization",
                "QActivation",
                "Dropout",
                "Reshape",
                "Activation",
                "ZeroPadding2D",
            ):  # pass-through layers cost nothing
                update_cur_best_choices(
                    cur_best,
                    OutElementPerClk=out_per_clk,
                    prev_OutElementPerClk=out_per_clk,
                    cur_layer_cost=0,
                    accumulative_cost=paths[layer_idx][out_per_clk]["acc_cost"],
                    choice=Choice(),
                )
                continue
            for compute_out in get_valid_candidates(out_per_clk, compute_to_memory_max_ratio):
                l = out_per_clk / compute_out
                cout_unroll = compute_out
                if cout_unroll not in cout_divisors:
                    continue
                for cin_unroll, kh_unroll, kw_unroll in get_valid_unrolls(cur_layer, cout_unroll, target_pe_throughput):
                    compute_in = get_ComputeInElementPerClk(
                        layer_type,
                        cin_unroll=cin_unroll,
                        cout_unroll=cout_unroll,
                        kh_unroll=kh_unroll,
                        kw_unroll=kw_unroll,
                    )
                    base = get_InElementPerClk_base(
                        ComputInElementPerClk=compute_in, kh_unroll=kh_unroll, kw_unroll=kw_unroll
                    )
                    for in_per_clk in get_valid_candidates(base, memory_to_unroll_max_ratio):
                        k = cin_unroll / in_per_clk
                        if is_bufferThru_greater_than_targetThru(
                            layer_type=layer_type,
                            InElementPerClk=in_per_clk,
                            OutElementPerClk=out_per_clk,
                            input_channel=input_channel,
                            output_channel=output_channel,
                            kernel_height=kernel_height,
                            kernel_width=kernel_width,
                            target_out_throughput=target_out_throughput,
                            target_in_throughput=target_in_throughput,
                        ):
                            cost = get_per_layer_cost(
                                bits,
                                mac_count,
                                shapes,
                                cin_unroll,
                                cout_unroll,
                                kh_unroll,
                                kw_unroll,
                                in_per_clk,
                                out_per_clk,
                                mode,
                            )
                            update_cur_best_choices(
                                cur_best,
                                out_per_clk,
                                in_per_clk,
                                cost,
                                cost + paths[layer_idx][out_per_clk]["acc_cost"],
                                Choice(l, k, cin_unroll, cout_unroll, kh_unroll, kw_unroll),
                            )
        if not cur_best:
            logging.error("Cannot find any valid HW choice for layer %s! Exit!", cur_layer.name)
            return {}, None
        paths[cur_layer_idx] = cur_best
        layer_idx = cur_layer_idx
        target_out_throughput = target_in_throughput
    return backtrack(graph, paths)


def estimate_model_cost(
    model: Any,
    input_quantizer_bits: int = 8,
    target_OutElementPerClk: int = 10,
    target_out_throughput: float = 1.0,
    compute_to_memory_max_ratio: int = 4,
    memory_to_unroll_max_ratio: int = 4,
    mode: CostMode = CostMode.ACE,
) -> tuple:
    """(best design parameters per node, best total cost) of a sequential model (see `calc_hw_params`)."""
    logging.info("Estimating model design params and cost...")
    graph = DivideConquerGraph(model)
    best_path, best_cost = calc_hw_params(
        graph=graph,
        target_OutElementPerClk=target_OutElementPerClk,
        target_out_throughput=target_out_throughput,
        input_quantizer_bits=input_quantizer_bits,
        compute_to_memory_max_ratio=compute_to_memory_max_ratio,
        memory_to_unroll_max_ratio=memory_to_unroll_max_ratio,
        mode=mode,
    )
    logging.info("best_design_params: %s", best_path)
    return best_path, best_cost
