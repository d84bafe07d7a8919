"""Handlers of the recurrent layers: QSimpleRNN (and QBidirectional of QSimpleRNNs) exactly, as
an unrolled graph of exact IR nodes; QLSTM, QGRU refused with the measured reason.

Why not hls4ml's own recurrent layers (measured with hls4ml 1.3.0, Vitis, io_parallel, T=4, 3
inputs, 4 units, 10,000 inputs, quantized weights; figures in migration_guide/features.md):

- SimpleRNN: the Vivado/Vitis backends have no SimpleRNN template; the layer is silently left out
  of the generated code (25,864 of 40,000 outputs differ).
- LSTM: ``nnet::lstm`` compiles only when the input, result (state) and accumulator types are one
  type (it passes ``accum_t``/``res_T`` arrays as each other), so every gate pre-activation and
  product is rounded to the state type; sigmoid/tanh are tables of the real functions (QKeras
  uses hard sigmoid/tanh); and the cell applies ``tanh`` to the stored (rounded) c where Keras uses
  the unrounded one. No type choice makes it equal Keras.
- GRU: ``nnet::gru`` applies the reset gate after the recurrent product (Keras' reset_after=True;
  QKeras' default is False), and has the same table activations and rounded state output.

A QSimpleRNN step ``h_t = act(x_t @ W + b + Qs(h_{t-1}) @ U)`` is instead emitted per time step
from nodes whose C simulation is exact: a Dense on the flattened sequence (the kernel is W in the
rows of step t, zero elsewhere: multiplications by constant 0 cost nothing in HLS), a Dense with
U on the quantized previous state, an Add, the activation (quantizer node, lookup table for
quantized_tanh and other non-linear quantizers, or relu) and the state quantizer. bit_exact infers
every type; Keras' float32 is exact wherever the sums fit 24 bits (warned about otherwise). The
hardware holds T copies of the cell (as ``unroll=True``): meant for short sequences.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from hls4ml.converters.keras_v3._base import KerasV3LayerHandler

from ._common import quantized_weight, quantizer_node
from ._multi import reshape_node

ALLOW_INEXACT = ("allow_inexact=True (hls4ml_plugin.convert) converts it with hls4ml's own recurrent layer, without "
                 "the bit-exactness guarantee")


def _refuse_unsupported_settings(layer: Any) -> None:
    for attr, bad in (("return_state", True), ("stateful", True)):
        if getattr(layer, attr, False) == bad:
            raise NotImplementedError(
                f"layer {layer.name!r} ({type(layer).__name__}): {attr}={bad} is not supported by the hls4ml export; "
                f"use {attr}={not bad}")


def _activation_node(layer: Any, cell: Any, name: str, shape: tuple[int, ...], src: str, dst: str) -> dict:
    """The cell's activation as an exact IR node (quantizer, lookup table or relu)."""
    from hgq_compat.quantizers import is_quantizer, make_quantizer_layer

    act = cell.activation
    if is_quantizer(act):
        quantizer = make_quantizer_layer(act, "qkeras", "per-tensor", False, f"{name}_q")
        return quantizer_node(quantizer, name, layer.name, shape, src, dst)
    if act is keras.activations.relu:
        return {"name": name, "class_name": "Activation", "activation": "relu", "n_in": int(np.prod(shape)),
                "input_keras_tensor_names": [src], "output_keras_tensor_names": [dst]}
    label = getattr(act, "__name__", str(act))
    raise ValueError(
        f"layer {layer.name!r} ({type(layer).__name__}): activation {label!r} is a float function, which hls4ml "
        "approximates with tables, so the C simulation cannot equal Keras bit for bit; use a quantizer activation "
        "such as activation='quantized_tanh(8)' or 'quantized_relu(8,2)' (or 'relu')")


