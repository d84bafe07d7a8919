"""The LUT IR node of hgq-compat and the pass that keeps its table indexed right.

``nnet::unary_lut`` indexes its table with all raw bits of the input, so the table is valid for
one input type only, and the converter cannot know that type: hls4ml's bit_exact pass infers it
(the producing layer's exact output type), and a later pass may change it (a fused quantizer,
an added sign bit when the producer also feeds a WRAP quantizer). Hence:

- `UnaryLUT` (hls4ml's UnaryLUT, still named 'UnaryLUT' for the backend templates) has its own
  bit_exact rules. ``produce_kif`` builds the table for the type bit_exact gives the input (the
  producer's produced (k, i, f), maxed over elements) and returns the table's range, so that
  every downstream type is inferred from the real outputs. ``request_kif`` asks the producer
  for everything (k=1, i=f=126): the input is never truncated, so it is the exact value Keras
  feeds the quantizer.
- `RebuildLUTTables` (appended to the 'convert' flow, after bit_exact and the fuse and input
  passes) rebuilds the table, and its type, for the final input type if that changed.
- The table type is `LutFunction.table_kif` (bit_exact's ``register_precision`` rule for it too):
  activation tables hold float32 values that may need more than hls4ml's 32 fractional bits.

Both act on hgq-compat's LUT nodes only (HGQ2's UnaryLUTs keep hls4ml's rules).
"""

from __future__ import annotations

import numpy as np
from hls4ml.model.layers import Layer, register_layer
from hls4ml.model.optimizer import OptimizerPass
from hls4ml.model.optimizer.passes import bit_exact as _be
from hls4ml.model.optimizer.passes.hgq_proxy_model import UnaryLUT as _HlsUnaryLUT
from hls4ml.model.types import FixedPrecisionType, NamedType, SaturationMode

from ..handlers.lut import IR_LUT_CLASS_NAME, LutFunction
from ..ir import Attr


CLIP_ATTR = "hgq_compat_lut_clip"
"""UnaryLUT attribute: the saturating input type (width, integer, signed) the table was built for,
when the input bit_exact inferred is too wide (`LutFunction.saturation_clip`), else None."""


def _saturated(node: "UnaryLUT") -> bool:
    """True once the table's input variable has the saturating type in `CLIP_ATTR`."""
    precision = node.get_input_variable().type.precision
    return (isinstance(precision, FixedPrecisionType) and _type_key(precision) == node.attributes[CLIP_ATTR]
            and precision.saturation_mode == SaturationMode.SAT)


class UnaryLUT(_HlsUnaryLUT):
    """hls4ml's UnaryLUT whose table comes from an hgq-compat quantizer (`LutFunction`)."""


def _type_key(precision: FixedPrecisionType) -> tuple[int, int, bool]:
    return int(precision.width), int(precision.integer), bool(precision.signed)


def set_table(node: UnaryLUT, precision: FixedPrecisionType) -> np.ndarray:
    """Fill the node's table for input type ``precision`` (all of the node's table state)."""
    fn: LutFunction = node.attributes[Attr.LUT]
    table = fn.table(*_type_key(precision))
    var = node.attributes["table"]
    var.data = table
    var.shape = list(table.shape)
    var.data_length = int(table.size)
    var.nonzeros = int(np.count_nonzero(table))
    var.nzeros = var.data_length - var.nonzeros
    var.min, var.max = np.min(table), np.max(table)
    node.attributes["table_data"] = table
    node.attributes["table_size"] = int(table.size)
    node.attributes[Attr.LUT_FOR] = _type_key(precision)
    return table


def _produce_kif(layer: UnaryLUT) -> tuple[np.ndarray, ...]:
    lk, li, lf = _be.produce_kif(_be.get_input_layers(layer)[0])
    # the type bit_exact's register_precision gives the producer: its produced kif (the LUT
    # requests everything), reduced to one type over the elements
    precision = _be.to_hls4ml_fixed(int(np.max(lk)), int(np.max(li)), int(np.max(lf)), "lut_in").precision
    clip = layer.attributes[Attr.LUT].saturation_clip(*_type_key(precision))
    layer.attributes[CLIP_ATTR] = clip
    if clip is not None:  # the producer's result will saturate to this type (RebuildLUTTables)
        precision = FixedPrecisionType(clip[0], clip[1], clip[2], "TRN", "SAT")
    table = set_table(layer, precision)
    shape = _be.get_output_shape(layer)
    return tuple(np.full(shape, a, dtype=np.int16) for a in layer.attributes[Attr.LUT].table_kif(table))


