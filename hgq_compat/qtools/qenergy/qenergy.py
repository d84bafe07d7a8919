"""Energy (pJ) of a quantized model from its data type map (QKeras ``qtools.qenergy.qenergy``):
memory reads/writes of inputs, parameters and outputs, and the operators' cost."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import qtools_util
from ..generate_layer_data_type_map import KERAS_LAYERS, QKERAS_LAYERS
from ..quantized_operators.quantizer_impl import IQuantizer
from ..settings import cfg


def _positive(poly_name: str) -> Any:
    return lambda x: max(getattr(cfg, poly_name)(x), 0)


OP = {
    "fp32": {"add": _positive("fp32_add"), "mul": _positive("fp32_mul")},
    "fp16": {"add": _positive("fp16_add"), "mul": _positive("fp16_mul")},
    "fpm": {
        **{kind: _positive("fpm_add") for kind in ("add", "mux", "xor", "and", "or", "shifter")},
        "mul": _positive("fpm_mul"),
    },
    "sram": {"rd": _positive("sram_rd"), "wr": _positive("sram_rd"), "mul_factor": cfg.sram_mul_factor},
    "dram": {"rd": _positive("dram_rd"), "wr": _positive("dram_rd"), "mul_factor": cfg.dram_mul_factor},
}


def get_op_type(quantizer: IQuantizer) -> str:
    """'fp32'/'fp16' for floats, 'fpm' (fixed point) otherwise."""
    assert isinstance(quantizer, IQuantizer)
    return "fp" + str(quantizer.bits) if quantizer.is_floating_point else "fpm"


def memory_read_energy(
    is_input_layer: bool,
    tensor_shape: Any,
    mode: str,
    min_sram_size: float,
    rd_wr_on_io: bool,
    quantizer_bits: float,
    is_tensor: bool = True,
) -> float:
    """Energy to bring a tensor (batch axis dropped when ``is_tensor``) from DRAM/SRAM."""
    if is_input_layer:
        mode = "dram" if rd_wr_on_io else "sram"
    if is_tensor:
        tensor_shape = tensor_shape[1:]
    total_bits = np.prod(tensor_shape) * quantizer_bits
    total_bits_log2 = np.log2(max(total_bits, min_sram_size))
    energy = 0
    if mode == "dram":
        energy += OP["dram"]["rd"](total_bits)
        if rd_wr_on_io:
            energy += np.ceil(total_bits * OP["sram"]["mul_factor"]) * OP["sram"]["wr"](total_bits_log2)
    elif mode == "sram":
        energy += np.ceil(total_bits * OP["sram"]["mul_factor"]) * OP["sram"]["rd"](total_bits_log2)
    return energy


def parameter_read_energy(
    layer: Any, layer_item: Any, weights_on_memory: str, min_sram_size: float, rd_wr_on_io: bool
) -> float:
    """Energy to read a layer's weights and bias (batch normalization: its four parameter vectors)."""
    node_type = layer.__class__.__name__
    energy = 0
    if node_type in ("QBatchNormalization", "BatchNormalization"):
        size = len(layer.get_weights()[0])
        for key in ("gamma_quantizer", "beta_quantizer", "mean_quantizer", "variance_quantizer"):
            q = layer_item[key]
            if q:
                energy += memory_read_energy(
                    False, size, weights_on_memory, min_sram_size, rd_wr_on_io, q.bits, is_tensor=False
                )
    elif node_type in QKERAS_LAYERS or node_type in KERAS_LAYERS:
        weight_quantizer = qtools_util.get_val(layer_item, "weight_quantizer")
        bias_quantizer = qtools_util.get_val(layer_item, "bias_quantizer")
        energy += memory_read_energy(
            False,
            qtools_util.get_val(layer_item, "w_shapes"),
            weights_on_memory,
            min_sram_size,
            rd_wr_on_io,
            weight_quantizer.bits,
            is_tensor=False,
        )
        if bias_quantizer:
            energy += memory_read_energy(
                False,
                qtools_util.get_val(layer_item, "b_shapes"),
                weights_on_memory,
                min_sram_size,
                rd_wr_on_io,
                bias_quantizer.bits,
                is_tensor=False,
            )
    return energy