def simple_rnn_nodes(handler: Any, layer: Any, src: str, dst: str, steps: int, n_in: int, prefix: str,
                     assemble: bool = True) -> tuple[list[dict[str, Any]], list[str]]:
    """IR configs of the unrolled QSimpleRNN ``layer`` from tensor ``src`` (steps, n_in) to
    ``dst``: (units,) or, with return_sequences, (steps, units) in the order Keras returns; and the
    names of the per-step outputs. ``assemble=False``: no sequence output (the caller merges the
    per-step outputs)."""
    _refuse_unsupported_settings(layer)
    cell = layer.cell
    if cell.activation is not keras.activations.linear:
        _activation_node(layer, cell, "check", (1,), "in", "out")  # refuses float activations first
    units = int(cell.units)
    kernel = quantized_weight(cell, "kernel")
    recurrent = quantized_weight(cell, "recurrent_kernel")
    bias = quantized_weight(cell, "bias") if cell.use_bias else None
    state_q = getattr(cell, "state_quantizer_internal", None)
    base = {k: v for k, v in handler.default_config.items() if k not in ("class_name", "name")}

    def node(name: str, inputs: list[str], output: str, **config: Any) -> dict[str, Any]:
        return {**base, **config, "name": name, "input_keras_tensor_names": inputs,
                "output_keras_tensor_names": [output], "hgq_compat_weights_checked": True}

    flat = f"{prefix}_flat"
    nodes = [node(flat, [src], flat, class_name="Reshape", target_shape=[steps * n_in])]
    outputs, state = [], None
    for t in range(steps):
        p = steps - 1 - t if layer.go_backwards else t  # input step processed at step t
        last = t == steps - 1
        h = dst if last and not layer.return_sequences else f"{prefix}_h{t}"
        block = np.zeros((steps * n_in, units))
        block[p * n_in:(p + 1) * n_in] = kernel
        pre = f"{prefix}_x{t}"
        nodes.append(node(pre, [flat], pre, class_name="Dense", weight_data=block, bias_data=bias,
                          n_in=steps * n_in, n_out=units))
        if state is not None:
            rec, total = f"{prefix}_r{t}", f"{prefix}_sum{t}"
            nodes.append(node(rec, [state], rec, class_name="Dense", weight_data=recurrent, bias_data=None,
                              n_in=units, n_out=units))
            nodes.append(node(total, [pre, rec], total, class_name="Merge", op="add", output_shape=[units],
                              hgq_compat_float32_sum=True))
            pre = total
        if cell.activation is keras.activations.linear:
            nodes.append(node(f"{prefix}_lin{t}", [pre], h, class_name="Reshape", target_shape=[units]))
        else:
            nodes.append({**base, **_activation_node(layer, cell, f"{prefix}_act{t}", (units,), pre, h)})
        outputs.append(h)
        if not last:
            state = h
            if state_q is not None:
                state = f"{prefix}_s{t}"
                nodes.append({**base, **quantizer_node(state_q, f"{prefix}_state{t}", layer.name, (units,), h, state)})
    if layer.return_sequences and assemble:
        nodes += sequence_nodes(base, prefix, [[o] for o in outputs], units, dst)
    return nodes, outputs


def sequence_nodes(base: dict, prefix: str, parts: list[list[str]], width: int, dst: str) -> list[dict[str, Any]]:
    """Concatenate per-step tensors (``parts[t]``: the pieces of step t, ``width`` values in all)
    into ``dst`` of shape (steps, width)."""
    names = [name for step in parts for name in step]
    nodes, prev = [], names[0]
    piece = width // len(parts[0])
    size = piece
    for j, name in enumerate(names[1:], start=1):
        size += piece
        out = f"{prefix}_cat{j}"
        nodes.append({**base, "name": out, "class_name": "Concatenate", "op": "Concatenate1d", "axis": -1,
                      "output_shape": [size], "input_keras_tensor_names": [prev, name],
                      "output_keras_tensor_names": [out]})
        prev = out
    seq = f"{prefix}_seq"
    nodes.append({**base, **reshape_node(seq, [len(parts), width]), "input_keras_tensor_names": [prev],
                  "output_keras_tensor_names": [dst]})
    return nodes


def _sequence_shape(layer: Any, in_tensors: Any) -> tuple[int, int]:
    shape = tuple(in_tensors[0].shape[1:])
    if len(shape) != 2 or None in shape:
        raise ValueError(f"layer {layer.name!r}: hls4ml needs a fixed (timesteps, features) input, got {shape}")
    return int(shape[0]), int(shape[1])


class QSimpleRNNHandler(KerasV3LayerHandler):
    handles = ("hgq_compat.layers.recurrent.QSimpleRNN",)

    def handle(self, layer: Any, in_tensors: Any, out_tensors: Any) -> tuple[dict[str, Any], ...]:
        steps, n_in = _sequence_shape(layer, in_tensors)
        return tuple(simple_rnn_nodes(self, layer, in_tensors[0].name, out_tensors[0].name, steps, n_in,
                                      layer.name)[0])


