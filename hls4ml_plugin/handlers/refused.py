"""Layers the hls4ml export refuses, each with the reason and what to change.

Recurrent layers are in `recurrent` (QLSTM and QGRU are refused there, with the measured reason).
Without these handlers hls4ml would fall back to its QKeras (Keras 2) converters, which need
the qkeras package and give no exactness guarantee.
"""

from __future__ import annotations

from typing import Any

from hls4ml.converters.keras_v3._base import KerasV3LayerHandler


class QAdaptiveActivationHandler(KerasV3LayerHandler):
    handles = ("hgq_compat.layers.adaptive.QAdaptiveActivation",)

    def handle(self, layer: Any, in_tensors: Any, out_tensors: Any) -> Any:
        try:
            suggestion = f"QActivation({layer.quantizer_string()!r})"
        except Exception:  # not built or per-channel: no single string
            suggestion = "QActivation with the quantizer it converged to"
        raise NotImplementedError(
            f"layer {layer.name!r} (QAdaptiveActivation): its integer bits follow a running estimate of the input "
            "range and its output is computed as x + (q(x) - x) in float32, which is not a fixed-point quantizer; "
            f"replace it with a fixed quantizer after training, e.g. {suggestion}"
        )


class QScaleShiftHandler(KerasV3LayerHandler):
    handles = ("hgq_compat.layers.scale_shift.QScaleShift",)

    def handle(self, layer: Any, in_tensors: Any, out_tensors: Any) -> Any:
        raise NotImplementedError(
            f"layer {layer.name!r} (QScaleShift): the hls4ml export of QKeras master's QScaleShift is not provided; "
            "express the per-channel scale and shift as a QDepthwiseConv2D with a 1x1 kernel (or a QDense) with the "
            "same quantizers, which export exactly"
        )