def _request_kif(layer: UnaryLUT) -> tuple:
    return _be._request_kif.dispatch(Layer)(layer)  # every bit: a table needs the exact input


class RebuildLUTTables(OptimizerPass):
    """Rebuild the table of an hgq-compat LUT whose input type changed after bit_exact."""

    name = "hgq_compat_rebuild_lut_tables"

    def match(self, node: Layer) -> bool:
        if not isinstance(node, UnaryLUT):
            return False
        if node.attributes.get(CLIP_ATTR) is not None and not _saturated(node):
            return True
        return node.attributes.get(Attr.LUT_FOR) != _type_key(self._input_precision(node))

    @staticmethod
    def _saturate_input(node: UnaryLUT) -> None:
        """Give the producer of a too-wide table input the narrower saturating type the table was
        built for (`LutFunction.saturation_clip`); only where the table is its sole consumer."""
        clip = node.attributes.get(CLIP_ATTR)
        if clip is None or _saturated(node):
            return
        producer = node.get_input_node()
        var = producer.get_output_variable()
        if len(_be.get_output_layers(producer)) != 1 or var.name in node.model.outputs:
            fn: LutFunction = node.attributes[Attr.LUT]
            raise fn._refuse(f"becomes a lookup table indexed by its input, which has "
                             f"{var.type.precision.width} bits; saturating its input to {clip[0]} bits would keep "
                             f"every output, but {producer.name!r} also feeds other layers", fn.too_wide_hint)
        new_type = NamedType(f"{producer.name}_result_t", FixedPrecisionType(clip[0], clip[1], clip[2], "TRN", "SAT"))
        var.type = new_type
        producer.attributes["result_t"] = new_type
        node.model.config.layer_name_precision[f"{producer.name}_result"] = str(new_type.precision)

    @staticmethod
    def _input_precision(node: UnaryLUT) -> FixedPrecisionType:
        precision = node.get_input_variable().type.precision
        if not isinstance(precision, FixedPrecisionType):
            raise NotImplementedError(
                f"layer {node.attributes[Attr.LUT].layer_name!r}: the input of its lookup table has type "
                f"{precision}; a table needs a fixed-point input (convert with bit_exact, the default)")
        return precision

    def transform(self, model, node: UnaryLUT) -> bool:
        self._saturate_input(node)
        set_table(node, self._input_precision(node))
        set_table_type(node)
        return False  # the graph is unchanged


def set_table_type(node: UnaryLUT) -> None:
    """Give the node's table the exact type of its entries (`LutFunction.table_kif`)."""
    table = node.attributes["table"].data
    k, i, f = node.attributes[Attr.LUT].table_kif(table)
    table_t = _be.to_hls4ml_fixed(k, i, f, f"{node.name}_table_t")
    node.attributes["table_t"] = table_t
    var = node.attributes["table"]
    var.type = table_t
    var.update_precision(table_t.precision)
    node.model.config.layer_name_precision[f"{node.name}_table"] = str(table_t.precision)


def _register_precision(node: UnaryLUT) -> None:
    _be.default_register_precision(node)
    set_table_type(node)


_registered = False


def register_lut_ir() -> None:
    """Register the LUT IR layer and its bit_exact rules with hls4ml (idempotent)."""
    global _registered
    if _registered:
        return
    _be._produce_kif.register(UnaryLUT)(_produce_kif)
    _be._request_kif.register(UnaryLUT)(_request_kif)
    _be.register_precision.register(UnaryLUT)(_register_precision)
    register_layer(IR_LUT_CLASS_NAME, UnaryLUT)
    _registered = True
