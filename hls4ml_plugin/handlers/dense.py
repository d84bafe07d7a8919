"""Handler of QDense: hls4ml's Dense with quantized weights, then the output quantizer (`_base`)."""

from __future__ import annotations

from hls4ml.converters.keras_v3.core import DenseHandler

from ._base import QLayerHandler


class QDenseHandler(QLayerHandler, DenseHandler):
    handles = ("hgq_compat.layers.dense.QDense",)
