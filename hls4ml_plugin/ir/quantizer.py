"""The hls4ml IR node that carries per-element precision, and its bit-exact rules.

hgq-compat emits its quantizers as `FixedPointQuantizer` nodes: hls4ml's own IR layer from
``hgq_proxy_model`` (per-element ``mask_kbi`` arrays), subclassed so that corrected
``bit_exact`` rules apply to hgq-compat's nodes only. The class keeps the ``__name__``
'FixedPointQuantizer' because backend templates match on the node's class name; it is
registered under `IR_CLASS_NAME`, which the handlers put in their configs.

hls4ml 1.3.0 bugs worked around here (each reproduced in the plugin's prototype):

1. SAT ceiling: bit_exact sets ``f = min(f, f_upstream)``, but the saturation bound
   ``2**i - 2**-f`` depends on f (ufixed i=-1, f=5 must saturate to 0.46875, the reduced
   type gives 0.4375). f is kept where the upstream can reach the bound.
2. TRN of tiny negatives: ``floor(-tiny) = -2**-f`` needs ``i >= -f``; bit_exact adds at most
   one integer bit and can prune the element to 0.
3. All-pruned masks: an all-zero mask counts as uniform and is fused as ``ufixed<1,0,RND,SAT>``
   (0 or 0.5) instead of 0; TRN/WRAP makes the fuse pass use bit_exact's zero type.
4. WRAP sign request: for a WRAP quantizer bit_exact asks the upstream for the quantizer's own
   sign bit but fewer integer bits; a signed upstream value is then wrapped with a smaller
   period. Requesting the upstream's sign bit keeps the residue right (costs <= 1 bit).
Signed 1-bit SAT_SYM elements (range [-0, 0]) are encoded as pruned: ap_fixed gives -2**(I-1).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hls4ml.model.layers import register_layer
from hls4ml.model.optimizer.passes import bit_exact as _be
from hls4ml.model.optimizer.passes.hgq_proxy_model import FixedPointQuantizer as _HlsFixedPointQuantizer

from .attr import Attr

IR_CLASS_NAME = "HgqCompatFixedPointQuantizer"

ROUND_MODES = {
    "TRN": "TRN",
    "RND": "RND",
    "RND_CONV": "RND_CONV",
    "RND_INF": "RND_INF",
    "S_RND": "RND",
    "S_RND_CONV": "RND_CONV",
}
"""QuantSpec round modes -> ap_fixed modes at inference (stochastic rounding is training-only)."""


class FixedPointQuantizer(_HlsFixedPointQuantizer):
    """hls4ml's FixedPointQuantizer with the corrected bit_exact rules below."""


def mask_kbi(k: Any, i: Any, f: Any, shape: tuple[int, ...], overflow: str) -> tuple[np.ndarray, ...]:
    """Per-element (k, i, f) -> hls4ml ``mask_kbi`` = (k, B, I) with a leading axis of size 1.

    B = k + i + f is the width with sign, I = k + i the integer bits with sign. Elements with
    B <= 0 are pruned and encoded as k = B = I = 0 (the generated code writes 0 only for B == 0).
    """
    k, i, f = (np.broadcast_to(np.asarray(a, np.int64), shape) for a in (k, i, f))
    width = k + i + f
    on = width > 0
    if overflow == "SAT_SYM":
        on &= ~((k == 1) & (width == 1))  # [-0, 0]: constant 0, not ap_fixed's -2**(I-1)
    return tuple(np.where(on, a, 0).astype(np.int16)[None] for a in (k, width, k + i))


def quantizer_config(
    name: str,
    k: Any,
    i: Any,
    f: Any,
    shape: tuple[int, ...],
    round_mode: str,
    overflow: str,
    input_name: str,
    output_name: str,
    keras_layer: str | None = None,
) -> dict[str, Any]:
    """A complete IR-layer config of a per-element quantizer node (of Keras layer ``keras_layer``)."""
    return {
        "name": name,
        "class_name": IR_CLASS_NAME,
        "mask_kbi": mask_kbi(k, i, f, shape, overflow),
        "SAT": overflow,
        "RND": ROUND_MODES[round_mode],
        "fusible": None,
        "overrides": {},
        "input_keras_tensor_names": [input_name],
        "output_keras_tensor_names": [output_name],
        "input_shape": [list(shape)],
        Attr.KERAS_LAYER: keras_layer or name,
    }