def memory_write_energy(
    is_output_layer: bool, tensor_shape: Any, mode: str, min_sram_size: float, rd_wr_on_io: bool, quantizer_bits: float
) -> float:
    """Energy to write a tensor (batch axis dropped) to SRAM/DRAM."""
    if is_output_layer:
        mode = "dram" if rd_wr_on_io else "sram"
    total_bits = np.prod(tensor_shape[1:]) * quantizer_bits
    total_bits_log2 = np.log2(max(total_bits, min_sram_size))
    energy = 0
    if mode == "dram":
        if rd_wr_on_io:
            energy += np.ceil(total_bits * OP["sram"]["mul_factor"]) * OP["sram"]["rd"](total_bits_log2)
        energy += OP["dram"]["wr"](total_bits)
    elif mode == "sram":
        energy += np.ceil(total_bits * OP["sram"]["mul_factor"]) * OP["sram"]["wr"](total_bits_log2)
    return energy


def _gate_energy(op: Any) -> float:
    return op.gate_factor * OP[get_op_type(op.output)][op.implemented_as()](op.gate_bits)


def energy_estimate(
    model: Any,
    layer_map: dict,
    weights_on_memory: str,
    activations_on_memory: str,
    min_sram_size: float,
    rd_wr_on_io: bool,
) -> dict:
    """{layer name: {"class_name", "energy": {"inputs", "outputs", "parameters", "op_cost"}}} (pJ, rounded
    to 0.01) and "total_cost" (int) for the layers of ``layer_map``."""
    output_layers = layer_map["output_layers"]
    input_layers = layer_map["input_layers"]
    data_types = layer_map["layer_data_type_map"]
    result: dict = {}
    total = 0
    for layer in model.layers:
        if layer not in data_types:
            continue
        item = data_types[layer]
        input_quantizer_list = qtools_util.get_val(item, "input_quantizer_list")
        operation_count = qtools_util.get_val(item, "operation_count")
        output_quantizer = qtools_util.get_val(item, "output_quantizer")
        is_input_layer = layer in input_layers
        is_output_layer = layer in output_layers

        input_shapes = qtools_util.layer_input_shape(layer)
        if not isinstance(input_shapes, list):
            input_shapes = [input_shapes]
        input_energy = sum(
            memory_read_energy(is_input_layer, shape, activations_on_memory, min_sram_size, rd_wr_on_io, q.bits)
            for shape, q in zip(input_shapes, input_quantizer_list)
        )
        parameter_energy = parameter_read_energy(layer, item, weights_on_memory, min_sram_size, rd_wr_on_io)
        output_energy = memory_write_energy(
            is_output_layer,
            qtools_util.get_val(item, "output_shapes"),
            activations_on_memory,
            min_sram_size,
            rd_wr_on_io,
            output_quantizer.bits,
        )

        name = layer.__class__.__name__
        op_energy = 0
        if name in ("QActivation", "QAdaptiveActivation", "Activation"):
            pass
        elif name in ("QBatchNormalization", "BatchNormalization"):
            for key in ("internal_divide_quantizer", "internal_multiplier"):
                if item[key]:
                    op_energy += _gate_energy(item[key])
            op_energy *= operation_count
        elif name in ("Add", "Multiply", "Subtract"):
            merge = qtools_util.get_val(item, "multiplier")
            op_energy = (len(input_quantizer_list) - 1) * operation_count * _gate_energy(merge)
        elif name in ("AveragePooling2D", "AvgPool2D", "GlobalAvgPool2D", "GlobalAveragePooling2D"):
            # QKeras reads an "accumulator" entry here that pooling layers do not have (AttributeError)
            raise NotImplementedError(
                f"QTools' energy model has no operator cost for {name} ({layer.name}): QKeras looks up an "
                "'accumulator' its pooling layers do not have and fails; use QAveragePooling2D / "
                "QGlobalAveragePooling2D (no operator cost) or leave the layer out of the energy estimate"
            )
        elif name in (
            "QConv2D",
            "QConv1D",
            "QDepthwiseConv2D",
            "QDense",
            "Conv2D",
            "Conv1D",
            "DepthwiseConv2D",
            "Dense",
        ):
            multiplier = qtools_util.get_val(item, "multiplier")
            accumulator = qtools_util.get_val(item, "accumulator")
            add = OP[get_op_type(accumulator.output)]["add"](accumulator.output.bits)
            op_energy = operation_count * (_gate_energy(multiplier) + add)

        result[layer.name] = {
            "class_name": name,
            "energy": {
                "inputs": float(f"{input_energy:.2f}"),
                "outputs": float(f"{output_energy:.2f}"),
                "parameters": float(f"{parameter_energy:.2f}"),
                "op_cost": float(f"{op_energy:.2f}"),
            },
        }
        total += input_energy + output_energy + parameter_energy + op_energy
    result["total_cost"] = int(total)
    return result
