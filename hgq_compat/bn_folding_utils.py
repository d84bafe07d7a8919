"""QKeras module path ``qkeras.bn_folding_utils``: fold batch norms into the preceding layer
(`convert_to_folded_model`, QKeras' ``qkeras.utils`` function, also exported there) and unfold
folded layers."""

from __future__ import annotations

import json
from typing import Any

import keras
import numpy as np

from .core.values import value_copy
from .layers import QConv2D, QConv2DBatchnorm, QDense, QDenseBatchnorm, QDepthwiseConv2D, QDepthwiseConv2DBatchnorm
from .layers.base import weight_quantizer

_UNFOLDED = {QConv2DBatchnorm: QConv2D, QDepthwiseConv2DBatchnorm: QDepthwiseConv2D, QDenseBatchnorm: QDense}


def convert_folded_layer_to_unfolded(layer: Any) -> keras.layers.Layer:
    """A new (unbuilt) QConv2D / QDepthwiseConv2D / QDense with the folded layer's arguments and
    quantizers and ``use_bias=True`` (as QKeras; its weights are set by `unfold_model`)."""
    target = next((cls for folded, cls in _UNFOLDED.items() if isinstance(layer, folded)), None)
    if target is None:
        raise ValueError(
            f"{layer.name}: {type(layer).__name__} is not a folded layer; accepted: "
            f"{', '.join(c.__name__ for c in _UNFOLDED)}"
        )
    config = layer.get_config()
    template = target(**_minimal_args(target, config)).get_config()
    new_config = {k: config.get(k, v) for k, v in template.items()}
    new_config["use_bias"] = True
    return target.from_config(new_config)


def _minimal_args(target: type, config: dict) -> dict:
    if target is QConv2D:
        return {"filters": config["filters"], "kernel_size": config["kernel_size"]}
    if target is QDense:
        return {"units": config["units"]}
    return {"kernel_size": config["kernel_size"]}


def unfold_model(model: keras.Model) -> keras.Model:
    """A copy of ``model`` with every QConv2DBatchnorm / QDepthwiseConv2DBatchnorm / QDenseBatchnorm
    replaced by a QConv2D / QDepthwiseConv2D / QDense holding the folded (unquantized) kernel and bias, as QKeras: the
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


# ---------------------------------------------------------------------------- folding

_FOLDED = {QConv2D: QConv2DBatchnorm, QDepthwiseConv2D: QDepthwiseConv2DBatchnorm, QDense: QDenseBatchnorm}
"""Quantized layer -> its folded class (`convert_to_folded_model`)."""

_FLOAT_FOLDABLE = ("Conv2D", "DepthwiseConv2D")
"""Float Keras classes whose following batch norm QKeras' convert_to_folded_model removes."""

_BN_CONFIG_KEYS = (
    "axis",
    "momentum",
    "epsilon",
    "center",
    "scale",
    "beta_initializer",
    "gamma_initializer",
    "moving_mean_initializer",
    "moving_variance_initializer",
    "beta_regularizer",
    "gamma_regularizer",
    "beta_constraint",
    "gamma_constraint",
)


def _foldable_class(layer: Any) -> type | str | None:
    """The folded class of ``layer`` (or the float class name QKeras folds), None if it cannot
    carry a folded batch norm: a linear output is needed (the batch norm follows it)."""
    if type(layer) in _FOLDED:
        linear = getattr(layer, "output_quantizer", None) is None and layer.activation is keras.activations.linear
        return _FOLDED[type(layer)] if linear else None
    if type(layer).__name__ in _FLOAT_FOLDABLE and type(layer).__module__.startswith("keras."):
        return type(layer).__name__
    return None


def _is_foldable_bn(bn: Any, folded: Any) -> bool:
    if type(bn) is not keras.layers.BatchNormalization:  # QBatchNormalization keeps its quantized statistics
        return False
    config = bn.get_config()
    if config.get("renorm") or config.get("synchronized"):
        return False
    if isinstance(folded, str):
        return True
    axis = config["axis"] if isinstance(config["axis"], int) else (config["axis"] or [None])[0]
    return len(np.atleast_1d(config["axis"])) == 1 and axis in folded._channel_axes


