"""What every hgq-compat handler shares: quantizer -> IR node, quantized weights, checks.

Handlers read only specs and already-quantized weights; hgq_compat is imported lazily
(handlers are registered while ``import hls4ml`` is still running).
"""

from __future__ import annotations

import copy
import weakref
from typing import Any

import numpy as np

from ..ir import ROUND_MODES, Attr, describe, quantizer_config
from ..ir.exactness import SOFTMAX_ALTERNATIVES, constant_problem, wide_constant

"""IR config key: [(Keras layer name, refusal)] of approximations a handler made; the
``CheckExactness`` pass raises the refusal unless the config allows inexact exports."""

_deferred: "weakref.WeakKeyDictionary[Any, list[str]]" = weakref.WeakKeyDictionary()


def defer_refusal(layer: Any, message: str) -> None:
    """Remember that ``layer``'s export is approximate, for ``message``: the handler goes on with
    the approximation and `attach_deferred` puts the refusal on the layer's first IR node (handlers
    cannot see the hls config; the pass that can decides)."""
    _deferred.setdefault(layer, []).append(message)


def attach_deferred(layer: Any, config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with the refusals deferred for ``layer`` (`Attr.INEXACT`), which are consumed."""
    messages = _deferred.pop(layer, [])
    return {**config, Attr.INEXACT: [(layer.name, m) for m in messages]} if messages else config


def quantizer_kif(quantizer: Any, layer_name: str, shape: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    """(k, i, f) per element (broadcast to ``shape``), round and overflow mode of a quantizer
    layer (`FixedPointQuantizer` in HGQ mode, `QKerasModeQuantizer` in QKeras mode).

    Raises NotImplementedError for quantizers with no exact fixed-point counterpart.
    """
    spec = quantizer.spec
    if not spec.is_fixed_point:
        raise NotImplementedError(
            f"layer {layer_name!r}: quantizer {describe(quantizer)} is not fixed point (kind {spec.kind!r}); "
            "the hls4ml export supports fixed-point quantizers only (quantized_bits with alpha=1 or None, "
            "quantized_relu, HGQ quantizers); change this quantizer to one of those"
        )
    if spec.po2_scale:
        raise NotImplementedError(
            f"layer {layer_name!r}: quantizer {describe(quantizer)} has a per-channel power-of-two scale, "
            "which the hls4ml export supports on weights only; use alpha=1 for activations"
        )
    if spec.prefn not in (None, "relu") or (spec.prefn == "relu" and (spec.keep_negative or spec.overflow == "WRAP")):
        raise NotImplementedError(
            f"layer {layer_name!r}: quantizer {describe(quantizer)} applies {spec.prefn!r} before quantizing, "
            "which has no exact hls4ml counterpart yet; use quantized_bits or quantized_relu instead"
        )
    if hasattr(quantizer, "kif"):  # HGQ FixedPointQuantizer: per-element integer bitwidths
        k, i, f = quantizer.kif()
    else:
        k, i, f = spec.keep_negative, spec.integer, spec.fractional
        if i != int(i) or f != int(f):
            raise NotImplementedError(
                f"layer {layer_name!r}: quantizer {describe(quantizer)} has non-integer bits (i={i}, f={f})"
            )
    k, i, f = (np.broadcast_to(np.asarray(a, np.int64), shape) for a in (k, i, f))
    return k, i, f, spec.round_mode, spec.overflow


def quantizer_node(
    quantizer: Any, name: str, layer_name: str, shape: tuple[int, ...], input_name: str, output_name: str
) -> dict[str, Any]:
    """IR config of the per-element quantizer node applying ``quantizer`` to a tensor."""
    if any(d is None for d in shape):
        raise ValueError(f"layer {layer_name!r}: every non-batch dimension must be known for hls4ml, got {shape}")
    from .lut import lut_node, needs_lut  # non-linear elementwise quantizers: lookup tables

    if needs_lut(quantizer):
        return lut_node(quantizer, name, layer_name, shape, input_name, output_name)
    k, i, f, rnd, sat = quantizer_kif(quantizer, layer_name, shape)
    if rnd not in ROUND_MODES:
        raise NotImplementedError(f"layer {layer_name!r}: round mode {rnd!r} has no ap_fixed counterpart")
    return quantizer_config(name, k, i, f, shape, rnd, sat, input_name, output_name, layer_name)


def quantized_weight(layer: Any, role: str) -> np.ndarray | None:
    """Weight ``role`` of ``layer`` after its quantizer, as float64 numpy (None if absent); values
    hls4ml cannot hold exactly come back as `ir.exactness.wide_constant` with the refusal deferred."""
    from keras import ops

    if getattr(layer, role, None) is None:
        return None
    quantizer = layer.quantizer_for(role)
    value = np.asarray(ops.convert_to_numpy(layer.quantized_weight(role)), np.float64)
    return check_constant(layer, role, value, quantizer)


MAX_ALPHA_CODE_FRACTIONAL_BITS = 24
"""Finest code step `alpha_split` tries (2**-24)."""


def alpha_split(layer: Any, role: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(codes, per-output-channel scale) of a weight whose quantizer has alpha='auto'
    (quantized_bits, ternary, binary) and whose values hls4ml cannot hold exactly, as hls4ml's
    QKeras converter splits them (the scale applied after the product, ApplyAlpha). The codes are
    the shortest fixed-point numbers with ``float32(scale * codes) == value``; the refusal is
    deferred (`defer_refusal`). None for any other weight, or when no such split exists."""
    from keras import ops

    quantizer = layer.quantizer_for(role)
    qk = copy.copy(getattr(quantizer, "quantizer", None))  # the QKeras object (QKeras mode); a copy: .scale is set
    if qk is None or getattr(qk, "alpha", None) != "auto" or getattr(layer, role, None) is None:
        return None
    value = np.asarray(ops.convert_to_numpy(layer.quantized_weight(role)), np.float32)
    if constant_problem(value, quantizer) is None:
        return None  # exact constants as they are
    qk.quantize(ops.convert_to_tensor(ops.convert_to_numpy(getattr(layer, role))), training=False)
    scale = np.broadcast_to(np.asarray(ops.convert_to_numpy(qk.scale), np.float32), value.shape)
    channel = scale.reshape(-1, value.shape[-1])
    if np.any(channel != channel[:1]) or np.any(channel[0] == 0):
        return None  # not one scale per output channel
    ratio = value.astype(np.float64) / channel[0].astype(np.float64)
    for f in range(MAX_ALPHA_CODE_FRACTIONAL_BITS + 1):
        codes = np.round(ratio * 2.0**f) / 2.0**f
        if np.array_equal((channel[0] * codes.astype(np.float32)).astype(np.float32), value):
            defer_refusal(
                layer,
                (
                    f"layer {layer.name!r}: {role} quantizer {describe(quantizer)} has float per-channel scales "
                    f"(alpha='auto'), so Keras' float32 products with them round where hls4ml computes exactly (hls4ml "
                    "applies the scale after the product, ApplyAlpha); use alpha='auto_po2' or alpha=1"
                ),
            )
            return codes, channel[0].astype(np.float64)
    return None


def check_constant(layer: Any, role: str, value: np.ndarray, quantizer: Any) -> np.ndarray:
    """``value`` if hls4ml holds it exactly (`constant_problem`). Else, without a quantizer, a
    ValueError naming the layer (give it one); for a quantizer whose values hls4ml cannot hold
    (alpha='auto', ulaw, ...), the values rounded by `ir.exactness.wide_constant`, the refusal
    deferred to the exactness check (`defer_refusal`: raised unless inexact exports are allowed)."""
    problem = constant_problem(value, quantizer)
    if not problem:
        return value
    if quantizer is None:
        raise ValueError(
            f"layer {layer.name!r}: {role} has no quantizer and its float values are {problem}, so hls4ml cannot "
            f"hold them exactly; give the layer a {role}_quantizer (e.g. quantized_bits(8,0,alpha=1))"
        )
    defer_refusal(
        layer,
        (
            f"layer {layer.name!r}: {role} quantizer {describe(quantizer)} gives values {problem}, so "
            "they are not exact fixed-point constants for hls4ml and float32 Keras; use quantized_bits with "
            "alpha=1, None or 'auto_po2' (for alpha='auto': alpha='auto_po2' or alpha=1), or a po2 quantizer with "
            "fewer bits"
        ),
    )
    return wide_constant(value)


def activation_node(
    fn: Any,
    name: str,
    layer_name: str,
    shape: tuple[int, ...],
    input_name: str,
    output_name: str,
    after_quantizer: bool,
) -> dict[str, Any] | None:
    """IR config applying the Keras activation ``fn`` (a function, or an elementwise Keras activation
    layer) to a tensor bit-exactly: None for linear, hls4ml's relu for relu, otherwise a lookup table
    of the float32 function on the input's fixed-point grid (`lut.LutFunction`). A softmax (not
    elementwise) raises ValueError naming the alternatives; a transcendental activation whose input
    is not a quantizer output (``after_quantizer``) NotImplementedError (`lut.ARITHMETIC_ACTIVATIONS`)."""
    import keras

    from ..ir.lut import activation_name, is_arithmetic_activation, is_elementwise_activation
    from .lut import lut_node

    if fn is None or fn is keras.activations.linear:
        return None
    if fn is keras.activations.relu:
        return {
            "name": name,
            "class_name": "Activation",
            "activation": "relu",
            "n_in": int(np.prod(shape)),
            "input_keras_tensor_names": [input_name],
            "output_keras_tensor_names": [output_name],
            Attr.KERAS_LAYER: layer_name,
        }
    if not is_elementwise_activation(fn):
        what = activation_name(fn)
        hint = (
            SOFTMAX_ALTERNATIVES
            if "softmax" in what
            else ("use a quantizer activation (quantized_relu, quantized_tanh, ...) or an elementwise Keras activation")
        )
        raise ValueError(
            f"layer {layer_name!r}: activation {what!r} cannot be reproduced bit for bit by hls4ml; {hint}"
        )
    if not after_quantizer and not is_arithmetic_activation(fn):
        what = activation_name(fn)
        raise NotImplementedError(
            f"layer {layer_name!r}: activation {what!r} is applied to a result no quantizer rounded (a matrix product, "
            f"sum or normalization); TensorFlow may fuse it into that computation with a {what} that differs in the "
            "last bit, so no table can match Keras exactly. Quantize first and apply it separately, e.g. "
            f"activation='quantized_bits(8,3,alpha=1)' on the layer, then QActivation('{what}'); or use a quantizer "
            "activation (quantized_tanh, quantized_sigmoid, quantized_relu)"
        )
    return lut_node(fn, name, layer_name, shape, input_name, output_name)


def quantizer_output(tensor: Any) -> bool:
    """True if ``tensor`` is the output of a quantizer (an hgq_compat layer's output quantizer or a
    quantizer layer), possibly through layers that only move values (Flatten, Reshape, ...)."""
    import keras

    from hgq_compat.core.quantizer import FixedPointQuantizer

    movers = (keras.layers.Flatten, keras.layers.Reshape, keras.layers.Dropout, keras.layers.Permute)
    while True:
        history = getattr(tensor, "_keras_history", None)
        if history is None:
            return False
        op = history.operation
        if getattr(op, "output_quantizer", None) is not None or isinstance(op, FixedPointQuantizer):
            return True
        nodes = getattr(op, "_inbound_nodes", None) or []
        if not isinstance(op, movers) or history.node_index >= len(nodes):
            return False
        tensor = nodes[history.node_index].input_tensors[0]


def made_by_hgq_compat(tensor: Any) -> bool:
    """True if ``tensor`` is computed (through any layers) from the output of an hgq_compat layer:
    its values then lie on a fixed-point grid that hls4ml's bit_exact pass knows."""
    seen: set[int] = set()
    stack = [tensor]
    while stack:
        history = getattr(stack.pop(), "_keras_history", None)
        if history is None or id(history.operation) in seen:
            continue
        op = history.operation
        seen.add(id(op))
        if type(op).__module__.startswith(("hgq_compat.", "hls4ml_plugin.")):
            return True
        nodes = getattr(op, "_inbound_nodes", None) or []
        if history.node_index < len(nodes):
            stack.extend(nodes[history.node_index].input_tensors)
    return False


def output_node(layer: Any, shape: tuple[int, ...], input_name: str, output_name: str) -> dict[str, Any] | None:
    """IR config of what a quantized layer applies to its result: its output quantizer, or its
    Keras activation (`activation_node`); None for neither."""
    quantizer = getattr(layer, "output_quantizer", None)
    if quantizer is not None:
        return quantizer_node(quantizer, f"{layer.name}_quantizer", layer.name, shape, input_name, output_name)
    fn = getattr(layer, "activation", None)
    name = f"{layer.name}_activation"
    try:
        return activation_node(fn, name, layer.name, shape, input_name, output_name, after_quantizer=False)
    except (ValueError, NotImplementedError) as exc:
        # hls4ml's own (approximate) activation node, refused by passes.checks unless allow_inexact
        defer_refusal(layer, str(exc))
        from ..ir.lut import activation_name

        what = activation_name(fn)
        node = {
            "name": name,
            "class_name": "Softmax" if what == "softmax" else "Activation",
            "activation": what,
            "n_in": int(np.prod(shape)),
            "input_keras_tensor_names": [input_name],
            "output_keras_tensor_names": [output_name],
            Attr.KERAS_LAYER: layer.name,
        }
        if what == "softmax":
            node["axis"] = -1
        return node
