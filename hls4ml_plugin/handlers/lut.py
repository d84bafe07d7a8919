"""Non-linear elementwise quantizers and activations as hls4ml lookup tables: the IR configs.

`needs_lut` tells which quantizer layers become a table; `lut_node` makes the config of the
``UnaryLUT`` node (`ir.lut.UnaryLUT`, whose table `ir.lut.LutFunction` builds once bit_exact knows
its input type). What a table can reproduce exactly, and why, is described in `ir.lut`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ir import Attr
from ..ir.lut import IR_LUT_CLASS_NAME, LutFunction


def needs_lut(quantizer: Any) -> bool:
    """True for a quantizer layer that is an elementwise function but not a fixed-point quantizer
    (a plain quantizer, possibly after a relu, is a `FixedPointQuantizer` node instead)."""
    spec = quantizer.spec
    if not spec.is_fixed_point:
        return True
    if spec.po2_scale:
        return False  # a batch-dependent scale: refused by quantizer_kif
    signed_or_wrapped = spec.keep_negative or spec.overflow == "WRAP"
    return spec.prefn not in (None, "relu") or (spec.prefn == "relu" and signed_or_wrapped)


def lut_node(
    quantizer: Any, name: str, layer_name: str, shape: tuple[int, ...], input_name: str, output_name: str
) -> dict[str, Any]:
    """IR config of the UnaryLUT node applying ``quantizer`` (a quantizer layer, or an elementwise
    activation function or layer) elementwise; its table is built for the final input type by
    ``passes.lut``."""
    return {
        "name": name,
        Attr.KERAS_LAYER: layer_name,
        "class_name": IR_LUT_CLASS_NAME,
        "activation": "unary_lut",
        "table_data": np.zeros(1),  # placeholder: the input type is known only after bit_exact
        "n_in": int(np.prod(shape)),
        "input_keras_tensor_names": [input_name],
        "output_keras_tensor_names": [output_name],
        "input_shape": [list(shape)],
        Attr.LUT: LutFunction(quantizer, layer_name),
    }