def _history(obj: dict) -> list | None:
    """``[layer, node, tensor]`` of a serialized Keras tensor, None for anything else."""
    return obj.get("config", {}).get("keras_history") if obj.get("class_name") == "__keras_tensor__" else None


def _consumers(entries: list[dict], sequential: bool) -> dict[str, list[str]]:
    """Layer name -> names of the layers its outputs feed (in a model config)."""
    out: dict[str, list[str]] = {e["config"]["name"]: [] for e in entries}
    if sequential:
        for a, b in zip(entries, entries[1:]):
            out[a["config"]["name"]].append(b["config"]["name"])
        return out

    def walk(obj: Any, name: str) -> None:
        if isinstance(obj, dict):
            history = _history(obj)
            if history:
                out.setdefault(history[0], []).append(name)
            for v in obj.values():
                walk(v, name)
        elif isinstance(obj, list):
            for v in obj:
                walk(v, name)

    for e in entries:
        walk(e.get("inbound_nodes", []), e["config"]["name"])
    return out


def _rename_history(obj: Any, old: str, new: str) -> None:
    """Point every reference to layer ``old``'s output at layer ``new`` (in place)."""
    if isinstance(obj, dict):
        history = _history(obj)
        if history and history[0] == old:
            history[0] = new
        for v in obj.values():
            _rename_history(v, old, new)
    elif isinstance(obj, list):
        if len(obj) == 3 and obj[0] == old and isinstance(obj[1], int):  # output_layers entries
            obj[0] = new
        for v in obj:
            _rename_history(v, old, new)


def _copy_variables(dst: Any, src: Any) -> None:
    for a, b in zip(dst.weights, src.weights):
        a.assign(value_copy(b))


def _fill_folded(new: Any, conv: Any, bn: Any) -> None:
    """Weights of the folded layer ``new`` from ``conv`` and ``bn``; quantizer state (HGQ
    bitwidths, per element) copied from ``conv``'s quantizers."""
    getattr(new, new.kernel_role).assign(value_copy(getattr(conv, new.kernel_role)))
    if conv.use_bias:
        new.bias.assign(value_copy(conv.bias))
    if bn.scale:
        new.gamma.assign(value_copy(bn.gamma))
    if bn.center:
        new.bn_beta.assign(value_copy(bn.beta))
    new.moving_mean.assign(value_copy(bn.moving_mean))
    new.moving_variance.assign(value_copy(bn.moving_variance))
    for role in (new.kernel_role, "bias"):
        src, dst = (weight_quantizer(layer, role) for layer in (conv, new))
        if src is not None and dst is not None:
            _copy_variables(dst, src)
    if conv.hgq and conv.has_ebops:
        getattr(new, new._ebops_beta_attr).assign(value_copy(getattr(conv, conv._ebops_beta_attr)))


