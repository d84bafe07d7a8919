"""The pass that keeps the table of an hgq-compat LUT node (`ir.lut.UnaryLUT`) indexed right.

`RebuildLUTTables` (appended to the 'convert' flow, after bit_exact and the fuse and input passes)
rebuilds the table, and its type, for the final input type if that changed (a fused quantizer, an
added sign bit when the producer also feeds a WRAP quantizer), and gives a too-wide table input the
saturating type the table was built for.
"""

from __future__ import annotations

from hls4ml.model.layers import Layer
from hls4ml.model.optimizer import OptimizerPass
from hls4ml.model.optimizer.passes import bit_exact as _be
from hls4ml.model.types import FixedPrecisionType, NamedType

from ..ir import Attr
from ..ir.lut import CLIP_ATTR, LutFunction, UnaryLUT, saturated, set_table, set_table_type, type_key


class RebuildLUTTables(OptimizerPass):
    """Rebuild the table of an hgq-compat LUT whose input type changed after bit_exact."""

    name = "hgq_compat_rebuild_lut_tables"

    def match(self, node: Layer) -> bool:
        if not isinstance(node, UnaryLUT):
            return False
        if node.attributes.get(CLIP_ATTR) is not None and not saturated(node):
            return True
        return node.attributes.get(Attr.LUT_FOR) != type_key(self._input_precision(node))

    @staticmethod
    def _saturate_input(node: UnaryLUT) -> None:
        """Give the producer of a too-wide table input the narrower saturating type the table was
        built for (`LutFunction.saturation_clip`); only where the table is its sole consumer."""
        clip = node.attributes.get(CLIP_ATTR)
        if clip is None or saturated(node):
            return
        producer = node.get_input_node()
        var = producer.get_output_variable()
        if len(_be.get_output_layers(producer)) != 1 or var.name in node.model.outputs:
            fn: LutFunction = node.attributes[Attr.LUT]
            raise fn._refuse(
                f"becomes a lookup table indexed by its input, which has "
                f"{var.type.precision.width} bits; saturating its input to {clip[0]} bits would keep "
                f"every output, but {producer.name!r} also feeds other layers",
                fn.too_wide_hint,
            )
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
                f"{precision}; a table needs a fixed-point input (convert with bit_exact, the default)"
            )
        return precision

    def transform(self, model, node: UnaryLUT) -> bool:
        self._saturate_input(node)
        set_table(node, self._input_precision(node))
        set_table_type(node)
        return False  # the graph is unchanged
