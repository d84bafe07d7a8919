"""Handler of QSoftmax: hls4ml's own table-based Softmax with the layer's types.

`hgq_compat.layers.softmax.QSoftmax` computes in Keras exactly what hls4ml's ``nnet::softmax``
computes for the types it carries; the handler gives hls4ml those types (``exp_table_t``,
``inv_table_t``, ``inv_inp_t``, ``inp_norm_t``, the table sizes, ``exp_scale``, the
implementation) and marks the node ``_bit_exact`` so that hls4ml's bit_exact pass infers the
accumulator (wide enough to be exact) and the exact output type. 'latency' indexes its table with
the input itself: a quantizer node of the layer's input type comes first.
"""

from __future__ import annotations

from math import prod
from typing import Any

from hls4ml.converters.keras_v3._base import KerasV3LayerHandler
from hls4ml.model.types import FixedPrecisionType, RoundingMode, SaturationMode

from ..ir import Attr, quantizer_config


def fixed_type(spec: Any) -> FixedPrecisionType:
    """The ap_fixed type of a per-tensor `QuantSpec`."""
    k, i, f = int(spec.keep_negative), int(spec.integer), int(spec.fractional)
    return FixedPrecisionType(
        k + i + f,
        k + i,
        bool(k),
        rounding_mode=RoundingMode[spec.round_mode],
        saturation_mode=SaturationMode[spec.overflow],
    )


class QSoftmaxHandler(KerasV3LayerHandler):
    handles = ("hgq_compat.layers.softmax.QSoftmax",)

    def handle(self, layer: Any, in_tensors: Any, out_tensors: Any) -> tuple[dict[str, Any], ...]:
        full = tuple(in_tensors[0].shape)  # with the batch axis, as the layer's axis counts it
        if None in full[1:]:
            raise ValueError(f"layer {layer.name!r} (QSoftmax): hls4ml needs a fixed input shape, got {full}")
        ax = layer.axis % len(full)
        if ax == 0:
            raise ValueError(f"layer {layer.name!r} (QSoftmax): a softmax over the batch axis cannot be exported")
        n_outer, n_inner = prod(full[1:ax]), prod(full[ax + 1 :])
        stable = layer.implementation == "stable"
        config = {
            **self.default_config,
            "class_name": "Softmax",
            "activation": "softmax",
            "axis": -1 if ax == len(full) - 1 else ax,
            "n_in": prod(full[1:]),
            "n_outer": n_outer,
            "n_inner": n_inner,
            "implementation": layer.implementation,
            "exp_table_t": fixed_type(layer.exp_spec),
            "inv_table_t": fixed_type(layer.inv_spec),
            "inv_inp_t": fixed_type(layer.sum_spec),
            "exp_table_size": 2 ** int(layer.input_spec_q.bits) if stable else None,  # latency: set by bit_exact
            "inv_table_size": 2 ** int(layer.sum_spec.bits),
            "exp_scale": layer.input_scaler,
            "parallelization_factor": n_outer * n_inner,
            "_bit_exact": True,
            Attr.EXACT_SOFTMAX: True,
        }
        if stable:
            config["inp_norm_t"] = fixed_type(layer.input_spec_q)
            return (config,)
        q = layer.input_spec_q
        mid = f"{out_tensors[0].name}_{layer.name}_input"
        node = quantizer_config(
            f"{layer.name}_input",
            q.keep_negative,
            q.integer,
            q.fractional,
            full[1:],
            q.round_mode,
            q.overflow,
            in_tensors[0].name,
            mid,
        )
        config["input_keras_tensor_names"] = [mid]
        return node, config