def convert_to_folded_model(model: keras.Model) -> tuple[keras.Model, list[str]]:
    """Fold every batch normalization into the layer before it (QKeras ``utils.convert_to_folded_model``).

    A ``keras.layers.BatchNormalization`` that is the only consumer of a linear (no activation,
    no output quantizer) QConv2D / QDepthwiseConv2D / QDense becomes part of a QConv2DBatchnorm /
    QDepthwiseConv2DBatchnorm / QDenseBatchnorm with the same name, weights, statistics and
    quantizers (HGQ bitwidths copied element by element); the kernel quantizer then quantizes
    the folded kernel ``gamma / sqrt(var + eps) * W``, so outputs change by that requantization.
    As in QKeras, a batch norm after a float ``Conv2D`` / ``DepthwiseConv2D`` is removed (the
    first step of ``model_quantize(enable_bn_folding=True)``). ``model`` is not modified.

    Returns ``(new_model, names of the layers a batch norm was folded into)``.
    """
    sequential = isinstance(model, keras.Sequential)
    top = json.loads(json.dumps(keras.saving.serialize_keras_object(model)))  # a copy, tuples as lists
    entries = top["config"]["layers"]
    consumers = _consumers(entries, sequential)
    by_name = {layer.name: layer for layer in model.layers}
    folds: dict[str, tuple[Any, Any, Any]] = {}  # conv name -> (folded class or float class name, conv, bn)
    for entry in entries:
        name = entry["config"]["name"]
        layer = by_name.get(name)
        target = _foldable_class(layer) if layer is not None else None
        nxt = consumers.get(name, [])
        if target is None or len(nxt) != 1 or len(getattr(layer, "_inbound_nodes", [])) > 1:
            continue
        bn = by_name.get(nxt[0])
        if bn is None or len(bn._inbound_nodes) != 1 or not _is_foldable_bn(bn, target):
            continue
        folds[name] = (target, layer, bn)
    from ._objects import _custom_objects

    objects = _custom_objects(None)
    kept = []
    bn_names = {bn.name: conv_name for conv_name, (_, _, bn) in folds.items()}
    for entry in entries:
        name = entry["config"]["name"]
        if name in bn_names:
            continue
        if name in folds and not isinstance(folds[name][0], str):
            target, _, bn = folds[name]
            bn_config = bn.get_config()
            entry["config"].update({k: bn_config[k] for k in _BN_CONFIG_KEYS if k in bn_config})
            entry.update({"class_name": target.__name__, "module": None, "registered_name": target.__name__})
        kept.append(entry)
    top["config"]["layers"] = kept
    for bn_name, conv_name in bn_names.items():
        for entry in kept:
            _rename_history(entry.get("inbound_nodes", []), bn_name, conv_name)
        _rename_history(top["config"].get("output_layers", []), bn_name, conv_name)
    new_model = keras.saving.deserialize_keras_object(top, custom_objects=objects)
    for layer in new_model.layers:
        old = by_name[layer.name]
        if layer.name in folds and not isinstance(folds[layer.name][0], str):
            _fill_folded(layer, old, folds[layer.name][2])
        else:
            _copy_variables(layer, old)
    return new_model, list(folds)


# ---------------------------------------------------------------------------- bias from the accumulator

#: Layers that pass their input's quantizer through unchanged (QTools propagates it across them).
_PASS_THROUGH = (
    "Flatten",
    "Reshape",
    "Permute",
    "Dropout",
    "MaxPooling1D",
    "MaxPooling2D",
    "ZeroPadding1D",
    "ZeroPadding2D",
    "Cropping1D",
    "Cropping2D",
)

_DEFAULT_SOURCE = "quantized_bits(8, 0, 1)"


def _fixed_type(q: Any, where: str) -> tuple[int, int, bool]:
    """QTools' (bits, integer bits, signed) of a quantized_bits / quantized_relu quantizer."""
    name = type(q).__name__
    if name == "quantized_bits":
        return int(q.bits), int(q.integer), bool(q.keep_negative)
    if name == "quantized_relu":
        return int(q.bits), int(q.integer), bool(q.negative_slope)
    raise NotImplementedError(
        f"populate_bias_quantizer_from_accumulator: {where} is quantized by {q}; accepted: "
        "quantized_bits, quantized_relu"
    )


