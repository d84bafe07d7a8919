"""Nested Keras models (a Sequential or functional model used as a layer) are inlined.

hls4ml 1.3.0's Keras-v3 parser has no handler for a model inside a model (it falls back to its
Keras-2 converters and fails with an AttributeError). QKeras models often nest a Sequential
block; here the inner model is parsed with hls4ml's own parser and its layers are spliced in,
its input and output tensors renamed to the tensors of the outer call. The handler is added
only where no other plugin registered one.
"""

from __future__ import annotations

from typing import Any

NESTED_MODEL_KEYS = ("keras.src.models.sequential.Sequential", "keras.src.models.functional.Functional")


def inline_nested_model(layer: Any, in_tensors: Any, out_tensors: Any) -> tuple[dict[str, Any], ...]:
    """The IR configs of the layers of the nested model ``layer``, wired to the outer tensors."""
    import keras
    from hls4ml.converters.keras_v3_to_hls import parse_keras_v3_model

    model = layer._functional if isinstance(layer, keras.Sequential) else layer
    if len(model.inputs) != len(in_tensors) or len(model.outputs) != len(out_tensors):
        raise NotImplementedError(
            f"layer {layer.name!r}: a nested model called with {len(in_tensors)} inputs and {len(out_tensors)} "
            f"outputs but built with {len(model.inputs)} and {len(model.outputs)} cannot be inlined; "
            "build the model without nesting"
        )
    if {t.name for t in model.outputs} & {t.name for t in model.inputs}:
        raise NotImplementedError(
            f"layer {layer.name!r}: the nested model returns an input unchanged; build the model without nesting"
        )
    configs, input_layers, _, _ = parse_keras_v3_model(model)
    rename = {t.name: o.name for t, o in zip(model.inputs, in_tensors)}
    rename.update({t.name: o.name for t, o in zip(model.outputs, out_tensors)})
    call = out_tensors[0].name  # inner tensors get a per-call name: a nested model may be called twice
    inlined = []
    for conf in configs:
        if conf["name"] in input_layers:
            continue  # the inner Input: its tensor is the outer input tensor
        conf = {k: v for k, v in conf.items() if k != "inputs"}  # the outer parse wires by tensor name
        for key in ("input_keras_tensor_names", "output_keras_tensor_names"):
            conf[key] = [rename.get(n, f"{n}_in_{call}") for n in conf[key]]
        inlined.append(conf)
    return tuple(inlined)


def register_nested_model_handlers() -> None:
    """Add `inline_nested_model` for Keras model classes that have no handler yet."""
    from hls4ml.converters.keras_v3._base import registry

    for key in NESTED_MODEL_KEYS:
        registry.setdefault(key, inline_nested_model)


register_nested_model_handlers()