class QBidirectionalHandler(KerasV3LayerHandler):
    handles = ("hgq_compat.layers.recurrent.QBidirectional",)

    def handle(self, layer: Any, in_tensors: Any, out_tensors: Any) -> tuple[dict[str, Any], ...]:
        from hgq_compat.layers.recurrent import QSimpleRNN

        for inner in (layer.forward_layer, layer.backward_layer):
            if not isinstance(inner, QSimpleRNN):
                refuse_recurrent(inner, within=layer)
        if layer.merge_mode not in ("concat", "sum"):
            raise NotImplementedError(
                f"layer {layer.name!r} (QBidirectional): merge_mode={layer.merge_mode!r} is not supported by the "
                "hls4ml export; accepted: 'concat', 'sum'")
        steps, n_in = _sequence_shape(layer, in_tensors)
        src, dst = in_tensors[0].name, out_tensors[0].name
        base = {k: v for k, v in self.default_config.items() if k not in ("class_name", "name")}
        fwd, bwd = layer.forward_layer, layer.backward_layer
        seq = layer.return_sequences
        nodes, f_out = simple_rnn_nodes(self, fwd, src, f"{layer.name}_fwd", steps, n_in, f"{layer.name}_f", False)
        b_nodes, b_out = simple_rnn_nodes(self, bwd, src, f"{layer.name}_bwd", steps, n_in, f"{layer.name}_b", False)
        nodes += b_nodes
        if not seq:
            pairs = [[f_out[-1], b_out[-1]]]
        else:  # Keras flips the backward layer's sequence back to input order
            if fwd.go_backwards:
                f_out = f_out[::-1]
            if bwd.go_backwards:
                b_out = b_out[::-1]
            pairs = [[a, b] for a, b in zip(f_out, b_out)]
        units = fwd.cell.units
        if layer.merge_mode == "sum":
            merged = []
            for t, (a, b) in enumerate(pairs):
                out = dst if not seq else f"{layer.name}_sum{t}"
                nodes.append({**base, "name": f"{layer.name}_add{t}", "class_name": "Merge", "op": "add",
                              "output_shape": [units], "input_keras_tensor_names": [a, b],
                              "output_keras_tensor_names": [out], "hgq_compat_float32_sum": True})
                merged.append([out])
            if seq:
                nodes += sequence_nodes(base, layer.name, merged, units, dst)
            return tuple(nodes)
        if seq:
            nodes += sequence_nodes(base, layer.name, pairs, 2 * units, dst)
        else:
            nodes.append({**base, "name": f"{layer.name}_concat", "class_name": "Concatenate", "op": "Concatenate1d",
                          "axis": -1, "output_shape": [2 * units], "input_keras_tensor_names": pairs[0],
                          "output_keras_tensor_names": [dst]})
        return tuple(nodes)


LSTM_GRU_REASON = (
    "hls4ml 1.3.0's LSTM/GRU cannot equal Keras bit for bit with any type settings (measured on a 4-step, 4-unit "
    "layer with 10,000 inputs: 39,749 of 40,000 QLSTM and 39,291 of 40,000 QGRU outputs differ): nnet::lstm "
    "compiles only with one type for the input, state and accumulator, so every gate pre-activation is rounded; "
    "sigmoid/tanh are tables of the real functions "
    "(QKeras uses hard sigmoid/tanh); the LSTM applies tanh to the rounded cell state; the GRU applies the reset gate "
    "after the recurrent product (reset_after=True only) and outputs the rounded state")


def refuse_recurrent(layer: Any, within: Any = None) -> None:
    """NotImplementedError for a QLSTM/QGRU (or a bare cell), naming the layer and the alternatives."""
    if "Cell" in type(layer).__name__:
        raise NotImplementedError(
            f"layer {layer.name!r} ({type(layer).__name__}): a bare recurrent cell is not converted by the hls4ml "
            "export; use the layer (QSimpleRNN, ...) that wraps it")
    where = f" inside {within.name!r} (QBidirectional)" if within is not None else ""
    raise NotImplementedError(
        f"layer {layer.name!r} ({type(layer).__name__}){where}: {LSTM_GRU_REASON}. Exact alternatives: QSimpleRNN "
        "with a quantizer activation and a state_quantizer (converted exactly, unrolled over time), or "
        f"feed-forward layers over time (QConv1D). {ALLOW_INEXACT}")


class RefusedRecurrentHandler(KerasV3LayerHandler):
    handles = tuple(f"hgq_compat.layers.recurrent.{name}" for name in
                    ("QLSTM", "QGRU", "QSimpleRNNCell", "QLSTMCell", "QGRUCell"))

    def handle(self, layer: Any, in_tensors: Any, out_tensors: Any) -> Any:
        refuse_recurrent(layer)


__all__ = ["LSTM_GRU_REASON", "QBidirectionalHandler", "QSimpleRNNHandler", "RefusedRecurrentHandler",
           "refuse_recurrent", "simple_rnn_nodes"]
