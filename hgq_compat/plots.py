"""PNG plots: the Pareto front (metric vs EBOPs) and per-element bitwidths.

matplotlib is imported only when a plot is made (``pip install "hgq-compat[plot]"``).
Figures are drawn with the Agg canvas (no display, no change to pyplot's global backend)
and written atomically (temporary file, then rename).
"""

from __future__ import annotations

import os
import re
from typing import Any, Sequence

import keras
import numpy as np

from ._atomic import atomic_path
from .report import activation_bits_array, reported_layers, weight_bits_array, weight_roles


def _figure(**kwargs: Any) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError('hgq_compat.plots needs matplotlib: pip install "hgq-compat[plot]"') from e
    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, out_png: str | os.PathLike) -> str:
    out_png = os.fspath(out_png)
    parent = os.path.dirname(os.path.abspath(out_png))
    os.makedirs(parent, exist_ok=True)
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    return out_png


def _as_2d(bits: np.ndarray, rows_first_axis: bool = False) -> np.ndarray:
    """(..., last) -> (prod(...), last), or (first, prod(rest)) with ``rows_first_axis`` (images
    (H, W, C) show as H x (W*C)); scalars and vectors -> one row."""
    bits = np.asarray(bits, dtype=np.float64)
    if bits.ndim == 0:
        return bits.reshape(1, 1)
    if bits.ndim == 1:
        return bits.reshape(1, -1)
    if rows_first_axis:
        return bits.reshape(bits.shape[0], -1)
    return bits.reshape(-1, bits.shape[-1])


def plot_pareto(
    records: Sequence[dict] | str | os.PathLike,
    out_png: str | os.PathLike,
    metric: str | None = None,
    cost: str = "ebops",
    title: str | None = None,
) -> str:
    """Plot ``metric`` against EBOPs (log x axis) for the points of a Pareto front.

    Args:
        records: `ParetoFront.records`, `load_pareto_front` output, or the CSV / directory path.
        out_png: the PNG to write.
        metric: the y quantity; default: the first column that is not epoch, filename, path or ``cost``.
        cost: the x quantity, 'ebops' (EBOPs) by default.

    Returns:
        ``out_png``.
    """
    from .training.pareto import load_pareto_front

    if isinstance(records, (str, os.PathLike)):
        records = load_pareto_front(records)
    records = list(records)
    if not records:
        raise ValueError("plot_pareto: no records (the Pareto front is empty)")
    if metric is None:
        candidates = [k for k in records[0] if k not in ("epoch", "filename", "path", cost)]
        if not candidates:
            raise ValueError(f"plot_pareto: records have no metric besides {cost!r}; keys: {sorted(records[0])}")
        metric = candidates[0]
    for key in (metric, cost):
        if key not in records[0]:
            raise ValueError(f"plot_pareto: records have no {key!r}; keys: {sorted(records[0])}")
    pts = sorted(records, key=lambda r: r[cost])
    x = np.array([r[cost] for r in pts], dtype=np.float64)
    y = np.array([r[metric] for r in pts], dtype=np.float64)
    fig = _figure(figsize=(6, 4.5))
    ax = fig.add_subplot(1, 1, 1)
    ax.step(x, y, where="post", color="tab:blue", alpha=0.5)
    ax.plot(x, y, "o", color="tab:blue")
    for r, xi, yi in zip(pts, x, y):
        ax.annotate(str(r.get("epoch", "")), (xi, yi), textcoords="offset points", xytext=(4, -10), fontsize=7)
    if np.all(x > 0):
        ax.set_xscale("log")
    ax.set_xlabel("EBOPs" if cost == "ebops" else cost)
    ax.set_ylabel(metric)
    ax.set_title(title or f"Pareto front: {metric} vs {'EBOPs' if cost == 'ebops' else cost} (labels: epoch)")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return _save(fig, out_png)


def _layer_maps(layer: Any) -> list[tuple[str, np.ndarray]]:
    maps = []
    if layer.built:
        for role in weight_roles(layer):
            maps.append(
                (f"{role} bits {tuple(weight_bits_array(layer, role).shape)}", _as_2d(weight_bits_array(layer, role)))
            )
    for which in ("input", "output", "state"):
        bits = activation_bits_array(layer, which) if layer.built else None
        if bits is not None:
            maps.append((f"{which} bits {tuple(bits.shape)}", _as_2d(bits, rows_first_axis=True)))
    return maps


def plot_bitwidth_maps(model: keras.Model, out_dir: str | os.PathLike) -> list[str]:
    """One PNG per quantized layer, ``out_dir/<layer name>.png``: an image per weight role
    (bits per element, reshaped to (elements, last axis): a conv kernel (kh, kw, c_in, c_out)
    shows as (kh*kw*c_in) rows x c_out columns) and per activation (input, output, state;
    (H, W, C) shows as H rows x W*C columns).

    Returns:
        The paths written, in model order.
    """
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for layer in reported_layers(model):
        maps = _layer_maps(layer)
        if not maps:
            continue
        vmax = max(float(m.max()) for _, m in maps) or 1.0
        fig = _figure(figsize=(3.2 * len(maps), 3.6))
        for n, (label, bits) in enumerate(maps):
            ax = fig.add_subplot(1, len(maps), n + 1)
            im = ax.imshow(bits, aspect="auto", interpolation="nearest", cmap="viridis", vmin=0, vmax=vmax)
            ax.set_title(label, fontsize=8)
            ax.tick_params(labelsize=7)
            if bits.shape[0] == 1:
                ax.set_yticks([])
            fig.colorbar(im, ax=ax, label="bits")
        fig.suptitle(f"{layer.name} ({type(layer).__name__}): bits per element", fontsize=9)
        fig.tight_layout()
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", layer.name) + ".png"
        written.append(_save(fig, os.path.join(out_dir, name)))
    return written


def plot_bitwidth_histograms(model: keras.Model, out_png: str | os.PathLike) -> str:
    """Histograms of bits per element: weights (all roles) per layer on the left, activations
    (output quantizers) per layer on the right; one bar colour per layer, one bin per bit.

    Returns:
        ``out_png``.
    """
    weights: list[tuple[str, np.ndarray]] = []
    acts: list[tuple[str, np.ndarray]] = []
    for layer in reported_layers(model):
        if not layer.built:
            continue
        roles = weight_roles(layer)
        if roles:
            weights.append((layer.name, np.concatenate([weight_bits_array(layer, r).ravel() for r in roles])))
        out = activation_bits_array(layer, "output")
        if out is not None:
            acts.append((layer.name, out.ravel()))
    fig = _figure(figsize=(11, 4.2))
    for n, (title, series) in enumerate((("weights", weights), ("activations (outputs)", acts))):
        ax = fig.add_subplot(1, 2, n + 1)
        if series:
            top = int(np.ceil(max(float(s.max()) for _, s in series)))
            bins = np.arange(-0.5, top + 1.5, 1.0)
            ax.hist([np.round(s) for _, s in series], bins=bins, stacked=True, label=[k for k, _ in series])
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, "none", ha="center", va="center", transform=ax.transAxes)
        ax.set_xlabel("bits per element")
        ax.set_ylabel("elements")
        ax.set_title(title)
    fig.tight_layout()
    return _save(fig, out_png)


__all__ = ["plot_bitwidth_histograms", "plot_bitwidth_maps", "plot_pareto"]
