"""Layers the hls4ml export refuses, each with the reason and what to change.

Without these handlers hls4ml would fall back to its QKeras (Keras 2) converters, which need
the qkeras package and give no exactness guarantee.
"""

from __future__ import annotations

from typing import Any

from hls4ml.converters.keras_v3._base import KerasV3LayerHandler

RECURRENT = ("QSimpleRNN", "QLSTM", "QGRU", "QBidirectional", "QSimpleRNNCell", "QLSTMCell", "QGRUCell")


class RecurrentHandler(KerasV3LayerHandler):
    handles = tuple(f"hgq_compat.layers.recurrent.{name}" for name in RECURRENT)

    def handle(self, layer: Any, in_tensors: Any, out_tensors: Any) -> Any:
        raise NotImplementedError(
            f"layer {layer.name!r} ({type(layer).__name__}): recurrent layers are not supported by the bit-exact "
            "hls4ml export. hls4ml 1.3.0 infers no exact types for recurrent layers (its bit_exact pass has no "
            "rules for them), and their tanh/sigmoid activations are table approximations, so the C simulation "
            "cannot be guaranteed to equal Keras. Export the layers before and after it separately, or replace it "
            "with feed-forward layers (QConv1D over time, or QDense on the flattened sequence)")


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
            f"replace it with a fixed quantizer after training, e.g. {suggestion}")