def _produce_kif(layer: FixedPointQuantizer) -> tuple[np.ndarray, ...]:
    """bit_exact's forward rule: shrink the quantizer's (k, i, f) towards what its input can
    produce, without changing any output value (fixes 1-3 of the module doc)."""
    orig = layer.attributes.get(Attr.ORIGINAL_TYPE)
    if orig is None:  # remember the converter's mask: produce_kif may run more than once
        orig = layer.attributes[Attr.ORIGINAL_TYPE] = (tuple(np.array(a) for a in layer.mask_kbi), layer.RND, layer.SAT)
    layer.mask_kbi = tuple(np.array(a) for a in orig[0])
    layer.RND, layer.SAT = orig[1], orig[2]

    k0, b0, i0 = orig[0]
    lk, li, lf = (a.astype(np.int32) for a in _be.produce_kif(_be.get_input_layers(layer)[0]))
    shape = lk.shape
    kq = np.broadcast_to(k0[0], shape).astype(np.int32)
    iq = np.broadcast_to(i0[0] - k0[0], shape).astype(np.int32)
    fq = np.broadcast_to(b0[0] - i0[0], shape).astype(np.int32)
    rnd, sat = layer.RND, layer.SAT

    k, i, f = np.minimum(kq, lk), np.minimum(iq, li), np.minimum(fq, lf)
    dropped = lf > fq  # fractional bits are removed: rounding happens
    if rnd != "TRN":
        i = i + (dropped & (iq > li))  # rounding up may reach the next power of two
    else:
        i = i + (dropped & (iq > li) & (k == 1))
        i = np.where(dropped & (k == 1), np.maximum(i, np.minimum(iq, -fq)), i)  # fix 2
    top_q = 2.0**iq - 2.0 ** -fq.astype(np.float64)
    top_in = 2.0**li - 2.0 ** -lf.astype(np.float64)
    if sat in ("SAT", "SAT_SM"):
        reach = top_in > top_q  # fix 1
        f, i = np.where(reach, fq, f), np.where(reach, iq, i)
    else:  # WRAP / SAT_SYM: keep the quantizer's own boundaries unless overflow cannot happen
        keep = (top_q >= top_in) & (kq >= lk)
        k, i, f = np.where(keep, k, kq), np.where(keep, i, iq), np.where(keep, f, fq)
    if sat == "SAT_SYM":  # never create a signed 1-bit SAT_SYM type
        one = (k == 1) & (k + i + f == 1) & (kq + iq + fq > 1)
        k, i, f = np.where(one, kq, k), np.where(one, iq, i), np.where(one, fq, f)
    zero = (k + i + f <= 0) | (kq + iq + fq <= 0)
    k, i, f = (np.where(zero, 0, a).astype(np.int16) for a in (k, i, f))

    # hls4ml's mask contraction: axes of size 1 in the original mask are max-reduced
    axes = np.where(np.array(k0.shape[1:]) == 1)[0] if k0[0].ndim > 0 else np.arange(k.ndim)
    mk, mb, mi = k, k + i + f, k + i
    for ax in axes:
        mk, mb, mi = (np.max(a, axis=ax, keepdims=True) for a in (mk, mb, mi))
    layer.mask_kbi = tuple(a[None].astype(np.int16) for a in (mk, mb, mi))
    if np.all(mb <= 0):  # fix 3
        layer.RND, layer.SAT = "TRN", "WRAP"
    return k, i, f


def _request_kif(layer: FixedPointQuantizer) -> tuple:
    """bit_exact's backward rule (fix 4 of the module doc)."""
    (k, i, f), *rest = _be._request_kif.dispatch(_HlsFixedPointQuantizer)(layer)
    if layer.attributes.get(Attr.ORIGINAL_TYPE, (None, None, layer.SAT))[2] == "WRAP":
        lk, _, _ = _be.produce_kif(_be.get_input_layers(layer)[0])
        k = np.maximum(k, np.broadcast_to(lk, k.shape)).astype(np.int16)
    return ((k, i, f), *rest)


_registered = False


def register_quantizer_ir() -> None:
    """Register the quantizer IR layer and its bit_exact rules with hls4ml (idempotent)."""
    global _registered
    if _registered:
        return
    _be._produce_kif.register(FixedPointQuantizer)(_produce_kif)
    _be._request_kif.register(FixedPointQuantizer)(_request_kif)
    register_layer(IR_CLASS_NAME, FixedPointQuantizer)
    _registered = True


def describe(quantizer: Any) -> str:
    """A quantizer as error messages name it: the QKeras object's repr in QKeras mode, else class and spec."""
    inner = getattr(quantizer, "quantizer", None)  # QKerasModeQuantizer keeps the QKeras object
    return str(inner) if inner is not None else f"{type(quantizer).__name__}({quantizer.spec})"
