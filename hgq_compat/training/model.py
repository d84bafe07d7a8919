"""Model-level helpers: find quantized layers, total EBOPs, set beta, trace ranges."""

from __future__ import annotations

from typing import Any, Iterator

import keras
import numpy as np
from keras import ops

from ..core.quantizer import FixedPointQuantizer
from ..layers.base import QuantizedLayerMixin


def quantized_layers(model: keras.layers.Layer) -> Iterator[QuantizedLayerMixin]:
    """All quantized layers of ``model``, nested models included, in order."""
    for layer in model._flatten_layers(include_self=True, recursive=True):
        if isinstance(layer, QuantizedLayerMixin):
            yield layer


def fixed_point_quantizers(model: keras.layers.Layer) -> Iterator[FixedPointQuantizer]:
    for layer in model._flatten_layers(include_self=True, recursive=True):
        if isinstance(layer, FixedPointQuantizer):
            yield layer


def model_ebops(model: keras.Model) -> float:
    """Total EBOPs of ``model`` for its current weights and bitwidths."""
    total = 0.0
    for layer in quantized_layers(model):
        if layer.built and layer.has_ebops:
            total += float(ops.convert_to_numpy(layer.compute_ebops()))
    return total


def layer_ebops(model: keras.Model) -> dict[str, float]:
    """EBOPs per quantized layer name."""
    return {
        layer.name: float(ops.convert_to_numpy(layer.compute_ebops()))
        for layer in quantized_layers(model)
        if layer.built and layer.has_ebops
    }


def set_beta(model: keras.Model, beta: float) -> None:
    """Set the EBOPs weight ``beta`` of every HGQ-mode layer (takes effect without recompiling)."""
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or beta < 0:
        raise ValueError(f"beta={beta!r} is not accepted; accepted values: a number >= 0")
    for layer in quantized_layers(model):
        var = getattr(layer, layer._ebops_beta_attr, None) if layer.hgq and layer.has_ebops else None
        if var is not None:
            var.assign(float(beta))


def reset_minmax(model: keras.Model) -> None:
    """Forget the observed ranges of all range-tracking (WRAP) quantizers."""
    for q in fixed_point_quantizers(model):
        q.reset_minmax()


def trace_minmax(model: keras.Model, data: Any, batch_size: int = 1024, reset: bool = True) -> None:
    """Set the integer bits of range-tracking (WRAP) quantizers from the range ``data`` reaches.

    Call before export so that no value seen in ``data`` overflows.
    """
    quantizers = [q for q in fixed_point_quantizers(model) if q.spec.range_tracking]
    if reset:
        for q in quantizers:
            q.reset_minmax()
    for q in quantizers:
        q.tracing = True
    try:
        n = len(data)
        for start in range(0, n, batch_size):
            model(np.asarray(data[start : start + batch_size]), training=False)
    finally:
        for q in quantizers:
            q.tracing = False


def reinitialize_bitwidths(model: keras.Model) -> None:
    """Restart the HGQ bitwidths of every quantized layer (nested models included) from its QKeras
    quantizers' bits for the current weights."""
    for layer in model._flatten_layers(include_self=False, recursive=True):
        fn = getattr(layer, "reinitialize_bitwidths", None)
        if callable(fn):
            fn()


def jitter_bitwidths(model: keras.Model, amount: float = 0.45, seed: int = 0) -> None:
    """Spread the trainable bitwidth variables (i, f; bits) of HGQ quantizers uniformly within
    +-``amount`` of their current integer values.

    Bitwidths are used rounded, so outputs and EBOPs do not change. Under Adam every
    unimportant bitwidth drifts down at about the learning rate per step; started from the same
    integer they all cross a rounding threshold in the same step, and accuracy drops in jumps.
    Jittered, they cross one by one. ``amount`` must be in [0, 0.5).
    """
    if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not 0 <= amount < 0.5:
        raise ValueError(
            f"jitter_bitwidths: amount={amount!r} is not accepted; accepted values: 0 <= amount < 0.5 "
            "(bits), so that the rounded bitwidths stay as they are"
        )
    rng = np.random.default_rng(seed)
    for q in fixed_point_quantizers(model):
        for var in (q.i, q.f):
            if var.trainable:
                base = np.round(ops.convert_to_numpy(var))
                var.assign((base + rng.uniform(-amount, amount, base.shape)).astype("float32"))
