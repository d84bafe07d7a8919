"""QKeras module path ``qkeras.bn_folding_utils``: unfold folded conv + batch-norm layers."""

from __future__ import annotations

from typing import Any

import keras

from .layers import (QBatchNormalization, QConv2D, QConv2DBatchnorm, QDepthwiseConv2D,
                     QDepthwiseConv2DBatchnorm)

_UNFOLDED = {QConv2DBatchnorm: QConv2D, QDepthwiseConv2DBatchnorm: QDepthwiseConv2D}
_BN_KEYS = ("axis", "momentum", "epsilon", "center", "scale", "beta_initializer", "gamma_initializer",
            "moving_mean_initializer", "moving_variance_initializer", "beta_regularizer", "gamma_regularizer",
            "beta_constraint", "gamma_constraint")


def convert_folded_layer_to_unfolded(layer: Any) -> tuple[keras.layers.Layer, keras.layers.Layer]:
    """Split a QConv2DBatchnorm / QDepthwiseConv2DBatchnorm into (convolution, QBatchNormalization)
    with the same weights (the convolution keeps its quantizers; the batch norm is float)."""
    target = next((cls for folded, cls in _UNFOLDED.items() if isinstance(layer, folded)), None)
    if target is None:
        raise ValueError(f"{layer.name}: {type(layer).__name__} is not a folded layer; accepted: "
                         f"{', '.join(c.__name__ for c in _UNFOLDED)}")
    config = layer.get_config()
    bn_config = {k: config.pop(k) for k in _BN_KEYS if k in config}
    conv_keys = set(target(**{**_minimal_args(target, config)}).get_config())
    conv = target(**{k: v for k, v in config.items() if k in conv_keys})
    bn = QBatchNormalization(name=layer.name + "_bn", **bn_config)
    return conv, bn


def _minimal_args(target: type, config: dict) -> dict:
    if target is QConv2D:
        return {"filters": config["filters"], "kernel_size": config["kernel_size"]}
    return {"kernel_size": config["kernel_size"]}


def unfold_model(model: keras.Model) -> keras.Model:
    """Not supported yet: raises NotImplementedError (model-level rewiring of folded layers)."""
    raise NotImplementedError(
        "unfold_model is not supported yet; use convert_folded_layer_to_unfolded per layer")
