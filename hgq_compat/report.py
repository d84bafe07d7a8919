"""Per-layer report of a quantized model: bitwidths, pruning and EBOPs.

`layer_report` gives one dict per quantized layer, `model_report` adds totals,
`format_report` renders an aligned Markdown table and `save_report_json` writes JSON.
Bits are per element: k + i + f clipped at 0 for HGQ-mode (fixed-point) quantizers, the
uniform bitwidth for QKeras-mode ones. The totals' EBOPs equal `model_ebops(model)`.

`weight_bits_array` and `activation_bits_array` give the per-element bit maps themselves
(used by `hgq_compat.plots`).
"""

from __future__ import annotations

import json
import os
from typing import Any

import keras
import numpy as np
from keras import ops

from ._atomic import write_text_atomic
from .layers.base import QuantizedLayerMixin, weight_quantizer
from .training.model import quantized_layers


def _np(x: Any) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(x), dtype=np.float64)


def _weights_owner(layer: QuantizedLayerMixin) -> QuantizedLayerMixin:
    """The layer holding the weights: the cell for recurrent layers, else the layer."""
    cell = getattr(layer, "cell", None)
    return cell if isinstance(cell, QuantizedLayerMixin) else layer


def weight_roles(layer: QuantizedLayerMixin) -> list[str]:
    """Names of the layer's quantizable weights ('kernel', 'bias', ...; a recurrent layer's
    are its cell's), in ``get_weights()`` order."""
    return _weights_owner(layer).weight_roles() if layer.built else []


def weight_bits_array(layer: QuantizedLayerMixin, role: str) -> np.ndarray:
    """Bits per element of weight ``role`` ('kernel', 'bias', ...), of the weight's shape.

    The quantizer's bitwidth (k + i + f clipped at 0, or a QKeras-mode quantizer's uniform
    bits) broadcast to the weight; an unquantized weight counts ``default_input_bits``, as in EBOPs.
    """
    owner = _weights_owner(layer)
    wq = _np(owner.quantized_weight(role, training=False))
    q = weight_quantizer(owner, role)
    if q is None:
        return np.full(wq.shape, float(owner.qconfig.default_input_bits))
    return np.broadcast_to(_np(q.bits()), wq.shape).copy()


def activation_bits_array(layer: QuantizedLayerMixin, which: str = "output") -> np.ndarray | None:
    """Bits per element (no batch axis) of the layer's ``which`` activation, or None if none.

    which: 'output' (the layer's output quantizer), 'input' (bits of the layer's input, read
    from the quantizer that produced it; None when no quantizer did and EBOPs count
    ``default_input_bits``) or 'state' (state quantizer of a recurrent layer).
    Shared (per-tensor or per-channel) bitwidths keep their size-1 axes.
    """
    if which == "output":
        q = getattr(layer, "output_quantizer", None)
        return None if q is None or not q.built else _np(q.bits())
    if which == "input":
        if getattr(layer, "_input_bits_source", None) is None or not hasattr(layer, "_input_feature_shape"):
            return None
        return _np(layer.input_bits())
    if which == "state":
        q = weight_quantizer(_weights_owner(layer), "state")
        return None if q is None else _np(q.bits())
    raise ValueError(
        f"activation_bits_array: which={which!r} is not accepted; accepted values: 'output', 'input', 'state'"
    )


def _bit_stats(bits: np.ndarray) -> dict:
    return {"bits_min": float(bits.min()), "bits_mean": float(bits.mean()), "bits_max": float(bits.max())}


def reported_layers(model: keras.Model) -> list[QuantizedLayerMixin]:
    """The quantized layers of ``model`` that the report lists: all, nested models included,
    except recurrent cells (their weights are listed under their recurrent layer)."""
    layers = list(quantized_layers(model))
    cells = {id(_weights_owner(layer)) for layer in layers if _weights_owner(layer) is not layer}
    return [layer for layer in layers if id(layer) not in cells]


def _layer_ebops(layer: QuantizedLayerMixin) -> float:
    """As `model_ebops` counts it."""
    if layer.built and layer.has_ebops:
        return float(ops.convert_to_numpy(layer.compute_ebops()))
    return 0.0


