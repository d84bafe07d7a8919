"""Keep the second of two consecutive quantizers out of hls4ml's quantizer fusion.

hls4ml 1.3.0's ``fuse_fixed_point_quantizer`` removes every uniform quantizer node whose input
has a single consumer and writes the quantizer's type (with its rounding and overflow modes)
onto the producer's result type. With two uniform quantizers in a row (``Q1 -> Q2``, e.g. the
input quantizer of ``convert(..., input_precision=...)`` followed by the model's own first
QActivation), Q1 is fused into its producer, then Q2 into the same producer: the second type
overwrites the first (hls4ml only warns "result_t ... propagated multiple times"), so values are
rounded once, to Q2's grid, where Keras rounds twice (proven: 3,585 of 15,000 outputs differed
for float inputs near Q2's ties). The same happens through Reshape/Transpose nodes, which the
fusion passes through.

This pass (after 'bit_exact', before 'fuse_fixed_point_quantizer') replays the fusion in graph
order and keeps every hgq-compat quantizer whose fusion would overwrite a type already written,
as a quantizer node (``out = ap_fixed<...>(in)``: the two roundings happen in sequence, exactly).
Such nodes need io_parallel; with io_stream the model is refused, naming the layers.
"""

from __future__ import annotations

import numpy as np
from hls4ml.model.layers import Activation, Layer, Reshape, Transpose
from hls4ml.model.optimizer.optimizer import ModelOptimizerPass
from hls4ml.model.optimizer.passes.bit_exact import get_input_layers, get_output_layers
from hls4ml.model.optimizer.passes.hgq_proxy_model import FixedPointQuantizer as HlsFixedPointQuantizer

from ..ir import FixedPointQuantizer


def fusible(node: Layer) -> bool:
    """hls4ml's ``FuseFixedPointQuantizer.match``."""
    if not node.attributes.get("bit_exact_transformed", False):
        return False
    if isinstance(node, HlsFixedPointQuantizer):
        return all(np.unique(x).size == 1 for x in node.mask_kbi)
    return isinstance(node, Activation) and node.get_attr("activation") == "linear" and node.get_attr("trusted", False)


class KeepConsecutiveQuantizers(ModelOptimizerPass):
    """Clear ``bit_exact_transformed`` (what the fusion matches on) on hgq-compat quantizers whose
    fusion would overwrite a result type another fusion writes."""

    name = "hgq_compat_keep_consecutive_quantizers"

    def __init__(self) -> None:
        pass

    def transform(self, model) -> bool:
        from .checks import _uses_plugin

        if not _uses_plugin(model):
            return False
        io_type = model.config.get_config_value("IOType")
        removed: dict[str, Layer] = {}  # fused node name -> its upstream
        written: set[str] = set()  # nodes whose result type a fusion sets
        for node in list(model.graph.values()):
            if not fusible(node):
                continue
            upstream = get_input_layers(node)[0]
            while upstream.name in removed:
                upstream = removed[upstream.name]
            if len(_consumers(upstream, removed)) != 1:
                continue  # hls4ml does not fuse it
            targets = {t.name for t in _targets(upstream)}
            if not written & targets or not isinstance(node, FixedPointQuantizer):
                written |= targets  # not ours: hls4ml's behaviour (and warning) unchanged
                removed[node.name] = upstream
                continue
            if io_type != "io_parallel":
                raise NotImplementedError(
                    f"layer {node.name!r}: a quantizer right after another quantizer (before {upstream.name!r}'s "
                    f"output) cannot be exported exactly with io_type={io_type!r}: hls4ml merges both into one "
                    "type, which drops the first rounding, and keeps separate quantizers with io_parallel only; "
                    "use io_type='io_parallel', or remove one of the two quantizers"
                )
            node.attributes["bit_exact_transformed"] = False
            node.attributes["hgq_compat_kept_unfused"] = True
        return True


def _consumers(node: Layer, removed: dict[str, Layer]) -> list[Layer]:
    """Consumers of ``node`` once the fused nodes in ``removed`` are gone."""
    out = []
    for consumer in get_output_layers(node):
        out += _consumers(consumer, removed) if consumer.name in removed else [consumer]
    return out


def _targets(node: Layer) -> list[Layer]:
    """Nodes whose result type hls4ml's ``propagate`` sets when a quantizer fuses into ``node``."""
    targets = [node]
    while isinstance(node, (Reshape, Transpose)):
        inputs = get_input_layers(node)
        if not inputs or len(get_output_layers(inputs[0])) != 1:
            break
        node = inputs[0]
        targets.append(node)
    return targets
