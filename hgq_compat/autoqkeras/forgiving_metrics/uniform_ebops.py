"""EBOPs of a model whose float layers are replaced by uniform ``bits``-bit quantized layers.

The reference of both AutoQKeras goals: every float Dense / Conv / DepthwiseConv /
SeparableConv weight and every float ReLU-family activation at ``bits`` bits (every weight
counted, even one that would quantize to 0), model inputs at ``bits`` bits. Layers that are
already quantized count their own EBOPs (and give their trained bitwidths to the layers after them).
"""

from __future__ import annotations

import keras
from keras import ops

from ...core.config import quantization_config
from ...layers.base import QuantizedLayerMixin
from ...utils import _WEIGHTED, model_quantize

_ROLES = {"kernel": "kernel_quantizer", "depthwise": "depthwise_quantizer", "pointwise": "pointwise_quantizer"}


def _uniform_config(bits: int) -> dict:
    weight = f"quantized_bits({int(bits)},0,1,alpha=1)"
    config = {
        "Q" + cls: {**{f"{r}_quantizer": weight for r in roles}, "bias_quantizer": weight}
        for cls, roles in _WEIGHTED.items()
    }
    config["QActivation"] = {"relu": f"quantized_relu({int(bits)})"}
    return config


def _all_weights_ebops(layer: QuantizedLayerMixin) -> float:
    """EBOPs of ``layer`` with every weight element counted (none quantizes to 0)."""
    weights = {
        role: None if getattr(layer, role, None) is None else ops.ones(tuple(getattr(layer, role).shape))
        for role in layer._weight_quantizer_args
    }
    return float(ops.convert_to_numpy(layer._ebops(layer.input_bits(), weights)))


def uniform_layer_ebops(model: keras.Model, bits: int) -> dict[str, float]:
    """EBOPs per layer name of ``model`` with its float layers at uniform ``bits`` bits (see module doc)."""
    own = {
        layer.name: float(ops.convert_to_numpy(layer.compute_ebops()))
        for layer in model.layers
        if isinstance(layer, QuantizedLayerMixin) and layer.has_ebops and layer.built
    }
    with quantization_config(mode="qkeras", default_input_bits=float(bits)):
        uniform = model_quantize(model, _uniform_config(bits), int(bits), transfer_weights=True)
    result = {}
    for layer in uniform.layers:
        if layer.name in own:
            result[layer.name] = own[layer.name]
        elif isinstance(layer, QuantizedLayerMixin) and layer.has_ebops and layer.built:
            result[layer.name] = _all_weights_ebops(layer)
    return result