def _input_type(model: keras.Model, layer: Any, sources: list) -> tuple[int, int, bool]:
    """The fixed-point type of ``layer``'s input: the quantizer of the layer that produces it (through
    shape-only layers), or the model input's entry of ``sources``."""
    from .quantizers import get_quantizer

    tensor = layer.input
    while True:
        producer = tensor._keras_history.operation
        if isinstance(producer, keras.layers.InputLayer):
            index = [t._keras_history.operation for t in model.inputs].index(producer)
            source = sources[index] if index < len(sources) and sources[index] is not None else _DEFAULT_SOURCE
            return _fixed_type(get_quantizer(source), f"model input {index}")
        q = getattr(producer, "_activation_quantizer", None)
        if q is not None:
            return _fixed_type(q, f"layer {producer.name!r} (input of {layer.name!r})")
        if type(producer).__name__ in _PASS_THROUGH:
            tensor = producer.input
            continue
        raise NotImplementedError(
            f"populate_bias_quantizer_from_accumulator: the input of {layer.name!r} comes from "
            f"{producer.name!r} ({type(producer).__name__}), which has no quantizer; accepted: "
            f"a quantized layer or model input, through {', '.join(_PASS_THROUGH)}"
        )


def _po2_shifts(q: Any) -> tuple[int, int] | None:
    """(min, max) log2 of an auto_po2 quantized_bits scale once it is known (QTools'
    ``adjust_multiplier_for_auto_po2``); None before the quantizer ran eagerly."""
    if type(q).__name__ != "quantized_bits" or q.alpha != "auto_po2":
        return None
    scale = getattr(q, "scale", None)
    if scale is None or isinstance(scale, (int, float)) and not isinstance(scale, np.ndarray):
        return None
    try:
        scale = np.squeeze(np.asarray(keras.ops.convert_to_numpy(scale), dtype=np.float64))
    except Exception:  # a symbolic tensor (the quantizer only ran while the model was built)
        return None
    return int(np.log2(np.min(scale))), int(np.log2(np.max(scale)))


def accumulator_quantizer(model: keras.Model, layer: Any, source_quantizers: list | None = None) -> Any:
    """QTools' accumulator type of a folded layer's multiply-accumulate, as a ``quantized_bits``:
    product bits = input bits + kernel bits (integer bits add, one sign bit), then
    ``ceil(log2(fan_in))`` more integer bits, fan_in = product of the kernel shape but its last axis."""
    from .quantizers import quantized_bits

    kernel_q = layer.get_quantizers()[0]
    if kernel_q is None:
        raise ValueError(f"populate_bias_quantizer_from_accumulator: {layer.name!r} has no kernel quantizer")
    xb, xi, xs = _input_type(model, layer, list(source_quantizers or []))
    wb, wi, ws = _fixed_type(kernel_q, f"the kernel of {layer.name!r}")
    signed = xs or ws
    integer = xi + wi
    fractional = (xb - int(xs) - xi) + (wb - int(ws) - wi)
    shifts = _po2_shifts(kernel_q)
    if shifts is not None:
        fractional, integer = fractional - shifts[0], integer + shifts[1]
    kernel_shape = tuple(getattr(layer, layer.kernel_role).shape)
    log_add = int(np.ceil(np.log2(np.prod(kernel_shape[:-1]))))
    return quantized_bits(
        bits=integer + fractional + int(signed) + log_add, integer=integer + log_add, keep_negative=signed, symmetric=1
    )


def populate_bias_quantizer_from_accumulator(model: keras.Model, source_quantizers: list | None) -> keras.Model:
    """QKeras master's ``populate_bias_quantizer_from_accumulator``: every QConv2DBatchnorm /
    QDepthwiseConv2DBatchnorm without a bias quantizer gets its MAC accumulator type
    (`accumulator_quantizer`) as bias quantizer; layers that have one are left alone.
    ``source_quantizers``: quantizers (or strings) of the model inputs, default
    ``quantized_bits(8, 0, 1)``. The model is changed in place and returned."""
    for layer in model.layers:
        if (
            type(layer).__name__ in ("QConv2DBatchnorm", "QDepthwiseConv2DBatchnorm")
            and layer.get_quantizers()[1] is None
        ):
            layer.set_bias_quantizer(accumulator_quantizer(model, layer, source_quantizers))
    return model


__all__ = [
    "accumulator_quantizer",
    "convert_folded_layer_to_unfolded",
    "convert_to_folded_model",
    "populate_bias_quantizer_from_accumulator",
    "unfold_model",
]
