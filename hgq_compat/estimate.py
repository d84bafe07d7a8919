"""QKeras ``qkeras.estimate``: ``print_qstats``, which here leaves the model untouched."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from .layers.base import QuantizedLayerMixin
from .utils import get_model_sparsity


def _bits_label(bits: np.ndarray) -> str:
    b = np.unique(np.round(np.asarray(bits, dtype=np.float64), 2))
    return f"{b[0]:g}" if b.size == 1 else f"{b.min():g}-{b.max():g}"


def print_qstats(model: keras.Model) -> None:
    """Print per-layer operation cost (EBOPs with input x weight bitwidths), weight profiling
    (count and bits of every quantized weight) and weight sparsity. Unlike QKeras, the model's
    weights are not modified."""
    print("")
    print("Number of operations in model:")
    totals: dict[str, float] = {}
    layers = [l for l in model._flatten_layers(include_self=False, recursive=True) if isinstance(l, QuantizedLayerMixin)]
    for layer in sorted(layers, key=lambda l: l.name):
        if not layer.has_ebops or not layer.built or not layer.weight_roles():
            continue
        in_bits = ops.convert_to_numpy(layer.input_bits())
        w = ops.convert_to_numpy(layer.quantized_weight(layer.weight_roles()[0]))
        w_bits = ops.convert_to_numpy(layer.weight_bits(layer.weight_roles()[0], layer.quantized_weight(layer.weight_roles()[0])))
        nz = w_bits[w != 0] if np.any(w != 0) else np.zeros(1)
        op = f"smult_{_bits_label(in_bits)}_{_bits_label(nz)}"
        ebops = float(ops.convert_to_numpy(layer.compute_ebops()))
        totals[op] = totals.get(op, 0.0) + ebops
        print("    {:30}: {:8.0f} EBOPs ({})".format(layer.name, ebops, op))
    print("")
    print("Number of operation types in model:")
    for key in sorted(totals):
        print("    {:30}: {:.0f} EBOPs".format(key, totals[key]))
    print("")
    print("Weight profiling:")
    for layer in sorted(layers, key=lambda l: l.name):
        for role in layer.weight_roles():
            wq = layer.quantized_weight(role)
            bits = ops.convert_to_numpy(layer.weight_bits(role, wq))
            size = int(np.prod(getattr(layer, role).shape))
            print("    {:30} : {:5} ({}-bit unit)".format(f"{layer.name}_{role}", size, _bits_label(bits)))
    print("")
    print("Weight sparsity:")
    total, per_layer = get_model_sparsity(model, per_layer=True)
    for name, value in per_layer:
        print("    {:30} : {:.4f}".format(name, value))
    print("    " + "-" * 40)
    print("    {:30} : {:.4f}".format("Total Sparsity", total))