def layer_report(model: keras.Model) -> list[dict]:
    """One dict per quantized layer (recurrent cells folded into their layer), in model order.

    Keys:
        name, class, mode ('qkeras' or 'hgq');
        weights: per weight role (kernel, bias, ...): ``shape``, ``n`` (elements),
            ``quantized`` (has a quantizer), ``bits_min`` / ``bits_mean`` / ``bits_max`` (bits per
            element), ``pruned`` (elements whose quantized value is exactly 0 or whose bits are 0)
            and ``pruned_fraction``;
        input, output (and state for recurrent layers): ``bits_min`` / ``bits_mean`` /
            ``bits_max`` (bits per element) or None;
        ebops: the layer's EBOPs (0 for layers without, such as QActivation);
        n_weights, pruned_weights, pruned_fraction (over all its weight roles; None without
            weights).
    """
    rows = []
    for layer in reported_layers(model):
        owner = _weights_owner(layer)
        row: dict[str, Any] = {"name": layer.name, "class": type(layer).__name__, "mode": layer.mode, "weights": {}}
        n_total = pruned_total = 0
        if layer.built:
            for role in weight_roles(layer):
                wq = _np(owner.quantized_weight(role, training=False))
                bits = weight_bits_array(layer, role)
                pruned = int(np.count_nonzero((wq == 0) | (bits <= 0)))
                row["weights"][role] = {
                    "shape": list(wq.shape),
                    "n": int(wq.size),
                    "quantized": weight_quantizer(owner, role) is not None,
                    **_bit_stats(bits),
                    "pruned": pruned,
                    "pruned_fraction": pruned / wq.size if wq.size else 0.0,
                }
                n_total += int(wq.size)
                pruned_total += pruned
        for which in ("input", "output", "state"):
            bits = activation_bits_array(layer, which) if layer.built else None
            if which != "state" or bits is not None:
                row[which] = None if bits is None else _bit_stats(bits)
        row["ebops"] = _layer_ebops(layer)
        row["n_weights"] = n_total
        row["pruned_weights"] = pruned_total
        row["pruned_fraction"] = pruned_total / n_total if n_total else None
        rows.append(row)
    return rows


def model_report(model: keras.Model) -> dict:
    """`layer_report` plus totals.

    Returns:
        ``{'model': name, 'layers': [...], 'totals': {'ebops', 'n_weights', 'pruned_weights',
        'pruned_fraction', 'weight_bits_mean'}}``; ``totals['ebops']`` equals
        `model_ebops(model)` (EBOPs) and ``weight_bits_mean`` is the mean bits per quantized
        weight element.
    """
    layers = layer_report(model)
    ebops = 0.0
    for row in layers:  # same order and float additions as model_ebops
        ebops += row["ebops"]
    n = sum(row["n_weights"] for row in layers)
    pruned = sum(row["pruned_weights"] for row in layers)
    qn = sum(w["n"] for row in layers for w in row["weights"].values() if w["quantized"])
    qbits = sum(w["bits_mean"] * w["n"] for row in layers for w in row["weights"].values() if w["quantized"])
    return {
        "model": model.name,
        "layers": layers,
        "totals": {
            "ebops": ebops,
            "n_weights": n,
            "pruned_weights": pruned,
            "pruned_fraction": pruned / n if n else None,
            "weight_bits_mean": qbits / qn if qn else None,
        },
    }


def _fmt_stats(stats: dict | None) -> str:
    if stats is None:
        return "-"
    return f"{stats['bits_min']:g}/{stats['bits_mean']:.2f}/{stats['bits_max']:g}"


def format_report(report: dict | list[dict]) -> str:
    """An aligned Markdown table of `model_report` (with a totals row) or `layer_report`.

    Bit columns read ``min/mean/max`` bits per element; 'pruned' is the percentage of weight
    elements that are 0 after quantization.
    """
    layers = report["layers"] if isinstance(report, dict) else list(report)
    roles: list[str] = []
    for row in layers:
        roles += [r for r in row["weights"] if r not in roles]
    header = (
        ["layer", "class", "mode", "weights", "pruned"]
        + [f"{r} bits" for r in roles]
        + ["input bits", "output bits", "EBOPs"]
    )
    table = []
    for row in layers:
        pf = row["pruned_fraction"]
        table.append(
            [row["name"], row["class"], row["mode"], str(row["n_weights"]), "-" if pf is None else f"{100 * pf:.1f}%"]
            + [_fmt_stats(row["weights"].get(r)) for r in roles]
            + [_fmt_stats(row.get("input")), _fmt_stats(row.get("output")), f"{row['ebops']:.1f}"]
        )
    if isinstance(report, dict) and "totals" in report:
        t = report["totals"]
        pf = t["pruned_fraction"]
        table.append(
            ["total", "", "", str(t["n_weights"]), "-" if pf is None else f"{100 * pf:.1f}%"]
            + [""] * len(roles)
            + ["", "", f"{t['ebops']:.1f}"]
        )
    widths = [max(len(h), *(len(r[c]) for r in table)) if table else len(h) for c, h in enumerate(header)]
    numeric = {3, 4, len(header) - 1}

    def line(cells: list[str]) -> str:
        return (
            "| "
            + " | ".join(c.rjust(w) if j in numeric else c.ljust(w) for j, (c, w) in enumerate(zip(cells, widths)))
            + " |"
        )

    rule = "|" + "|".join(("-" * (w + 1) + ":") if j in numeric else "-" * (w + 2) for j, w in enumerate(widths)) + "|"
    return "\n".join([line(header), rule] + [line(r) for r in table])


def save_report_json(report: dict | list[dict], path: str | os.PathLike) -> None:
    """Write a report as JSON (indented, atomically: temporary file then rename)."""
    write_text_atomic(path, json.dumps(report, indent=2, allow_nan=False) + "\n")


__all__ = [
    "activation_bits_array",
    "format_report",
    "layer_report",
    "model_report",
    "reported_layers",
    "save_report_json",
    "weight_bits_array",
    "weight_roles",
]
