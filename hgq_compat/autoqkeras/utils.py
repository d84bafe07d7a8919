"""QKeras ``qkeras.autoqkeras.utils.print_qmodel_summary`` (imported by the hls4ml tutorial)."""

from __future__ import annotations

import keras
import numpy as np

_FILTER_CLASSES = ("Conv2D", "QConv2D", "Conv1D", "QConv1D", "QConv2DBatchnorm", "QDepthwiseConv2DBatchnorm")


def _is_linear(activation: object) -> bool:
    return activation is None or getattr(activation, "__name__", None) == "linear"


def _activation(layer: keras.layers.Layer) -> object:
    """What QKeras holds in ``layer.activation``: the activation quantizer if there is one."""
    quantizer = getattr(layer, "_activation_quantizer", None)
    return quantizer if quantizer is not None else getattr(layer, "activation", None)


def print_qmodel_summary(q_model: keras.Model) -> None:
    """Print one line per quantized layer: units or filters, its quantizers and its activation, as QKeras."""
    for layer in q_model.layers:
        cls = type(layer).__name__
        if cls in ("QActivation", "QAdaptiveActivation"):
            print("{:20} {}".format(layer.name, str(_activation(layer))))
        elif hasattr(layer, "get_quantizers") and cls != "QBatchNormalization":
            print("{:20} ".format(layer.name), end="")
            if "Dense" in cls:
                print("u={} ".format(layer.units), end="")
            elif cls in _FILTER_CLASSES:
                print("f={} ".format(layer.filters), end="")
            for q in layer.get_quantizers():
                if q is not None:
                    print("{} ".format(str(q)), end="")
            if hasattr(layer, "recurrent_activation"):
                print("recurrent act={}".format(layer.recurrent_activation), end="")
            if not _is_linear(_activation(layer)):
                print("act={}".format(_activation(layer)), end="")
            print()
        elif cls == "QBatchNormalization":
            print(
                "{:20} QBN, mean={}".format(layer.name, str(np.asarray(keras.ops.convert_to_numpy(layer.moving_mean)))),
                end="",
            )
            print()
        elif cls == "BatchNormalization":
            print("{:20} is normal keras bn layer".format(layer.name), end="")
            print()
    print()


__all__ = ["print_qmodel_summary"]
