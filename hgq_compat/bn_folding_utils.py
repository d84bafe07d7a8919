"""QKeras module path ``qkeras.bn_folding_utils``: unfold folded conv + batch-norm layers."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from .layers import QConv2D, QConv2DBatchnorm, QDepthwiseConv2D, QDepthwiseConv2DBatchnorm

_UNFOLDED = {QConv2DBatchnorm: QConv2D, QDepthwiseConv2DBatchnorm: QDepthwiseConv2D}


def convert_folded_layer_to_unfolded(layer: Any) -> keras.layers.Layer:
    """A new (unbuilt) QConv2D / QDepthwiseConv2D with the folded layer's convolution arguments and
    quantizers and ``use_bias=True`` (as QKeras; its weights are set by `unfold_model`)."""
    target = next((cls for folded, cls in _UNFOLDED.items() if isinstance(layer, folded)), None)
    if target is None:
        raise ValueError(f"{layer.name}: {type(layer).__name__} is not a folded layer; accepted: "
                         f"{', '.join(c.__name__ for c in _UNFOLDED)}")
    config = layer.get_config()
    template = target(**_minimal_args(target, config)).get_config()
    new_config = {k: config.get(k, v) for k, v in template.items()}
    new_config["use_bias"] = True
    return target.from_config(new_config)


def _minimal_args(target: type, config: dict) -> dict:
    if target is QConv2D:
        return {"filters": config["filters"], "kernel_size": config["kernel_size"]}
    return {"kernel_size": config["kernel_size"]}


def unfold_model(model: keras.Model) -> keras.Model:
    """A copy of ``model`` with every QConv2DBatchnorm / QDepthwiseConv2DBatchnorm replaced by a
    QConv2D / QDepthwiseConv2D holding the folded (unquantized) kernel and bias, as QKeras: the
    new layer's quantizers give the same inference outputs. ``model`` is not modified."""

    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        if isinstance(layer, tuple(_UNFOLDED)):
            return convert_folded_layer_to_unfolded(layer)
        return layer.__class__.from_config(layer.get_config())

    cloned = keras.models.clone_model(model, clone_function=clone)
    for src, new in zip(model.layers, cloned.layers):
        if isinstance(src, tuple(_UNFOLDED)):
            new.set_weights([np.asarray(keras.ops.convert_to_numpy(w)) for w in src.get_folded_weights()])
        else:
            new.set_weights(src.get_weights())
    return cloned


__all__ = ["convert_folded_layer_to_unfolded", "unfold_model"]
