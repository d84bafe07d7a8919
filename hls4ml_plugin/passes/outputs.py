"""A model output that is a model input after quantizer fusion gets its own variable.

hls4ml 1.3.0's ``fuse_fixed_point_quantizer`` removes a uniform quantizer and writes its type onto
the producer. When the producer is a model input and the quantizer is a model output (``Input ->
QActivation`` alone, or a first quantizer whose output is also returned), the output becomes the
input variable and the generated top function declares it twice (g++: "redefinition of 'x'"),
with io_parallel and io_stream alike. The fused type is right: the float -> fixed conversion at
the input is the quantizer, exactly. `CopyAliasedOutputs` (appended to the 'convert' flow, after
hls4ml's linear-activation elimination, which would remove the copy again) gives each such output
a linear activation node that copies the input into a variable of the same type, named after the
quantizer that was fused (`RecordOutputNames`, before the fusion, remembers the names).
"""

from __future__ import annotations

from copy import copy

from hls4ml.model.layers import Input
from hls4ml.model.optimizer.optimizer import ModelOptimizerPass
from hls4ml.model.types import NamedType

_OUTPUT_NAMES = "_hgq_compat_output_names"


class RecordOutputNames(ModelOptimizerPass):
    """Remember the model's output node names before quantizer fusion renames them."""

    name = "hgq_compat_record_output_names"

    def __init__(self) -> None:
        pass

    def transform(self, model) -> bool:
        if not hasattr(model, _OUTPUT_NAMES):
            setattr(model, _OUTPUT_NAMES, list(model.outputs))
        return True


class CopyAliasedOutputs(ModelOptimizerPass):
    """Give every model output that aliases a model input a copy node of the same type."""

    name = "hgq_compat_copy_aliased_outputs"

    def __init__(self) -> None:
        pass

    def transform(self, model) -> bool:
        inputs = {node.outputs[0]: node for node in model.graph.values() if isinstance(node, Input)}
        recorded = getattr(model, _OUTPUT_NAMES, [])
        for j, out in enumerate(list(model.outputs)):
            source = inputs.get(out)
            if source is None:
                continue
            name = recorded[j] if j < len(recorded) and recorded[j] not in model.graph else f"{out}_copy"
            while name in model.graph or name in model.output_vars:
                name += "_copy"
            model.outputs = [name if (k == j) else o for k, o in enumerate(model.outputs)]
            in_var = source.get_output_variable()
            node = model.make_node(
                "Activation",
                name,
                {"activation": "linear", "n_in": in_var.size(), "hgq_compat_output_copy": True},
                [out],
            )
            precision = copy(in_var.type.precision)
            new_type = NamedType("result_t" if len(model.outputs) == 1 else f"{name}_t", precision)
            if in_var.type.name == new_type.name:
                in_var.type.name = f"{source.name}_t"
                source.attributes["result_t"] = in_var.type
            node.get_output_variable().type = new_type
            node.attributes["result_t"] = new_type
            node.attributes["bit_exact_transformed"] = True
            model.config.layer_name_precision[name] = str(precision)
            graph = {}
            for key, value in model.graph.items():
                graph[key] = value
                if key == source.name:
                    graph[name] = node
            model.graph.clear()
            model.graph.update(graph)
        return True
