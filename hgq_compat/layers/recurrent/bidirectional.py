"""QBidirectional (QKeras ``QBidirectional``): Keras' Bidirectional wrapper for the quantized
RNNs, with Keras 2's ``layer`` attribute and config, the input bits passed to both directions,
and the quantization API (quantizers, config, EBOPs) of both directions.
"""

from __future__ import annotations

from typing import Any

import keras

from ..base import QuantizedLayerMixin, tensor_bits_source


def _is_reversed_copy(layer: Any, backward: dict) -> bool:
    """Whether the serialized ``backward`` layer is the serialized ``layer`` with go_backwards flipped."""
    if not isinstance(layer, dict) or layer.get("class_name") != backward.get("class_name"):
        return False
    ignore = ("name", "go_backwards")
    a = {k: v for k, v in layer.get("config", {}).items() if k not in ignore}
    b = {k: v for k, v in backward.get("config", {}).items() if k not in ignore}
    flipped = bool(layer["config"].get("go_backwards", False)) != bool(backward["config"].get("go_backwards", False))
    return a == b and flipped


@keras.saving.register_keras_serializable(package="hgq_compat")
class QBidirectional(keras.layers.Bidirectional):
    """Bidirectional wrapper for the quantized RNNs (QKeras ``QBidirectional``)."""

    def __init__(
        self, layer: Any, merge_mode: Any = "concat", weights: Any = None, backward_layer: Any = None, **kwargs: Any
    ):
        if merge_mode not in ("sum", "mul", "ave", "concat", None):
            raise ValueError(
                f"QBidirectional: merge_mode={merge_mode!r} is not accepted; accepted values: "
                "'sum', 'mul', 'ave', 'concat', None"
            )
        super().__init__(layer, merge_mode=merge_mode, weights=weights, backward_layer=backward_layer, **kwargs)
        # Keras 2's ``Bidirectional.layer``: the layer given (forward_layer and backward_layer are rebuilt
        # from its config); not tracked, it is never called
        object.__setattr__(self, "layer", layer)
        self._backward_layer_given = backward_layer is not None

    def get_config(self) -> dict:
        """As Keras 2: ``backward_layer`` only when one was given (otherwise it is rebuilt from ``layer``)."""
        config = super().get_config()
        if not self._backward_layer_given:
            config.pop("backward_layer", None)
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: Any = None) -> "QBidirectional":
        """A ``backward_layer`` that is ``layer`` run backwards (what Keras 3 saves for every Bidirectional)
        is rebuilt from ``layer``, as Keras 2 did."""
        config = dict(config)
        if isinstance(config.get("layer"), dict):  # ``layer`` is never called: keep it unbuilt, as when saved
            config["layer"] = {k: v for k, v in config["layer"].items() if k != "build_config"}
        backward = config.get("backward_layer")
        if isinstance(backward, dict) and _is_reversed_copy(config.get("layer"), backward):
            config.pop("backward_layer")
        return super().from_config(config, custom_objects=custom_objects)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if args and isinstance(args[0], keras.KerasTensor):
            source = tensor_bits_source(args[0])
            for layer in (self.forward_layer, self.backward_layer):
                if isinstance(layer, QuantizedLayerMixin):
                    layer._input_bits_source = source
        return super().__call__(*args, **kwargs)

    def get_quantizers(self) -> list:
        """Quantizers of the forward then the backward layer, in creation order."""
        return self.forward_layer.get_quantizers() + self.backward_layer.get_quantizers()

    @property
    def activation(self) -> Any:
        return self.forward_layer.activation

    def get_quantization_config(self) -> dict:
        return {
            "layer": self.forward_layer.get_quantization_config(),
            "backward_layer": self.backward_layer.get_quantization_config(),
        }

    def compute_ebops(self) -> Any:
        """EBOPs of both directions."""
        return self.forward_layer.compute_ebops() + self.backward_layer.compute_ebops()


__all__ = ["QBidirectional"]
