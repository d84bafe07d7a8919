"""QTools' data type map as JSON-ready dicts (QKeras ``qtools.interface``)."""

from __future__ import annotations

import collections
from typing import Any

from . import qtools_util


def print_qstats(graph: Any) -> None:
    """Prints the multiplier types and counts of a data type map: `generate_layer_data_type_map`'s
    result or its ``layer_data_type_map`` (QKeras' version calls the module and fails)."""
    if isinstance(graph, dict) and "layer_data_type_map" in graph:
        graph = graph["layer_data_type_map"]
    counter: collections.Counter = collections.Counter()
    print()
    print("Number of operations in model:")
    for layer, data_type in graph.items():
        multiplier = qtools_util.get_val(data_type, "multiplier")
        count = qtools_util.get_val(data_type, "operation_count")
        if multiplier is None:
            continue
        detail = "{}_{}, total_bits:{}, int_bits:{}".format(
            "signed" if multiplier.output.is_signed == 1 else "unsigned",
            multiplier.implemented_as(),
            multiplier.output.bits,
            multiplier.output.int_bits,
        )
        print(f"{layer.name}: {count} x {detail}")
        counter[detail] += count
    print()
    print("Number of operation types in model:")
    for detail, total in counter.items():
        print(f"{detail}, x {total}")


def populate_quantizer(quantizer: Any, shape: Any = None, implemented_as: str | None = None) -> dict:
    """The JSON fields of a data type: quantizer_type, bits and, by kind, int_bits (sign included),
    is_signed, max_value or values; plus shape (batch as -1) and op_type when given."""
    out: dict = collections.OrderedDict()
    if quantizer is None:
        return out
    out["quantizer_type"] = quantizer.name
    if quantizer.is_floating_point:
        out["bits"] = quantizer.bits
    elif quantizer.is_po2:
        out["bits"] = quantizer.bits
        out["is_signed"] = quantizer.is_signed
        out["max_value"] = quantizer.max_val_po2
    elif quantizer.mode in (3, 4):
        out["bits"] = quantizer.bits
        out["int_bits"] = quantizer.int_bits
        out["is_signed"] = quantizer.is_signed
        out["values"] = [0, 1] if quantizer.mode == 4 else [-1, 1]
    elif quantizer.mode == 2:
        out["bits"] = 2
        out["int_bits"] = 2
        out["is_signed"] = 1
        out["values"] = [0, -1, 1]
    elif quantizer.mode == 0:
        out["bits"] = quantizer.bits
        out["int_bits"] = quantizer.int_bits + quantizer.is_signed
        out["is_signed"] = quantizer.is_signed
    if shape is not None:
        if isinstance(shape, tuple) and shape[0] is None:
            shape = (-1,) + tuple(shape[1:])
        out["shape"] = shape
    if implemented_as is not None:
        out["op_type"] = implemented_as
    return out


def map_to_json(mydict: dict) -> dict:
    """The per-layer dict of `generate_layer_data_type_map`'s result (keyed by layer name), with
    ``source_quantizers`` first."""
    output: dict = collections.OrderedDict()
    sources = [populate_quantizer(q) for q in mydict["source_quantizer_list"]]
    if sources:
        output["source_quantizers"] = sources

    def set_layer_item(
        item: dict,
        key: str,
        feature: Any,
        shape: Any = None,
        is_compound_datatype: bool = False,
        output_key_name: str | None = None,
    ) -> None:
        """Adds ``feature``'s data type ``key`` (a compound one, i.e. an operator: its output type
        and op_type) to ``item`` under ``output_key_name`` or ``key``."""
        val = qtools_util.get_val(feature, key)
        if val is None:
            return
        quantizer, implemented_as = (val.output, val.implemented_as()) if is_compound_datatype else (val, None)
        entry = populate_quantizer(quantizer, shape=shape, implemented_as=implemented_as)
        if entry:
            item[output_key_name or key] = entry

    for layer, feature in mydict["layer_data_type_map"].items():
        item: dict = collections.OrderedDict()
        item["layer_type"] = layer.__class__.__name__
        item["input_quantizer_list"] = [
            populate_quantizer(q) for q in qtools_util.get_val(feature, "input_quantizer_list")
        ]
        set_layer_item(item, "output_quantizer", feature, shape=qtools_util.get_val(feature, "output_shapes"))
        if item["layer_type"] in ("QBatchNormalization", "BatchNormalization"):
            for key in ("gamma_quantizer", "beta_quantizer", "mean_quantizer", "variance_quantizer"):
                set_layer_item(item, key, feature)
            for key in ("internal_divide_quantizer", "internal_multiplier", "internal_accumulator"):
                set_layer_item(item, key, feature, is_compound_datatype=True)
        elif item["layer_type"] in (
            "AveragePooling2D",
            "AvgPool2D",
            "GlobalAvgPool2D",
            "GlobalAveragePooling2D",
            "QAveragePooling2D",
            "QGlobalAveragePooling2D",
        ):
            set_layer_item(item, "average_quantizer", feature)
            for key in ("pool_sum_accumulator", "pool_avg_multiplier"):
                set_layer_item(item, key, feature, is_compound_datatype=True)
        else:
            set_layer_item(item, "weight_quantizer", feature, shape=qtools_util.get_val(feature, "w_shapes"))
            set_layer_item(item, "bias_quantizer", feature, shape=qtools_util.get_val(feature, "b_shapes"))
            key_name = layer.__class__.__name__ + "_quantizer" if qtools_util.is_merge_layers(layer) else None
            set_layer_item(item, "multiplier", feature, is_compound_datatype=True, output_key_name=key_name)
            set_layer_item(item, "accumulator", feature, is_compound_datatype=True)
            if qtools_util.get_val(feature, "fused_accumulator"):
                for key in ("bn_beta_quantizer", "bn_mean_quantizer", "bn_inverse_quantizer"):
                    set_layer_item(item, key, feature)
                set_layer_item(item, "fused_accumulator", feature, is_compound_datatype=True)
        item["operation_count"] = qtools_util.get_val(feature, "operation_count")
        output[layer.name] = item
    return output
