"""Handlers of the recurrent layers: QSimpleRNN, QLSTM, QGRU and QBidirectional of them convert
exactly, as a graph of exact IR nodes unrolled over time.

Why not hls4ml's own recurrent layers (measured with hls4ml 1.3.0, Vitis, io_parallel, T=4, 3
inputs, 4 units, 10,000 inputs, quantized weights, state quantizer; figures in
migration_guide/features.md): no type settings make them equal Keras.

- SimpleRNN: the Vivado/Vitis backends have no SimpleRNN template; the layer is silently left out
  of the generated code, whose output buffer is never written (25,864 and 34,950 of 40,000
  outputs wrong in two runs).
- LSTM (39,749 of 40,000 outputs differ): ``nnet::lstm`` compiles only when the input, result
  (state) and accumulator types are one type (it passes ``accum_t``/``res_T`` arrays as each
  other), so every gate pre-activation and product is rounded to the state type; sigmoid/tanh
  are tables of the real functions (QKeras uses hard sigmoid/tanh); and the cell applies ``tanh``
  to the stored (rounded) c where Keras uses the unrounded one.
- GRU (39,291 of 40,000): ``nnet::gru`` applies the reset gate after the recurrent product
  (Keras' reset_after=True; QKeras' default is False), with the same table activations and a
  rounded state output.

Each time step is instead emitted from nodes whose C simulation is exact: per gate, a Dense on the
flattened sequence (the kernel is W in the rows of that step, zero elsewhere: multiplications by
constant 0 cost nothing in HLS) and a Dense on the quantized previous state, Adds and Multiplies
(Merge), ``1 - z`` as a Dense with kernel ``-I`` and bias 1, the activations (quantizer nodes;
lookup tables for non-linear quantizers and QKeras' float hard_sigmoid; relu) and the state
quantizer, in the order the Keras cell computes them. bit_exact infers every type; Keras' float32
is exact wherever products and sums fit 24 bits (warned about otherwise). The hardware holds T
copies of the cell (as ``unroll=True``): meant for short sequences.

So these handlers subclass `KerasV3LayerHandler`, not hls4ml's `RecurentHandler` /
`BidirectionalHandler`: every config those build is one of hls4ml's recurrent layers.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from hls4ml.converters.keras_v3._base import KerasV3LayerHandler

from ..ir import Attr
from ._common import attach_deferred, defer_refusal, quantized_weight, quantizer_node
from ._multi import reshape_node

ALLOW_INEXACT = "allow_inexact=True (hls4ml_plugin.convert) accepts it without the bit-exactness guarantee"


def _refuse_unsupported_settings(layer: Any) -> None:
    for attr, bad in (("return_state", True), ("stateful", True)):
        if getattr(layer, attr, False) == bad:
            raise NotImplementedError(
                f"layer {layer.name!r} ({type(layer).__name__}): {attr}={bad} is not supported by the hls4ml export; "
                f"use {attr}={not bad}"
            )


class _Unrolled:
    """Builder of the IR configs of one unrolled recurrent layer (names prefixed with ``prefix``)."""

    def __init__(self, handler: Any, layer: Any, prefix: str) -> None:
        self.layer, self.prefix = layer, prefix
        self.base = {k: v for k, v in handler.default_config.items() if k not in ("class_name", "name")}
        self.nodes: list[dict[str, Any]] = []
        self.units = int(layer.cell.units)
        self.weights = _weights(layer)  # quantized kernel, recurrent kernel, bias (float64)

    def add(self, name: str, inputs: list[str], out: str | None = None, **config: Any) -> str:
        out = out or f"{self.prefix}_{name}"
        self.nodes.append(
            {
                **self.base,
                **config,
                "name": f"{self.prefix}_{name}",
                "input_keras_tensor_names": inputs,
                "output_keras_tensor_names": [out],
                Attr.WEIGHTS_CHECKED: True,
            }
        )
        return out

    def dense(self, name: str, src: str, kernel: np.ndarray, bias: np.ndarray | None, out: str | None = None) -> str:
        return self.add(
            name,
            [src],
            out,
            class_name="Dense",
            weight_data=kernel,
            bias_data=bias,
            n_in=kernel.shape[0],
            n_out=kernel.shape[1],
        )

    def merge(self, name: str, op: str, a: str, b: str, out: str | None = None) -> str:
        return self.add(
            name, [a, b], out, class_name="Merge", op=op, output_shape=[self.units], hgq_compat_float32_sum=True
        )

    def apply(self, name: str, fn: Any, src: str, out: str | None = None) -> str:
        """``fn`` (an activation of the cell, or a quantizer layer) applied elementwise."""
        out = out or f"{self.prefix}_{name}"
        shape = (self.units,)
        if fn is keras.activations.linear:
            return self.add(name, [src], out, class_name="Reshape", target_shape=[self.units])
        if fn is keras.activations.relu:
            return self.add(name, [src], out, class_name="Activation", activation="relu", n_in=self.units)
        node = elementwise_node(self.layer, fn, f"{self.prefix}_{name}", shape, src, out)
        if Attr.LUT in node:
            node[Attr.LUT].too_wide_hint = (
                "inside a recurrent cell, use fewer kernel, recurrent-kernel or state_quantizer bits, or a quantized "
                "recurrent_activation (e.g. 'quantized_sigmoid(6)') so that the gate inputs stay narrow; "
                f"{ALLOW_INEXACT}"
            )
        self.nodes.append({**self.base, **node})
        return out

    def quantize_state(self, name: str, src: str) -> str:
        quantizer = self.layer.cell.quantizer_for("state")
        return src if quantizer is None else self.apply(name, quantizer, src)


def elementwise_node(layer: Any, fn: Any, name: str, shape: tuple[int, ...], src: str, dst: str) -> dict[str, Any]:
    """An activation or quantizer as an exact IR node: quantizer node, or lookup table for
    non-linear quantizers and QKeras' float functions (hard_sigmoid, ...). Float Keras functions
    (tanh, sigmoid) are refused."""
    from hgq_compat.quantizers import is_quantizer, make_quantizer_layer
    from hgq_compat.quantizers.functions import QKERAS_FUNCTIONS

    from ..ir.lut import is_elementwise_activation
    from .lut import lut_node

    if is_quantizer(fn):
        fn = make_quantizer_layer(fn, "qkeras", "per-tensor", False, f"{name}_q")
    if hasattr(fn, "spec"):  # a quantizer layer
        return quantizer_node(fn, name, layer.name, shape, src, dst)
    label = getattr(fn, "__name__", str(fn))
    if QKERAS_FUNCTIONS.get(label) is fn:
        return lut_node(fn, name, layer.name, shape, src, dst)
    if is_elementwise_activation(fn):
        # a table of the float32 function Keras computes on the gate's grid: refused unless allow_inexact
        # (TensorFlow may fuse it into the matrix products with another implementation)
        defer_refusal(
            layer,
            f"layer {layer.name!r} ({type(layer).__name__}): activation {label!r} is a float function, "
            "which hls4ml approximates with tables, so the C simulation is not guaranteed to equal "
            "Keras bit for bit; use a quantizer activation such as activation='quantized_tanh(8)' or "
            "'quantized_relu(8,2)' (or 'relu'; recurrent_activation 'hard_sigmoid' or "
            "'quantized_sigmoid(8)')",
        )
        return lut_node(fn, name, layer.name, shape, src, dst)
    raise ValueError(
        f"layer {layer.name!r} ({type(layer).__name__}): activation {label!r} is a float function, which hls4ml "
        "approximates with tables, so the C simulation cannot equal Keras bit for bit; use a quantizer activation "
        "such as activation='quantized_tanh(8)' or 'quantized_relu(8,2)' (or 'relu'; recurrent_activation "
        f"'hard_sigmoid' or 'quantized_sigmoid(8)'); {ALLOW_INEXACT}"
    )


def _check_activations(layer: Any) -> None:
    """Refuse activations no node can compute before any node is built (float elementwise ones are
    deferred: `elementwise_node`)."""
    from ..ir.lut import is_elementwise_activation

    cell = layer.cell
    for fn in (cell.activation, getattr(cell, "recurrent_activation", None)):
        if (
            fn is not None
            and fn not in (keras.activations.linear, keras.activations.relu)
            and not is_elementwise_activation(fn)
        ):
            elementwise_node(layer, fn, "check", (1,), "in", "out")


def _weights(layer: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    cell = layer.cell
    bias = quantized_weight(cell, "bias") if cell.use_bias else None
    return quantized_weight(cell, "kernel"), quantized_weight(cell, "recurrent_kernel"), bias


def _simple_rnn_step(g: _Unrolled, t: int, x: list[str], state: list[str] | None, out: str) -> tuple[str, list[str]]:
    """``h = act(x W + b + Qs(h_prev) U)``; x[0] is ``x W + b``."""
    _, recurrent, _ = g.weights
    pre = x[0]
    if state is not None:
        pre = g.merge(f"sum{t}", "add", pre, g.dense(f"r{t}", state[0], recurrent, None))
    h = g.apply(f"act{t}", g.layer.cell.activation, pre, out)
    return h, [h]


def _lstm_step(g: _Unrolled, t: int, x: list[str], state: list[str] | None, out: str) -> tuple[str, list[str]]:
    """QLSTMCell: gates i, f, c, o from x[j] (``x W_j + b_j``) and Qs(h_prev) U_j; ``c = f Qs(c_prev)
    + i act(z_c)``, ``h = o act(c)``."""
    cell, u = g.layer.cell, g.units
    _, recurrent, _ = g.weights
    z = list(x)
    if state is not None:
        z = [
            g.merge(f"z{j}_{t}", "add", x[j], g.dense(f"r{j}_{t}", state[0], recurrent[:, j * u : (j + 1) * u], None))
            for j in range(4)
        ]
    i, f, o = (g.apply(f"{n}{t}", cell.recurrent_activation, z[j]) for n, j in (("i", 0), ("f", 1), ("o", 3)))
    c = g.merge(f"ig{t}", "multiply", i, g.apply(f"g{t}", cell.activation, z[2]))
    if state is not None:
        c = g.merge(f"c{t}", "add", g.merge(f"fc{t}", "multiply", f, state[1]), c)
    h = g.merge(f"h{t}", "multiply", o, g.apply(f"ac{t}", cell.activation, c), out)
    return h, [h, c]


def _gru_step(g: _Unrolled, t: int, x: list[str], state: list[str] | None, out: str) -> tuple[str, list[str]]:
    """QGRUCell: ``z, r = ract(x W + b + Qs(h) U (+ b_r))``, ``hh = act(x W_h + b_h + (r Qs(h)) U_h)``
    (reset_after: ``r (Qs(h) U_h + b_rh)``), ``h = z Qs(h) + (1 - z) hh``."""
    cell, u = g.layer.cell, g.units
    _, recurrent, bias = g.weights
    rbias = bias[1] if cell.reset_after and bias is not None else np.zeros(3 * u)
    if state is None:  # the previous state is 0: only the recurrent bias is left (folded into x[j] for z, r)
        z, r = (g.apply(f"{n}{t}", cell.recurrent_activation, x[j]) for n, j in (("z", 0), ("r", 1)))
        rec_h = g.dense(f"rh{t}", r, np.diag(rbias[2 * u :]), None) if np.any(rbias[2 * u :]) else None
    else:
        z, r = (
            g.apply(
                f"{n}{t}",
                cell.recurrent_activation,
                g.merge(
                    f"{n}s{t}",
                    "add",
                    x[j],
                    g.dense(
                        f"r{n}{t}",
                        state[0],
                        recurrent[:, j * u : (j + 1) * u],
                        rbias[j * u : (j + 1) * u] if cell.reset_after else None,
                    ),
                ),
            )
            for n, j in (("z", 0), ("r", 1))
        )
        if cell.reset_after:
            rec_h = g.merge(f"rh{t}", "multiply", r, g.dense(f"uh{t}", state[0], recurrent[:, 2 * u :], rbias[2 * u :]))
        else:
            rec_h = g.dense(f"rh{t}", g.merge(f"rs{t}", "multiply", r, state[0]), recurrent[:, 2 * u :], None)
    pre = x[2] if rec_h is None else g.merge(f"hs{t}", "add", x[2], rec_h)
    hh = g.apply(f"hh{t}", cell.activation, pre)
    one_minus_z = g.dense(f"nz{t}", z, -np.eye(u), np.ones(u))  # 1 - z, exact
    h_new = g.merge(f"zh{t}", "multiply", one_minus_z, hh, None if state is not None else out)
    if state is None:
        return h_new, [h_new]
    h = g.merge(f"h{t}", "add", g.merge(f"zs{t}", "multiply", z, state[0]), h_new, out)
    return h, [h]


_CELLS = {"QSimpleRNN": (1, _simple_rnn_step), "QLSTM": (4, _lstm_step), "QGRU": (3, _gru_step)}


def rnn_nodes(
    handler: Any, layer: Any, src: str, dst: str, steps: int, n_in: int, prefix: str, assemble: bool = True
) -> tuple[list[dict[str, Any]], list[str]]:
    """IR configs of the unrolled QSimpleRNN/QLSTM/QGRU ``layer`` from tensor ``src`` (steps, n_in)
    to ``dst``: (units,) or, with return_sequences, (steps, units) in the order Keras returns; and
    the names of the per-step outputs. ``assemble=False``: no sequence output (the caller merges
    the per-step outputs)."""
    _refuse_unsupported_settings(layer)
    _check_activations(layer)
    n_gates, step = _CELLS[type(layer).__name__]
    g = _Unrolled(handler, layer, prefix)
    kernel, _, bias = g.weights
    u = g.units
    if bias is not None and bias.ndim == 2:  # GRU reset_after: input bias; z, r recurrent biases at step 0
        bias0 = bias[0] + np.concatenate([bias[1][: 2 * u], np.zeros(u)])
        bias = bias[0]
    else:
        bias0 = bias
    flat = g.add("flat", [src], class_name="Reshape", target_shape=[steps * n_in])
    outputs, state = [], None
    for t in range(steps):
        p = steps - 1 - t if layer.go_backwards else t  # input step processed at step t
        last = t == steps - 1
        h_name = dst if last and not layer.return_sequences else f"{prefix}_h{t}"
        xs = []
        for j in range(n_gates):
            block = np.zeros((steps * n_in, u))
            block[p * n_in : (p + 1) * n_in] = kernel[:, j * u : (j + 1) * u]
            b = bias if t > 0 else bias0
            xs.append(g.dense(f"x{j}_{t}", flat, block, None if b is None else b[j * u : (j + 1) * u]))
        h, new_state = step(g, t, xs, state, h_name)
        outputs.append(h)
        if not last:
            state = [g.quantize_state(f"s{k}_{t}", v) for k, v in enumerate(new_state)]
    if layer.return_sequences and assemble:
        g.nodes += sequence_nodes(g.base, prefix, [[o] for o in outputs], [u], dst)
    g.nodes[0] = attach_deferred(layer, g.nodes[0])  # float activations: refused unless allow_inexact
    return g.nodes, outputs


def sequence_nodes(base: dict, prefix: str, parts: list[list[str]], sizes: list[int], dst: str) -> list[dict[str, Any]]:
    """Concatenate per-step tensors (``parts[t]``: the pieces of step t, of ``sizes`` values each)
    into ``dst`` of shape (steps, sum(sizes))."""
    pieces = [(name, size) for step in parts for name, size in zip(step, sizes)]
    nodes, (prev, total) = [], pieces[0]
    for j, (name, size) in enumerate(pieces[1:], start=1):
        total += size
        out = f"{prefix}_cat{j}"
        nodes.append(
            {
                **base,
                "name": out,
                "class_name": "Concatenate",
                "op": "Concatenate1d",
                "axis": -1,
                "output_shape": [total],
                "input_keras_tensor_names": [prev, name],
                "output_keras_tensor_names": [out],
            }
        )
        prev = out
    seq = f"{prefix}_seq"
    nodes.append(
        {
            **base,
            **reshape_node(seq, [len(parts), sum(sizes)]),
            "input_keras_tensor_names": [prev],
            "output_keras_tensor_names": [dst],
        }
    )
    return nodes


def _sequence_shape(layer: Any, in_tensors: Any) -> tuple[int, int]:
    shape = tuple(in_tensors[0].shape[1:])
    if len(shape) != 2 or None in shape:
        raise ValueError(f"layer {layer.name!r}: hls4ml needs a fixed (timesteps, features) input, got {shape}")
    return int(shape[0]), int(shape[1])


class QRecurrentHandler(KerasV3LayerHandler):
    handles = (
        "hgq_compat.layers.recurrent.simple_rnn.QSimpleRNN",
        "hgq_compat.layers.recurrent.lstm.QLSTM",
        "hgq_compat.layers.recurrent.gru.QGRU",
    )

    def handle(self, layer: Any, in_tensors: Any, out_tensors: Any) -> tuple[dict[str, Any], ...]:
        steps, n_in = _sequence_shape(layer, in_tensors)
        return tuple(rnn_nodes(self, layer, in_tensors[0].name, out_tensors[0].name, steps, n_in, layer.name)[0])


class QBidirectionalHandler(KerasV3LayerHandler):
    handles = ("hgq_compat.layers.recurrent.bidirectional.QBidirectional",)

    def handle(self, layer: Any, in_tensors: Any, out_tensors: Any) -> tuple[dict[str, Any], ...]:
        for inner in (layer.forward_layer, layer.backward_layer):
            if type(inner).__name__ not in _CELLS:
                raise NotImplementedError(
                    f"layer {inner.name!r} ({type(inner).__name__}) inside {layer.name!r} (QBidirectional) is not "
                    f"converted by the hls4ml export; accepted: {', '.join(_CELLS)}"
                )
        if layer.merge_mode not in ("concat", "sum"):
            raise NotImplementedError(
                f"layer {layer.name!r} (QBidirectional): merge_mode={layer.merge_mode!r} is not supported by the "
                "hls4ml export; accepted: 'concat', 'sum'"
            )
        steps, n_in = _sequence_shape(layer, in_tensors)
        src, dst = in_tensors[0].name, out_tensors[0].name
        base = {k: v for k, v in self.default_config.items() if k not in ("class_name", "name")}
        fwd, bwd = layer.forward_layer, layer.backward_layer
        seq = layer.return_sequences
        nodes, f_out = rnn_nodes(self, fwd, src, f"{layer.name}_fwd", steps, n_in, f"{layer.name}_f", False)
        b_nodes, b_out = rnn_nodes(self, bwd, src, f"{layer.name}_bwd", steps, n_in, f"{layer.name}_b", False)
        nodes += b_nodes
        if not seq:
            pairs = [[f_out[-1], b_out[-1]]]
        else:  # Keras flips the backward layer's sequence back to input order
            if fwd.go_backwards:
                f_out = f_out[::-1]
            if bwd.go_backwards:
                b_out = b_out[::-1]
            pairs = [[a, b] for a, b in zip(f_out, b_out)]
        units, b_units = int(fwd.cell.units), int(bwd.cell.units)
        if layer.merge_mode == "sum":
            merged = []
            for t, (a, b) in enumerate(pairs):
                out = dst if not seq else f"{layer.name}_sum{t}"
                nodes.append(
                    {
                        **base,
                        "name": f"{layer.name}_add{t}",
                        "class_name": "Merge",
                        "op": "add",
                        "output_shape": [units],
                        "input_keras_tensor_names": [a, b],
                        "output_keras_tensor_names": [out],
                        "hgq_compat_float32_sum": True,
                    }
                )
                merged.append([out])
            if seq:
                nodes += sequence_nodes(base, layer.name, merged, [units], dst)
            return tuple(nodes)
        if seq:
            nodes += sequence_nodes(base, layer.name, pairs, [units, b_units], dst)
        else:
            nodes.append(
                {
                    **base,
                    "name": f"{layer.name}_concat",
                    "class_name": "Concatenate",
                    "op": "Concatenate1d",
                    "axis": -1,
                    "output_shape": [units + b_units],
                    "input_keras_tensor_names": pairs[0],
                    "output_keras_tensor_names": [dst],
                }
            )
        return tuple(nodes)


class RefusedRecurrentHandler(KerasV3LayerHandler):
    handles = (
        "hgq_compat.layers.recurrent.simple_rnn.QSimpleRNNCell",
        "hgq_compat.layers.recurrent.lstm.QLSTMCell",
        "hgq_compat.layers.recurrent.gru.QGRUCell",
    )

    def handle(self, layer: Any, in_tensors: Any, out_tensors: Any) -> Any:
        raise NotImplementedError(
            f"layer {layer.name!r} ({type(layer).__name__}): a bare recurrent cell is not converted by the hls4ml "
            "export; use the layer (QSimpleRNN, QLSTM, QGRU) that wraps it"
        )


__all__ = ["QBidirectionalHandler", "QRecurrentHandler", "RefusedRecurrentHandler", "elementwise_node", "rnn_nodes"]
