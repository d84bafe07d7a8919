"""QKeras ``qkeras.utils`` on Keras 3: loading, cloning, quantizing and inspecting models."""

from __future__ import annotations

import copy
import json
import os
from typing import Any, Sequence

import keras
import numpy as np
from keras import ops

from ._objects import _add_supported_quantized_objects, _custom_objects, _supported_objects  # noqa: F401
from ._safety import check_config, safe_mode_scope
from .bn_folding_utils import convert_to_folded_model  # noqa: F401 (QKeras' qkeras.utils name)
from .layers.base import QuantizedLayerMixin
from .loading import _is_legacy_config, is_keras3_h5, load_model  # noqa: F401
from .quantizers import get_quantizer


def quantized_model_from_json(json_string: str, custom_objects: dict | None = None, hgq: bool = False) -> keras.Model:
    """A model from its JSON, with hgq_compat objects known.

    Keras 3 JSON (``model.to_json()`` of an hgq_compat model) is deserialized directly;
    legacy QKeras / Keras 2 JSON is converted with `hgq_compat.legacy` (weights are not
    part of a JSON; load them with `hgq_compat.legacy.load_legacy_weights` or use
    `hgq_compat.legacy.convert_qkeras_model` with the weights file).
    """
    try:
        config = json.loads(json_string)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"quantized_model_from_json: the argument is not JSON ({exc})") from exc
    if isinstance(config, dict) and _is_legacy_config(config):
        from .legacy import build_from_config

        model, _ = build_from_config(config, hgq=hgq, custom_objects=custom_objects)
        return model
    check_config(config)
    with safe_mode_scope():
        return keras.models.model_from_json(json_string, custom_objects=_custom_objects(custom_objects))


def load_qmodel(
    filepath: Any, custom_objects: dict | None = None, compile: bool = True, hgq: bool = False
) -> keras.Model:
    """Load a model saved with ``model.save``: a Keras 3 ``.keras`` archive written by
    hgq_compat, or a legacy QKeras file (Keras 2 ``.h5`` full model, qkeras-v3 ``.keras``),
    which is converted with `hgq_compat.legacy.convert_qkeras_model` (``compile`` has no
    effect there: converted models are not compiled). See `hgq_compat.loading.load_model`."""
    return load_model(filepath, custom_objects=custom_objects, compile=compile, hgq=hgq)


def clone_model(model: keras.Model, custom_objects: dict | None = None) -> keras.Model:
    """A new model with the same config and weights."""
    config = keras.saving.serialize_keras_object(model)
    clone = keras.saving.deserialize_keras_object(config, custom_objects=_custom_objects(custom_objects))
    clone.set_weights(model.get_weights())
    return clone


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def _is_po2(quantizer: Any) -> bool:
    return "_po2" in type(quantizer).__name__


def _quantized_layer_weights(layer: QuantizedLayerMixin) -> list[np.ndarray]:
    if hasattr(layer, "get_folded_weights"):
        qs = layer.get_quantizers()
        return [
            np.asarray(ops.convert_to_numpy(q(w) if q is not None else w))
            for q, w in zip(qs, layer.get_folded_weights())
        ]
    return [np.asarray(ops.convert_to_numpy(layer.quantized_weight(role))) for role in layer.weight_roles()]


def is_TFOpLambda_layer(layer: Any) -> bool:  # noqa: N802 (QKeras name)
    """True for what tf-keras wrapped as a ``TFOpLambda`` layer: a TF op called on Keras tensors
    (``x + 3.``, ``tf.math.multiply``). Keras 3 keeps such ops as plain operations of the model
    (``model.operations``, not ``model.layers``)."""
    if type(layer).__name__ == "TFOpLambda":
        return True
    return isinstance(layer, keras.Operation) and not isinstance(layer, keras.layers.Layer)


def find_bn_fusing_layer_pair(model: keras.Model, custom_objects: dict | None = None) -> tuple[dict, set]:
    """QKeras master's pairs of a QConv2D / QDepthwiseConv2D whose only consumer is a
    QBatchNormalization: ``({conv name: bn name}, {bn names})`` (hardware fuses the batch norm
    into the layer's output; see `add_bn_fusing_weights`). ``custom_objects`` is accepted for
    QKeras' signature; the model is read, not cloned."""
    from .bn_folding_utils import _consumers

    config = json.loads(json.dumps(keras.saving.serialize_keras_object(model)["config"], default=_json_default))
    consumers = _consumers(_layer_entries(config), isinstance(model, keras.Sequential))
    pairs: dict[str, str] = {}
    for layer in model.layers:
        nxt = consumers.get(layer.name, [])
        if (
            type(layer).__name__ in ("QConv2D", "QDepthwiseConv2D")
            and len(nxt) == 1
            and type(model.get_layer(nxt[0])).__name__ == "QBatchNormalization"
        ):
            pairs[layer.name] = nxt[0]
    return pairs, set(pairs.values())


def add_bn_fusing_weights(prev_layer: Any, bn_layer: Any, saved_weights: dict) -> None:
    """Add QKeras master's batch-norm fusing entries to ``saved_weights[prev_layer.name]``:
    ``enable_bn_fusing`` (True), ``fused_bn_layer_name``, ``bn_inv`` (gamma / sqrt(variance + eps),
    after the inverse quantizer; quantized statistics) and ``fused_bias``
    (``bn_inv * bias + beta - bn_inv * mean``; ``bias`` 0 without one), both float32 per channel."""

    def value(role: str) -> np.ndarray:
        return np.asarray(ops.convert_to_numpy(bn_layer.quantized_weight(role, training=False)))

    inv = np.asarray(ops.convert_to_numpy(bn_layer.inference_scale_shift()[0]))
    beta = value("beta") if bn_layer.center else 0.0
    mean = value("moving_mean")
    if getattr(prev_layer, "use_bias", False):
        weights = prev_layer.get_weights()
        if len(weights) != 2:
            raise ValueError(
                f"add_bn_fusing_weights: {prev_layer.name} should have 2 weights (kernel, bias); found {len(weights)}"
            )
        prev_bias = weights[-1]
    else:
        prev_bias = 0.0
    entry = saved_weights[prev_layer.name]
    entry["enable_bn_fusing"] = True
    entry["fused_bn_layer_name"] = bn_layer.name
    entry["bn_inv"] = inv
    entry["fused_bias"] = inv * prev_bias + beta - inv * mean  # QKeras' order of operations


def model_save_quantized_weights(model: keras.Model, filename: str | None = None) -> dict:
    """Quantize the weights of every quantized layer, write them into the model (as QKeras
    does) and return ``{layer: {'weights': [...], 'enable_bn_fusing': bool}}``; po2 weights also
    give ``'signs'`` and are returned as exponents. As QKeras master, a QConv2D/QDepthwiseConv2D
    whose only consumer is a QBatchNormalization is marked for fusing with it in hardware
    (``enable_bn_fusing``, ``fused_bn_layer_name``, ``bn_inv``, ``fused_bias``; the batch
    normalization gets ``enable_bn_fusing`` too), which `hgq_compat.qtools` reads.
    ``filename`` saves the model weights (``.weights.h5``)."""
    saved: dict[str, dict] = {}
    fusing_pairs, fused_bn_layers = find_bn_fusing_layer_pair(model)
    print("... quantizing model")
    for layer in model.layers:
        if not isinstance(layer, QuantizedLayerMixin) or not layer.weight_roles():
            if layer.get_weights():
                print(" ", layer.name, "has not been quantized")
            continue
        weights = _quantized_layer_weights(layer)
        quantizers = dict(zip(layer._weight_quantizer_args, layer.quantizers))
        out, signs, has_sign = [], [], False
        for role, w in zip(layer.weight_roles(), weights):
            q = quantizers.get(role)
            if q is not None and _is_po2(q):
                sign = np.sign(w)
                sign += 1.0 - np.abs(sign)
                has_sign = has_sign or type(q).__name__ == "quantized_po2"
                signs.append(sign)
                out.append(np.round(np.log2(np.abs(w))))
            else:
                signs.append([])
                out.append(w)
        saved[layer.name] = {"weights": out, "enable_bn_fusing": layer.name in fused_bn_layers}
        if has_sign:
            saved[layer.name]["signs"] = signs
        if hasattr(layer, "get_folded_weights"):
            print(
                layer.name,
                " conv and batchnorm weights cannot be seperately quantized because they will be "
                "folded before quantization.",
            )
        else:
            for role, w in zip(layer.weight_roles(), weights):
                getattr(layer, role).assign(w)
        if layer.name in fusing_pairs:
            print(f"Fuse {layer.name} output with {fusing_pairs[layer.name]} for hardware inference.")
            add_bn_fusing_weights(layer, model.get_layer(fusing_pairs[layer.name]), saved)
    if filename:
        if not filename.endswith(".weights.h5"):
            raise ValueError(f"filename={filename!r}: Keras 3 saves weights to files ending in '.weights.h5'")
        model.save_weights(filename)
    return saved


def _quantizer_roles(layer: Any) -> list[tuple[str, Any]]:
    """(role, QKeras quantizer) of a quantized layer's existing weights, in get_weights() order."""
    quantizers = dict(zip(layer._weight_quantizer_args, layer.quantizers))
    return [(role, quantizers.get(role)) for role in layer.weight_roles()]


def _is_auto_po2(q: Any) -> bool:
    return type(q).__name__ == "quantized_bits" and q.alpha == "auto_po2"


def _hardware_weights(model: keras.Model) -> dict:
    """QKeras master's ``model_save_quantized_weights`` dictionary (hardware format): per quantized
    layer ``weights`` (auto_po2 quantized_bits weights as ``w * 2**(bits-keep_negative) / 2**integer``
    with ``scales`` ``scale * 2**integer / 2**(bits-keep_negative)``; po2 weights as exponents with
    ``signs``), ``enable_bn_fusing`` and the batch-norm fusing entries (`add_bn_fusing_weights`).
    The model is not changed."""
    pairs, bn_to_fuse = find_bn_fusing_layer_pair(model)
    saved: dict[str, dict] = {}
    for layer in model.layers:
        if not isinstance(layer, QuantizedLayerMixin):
            continue
        roles = (
            [q for _, q in _quantizer_roles(layer)]
            if not hasattr(layer, "get_folded_weights")
            else layer.get_quantizers()
        )
        weights, signs, scales, has_sign, has_scale = [], [], [], False, False
        for q, w in zip(roles, _quantized_layer_weights(layer)):
            if q is not None and _is_po2(q):
                sign = np.sign(w)
                sign += 1.0 - np.abs(sign)
                has_sign = has_sign or type(q).__name__ == "quantized_po2"
                signs.append(sign)
                scales.append([])
                weights.append(np.round(np.log2(np.abs(w))))
            elif q is not None and _is_auto_po2(q):
                m = np.float32(2.0 ** (q.bits - int(q.keep_negative)))
                m_i = np.float32(2.0**q.integer)
                scale = np.asarray(ops.convert_to_numpy(q.scale), dtype=np.float32)
                if not np.array_equal(np.round(np.log2(scale)), np.log2(scale)):
                    raise ValueError(f"{layer.name}: the auto_po2 scale {scale} is not a power of 2")
                # a backend tensor, as QKeras returns it (a TF tensor under TensorFlow)
                weights.append(ops.convert_to_tensor(w * m / m_i))
                scales.append(scale * m_i / m)
                signs.append([])
                has_scale = True
            else:
                weights.append(w)
                signs.append([])
                scales.append([])
        saved[layer.name] = {
            "weights": weights,
            "enable_bn_fusing": type(layer).__name__ == "QBatchNormalization" and layer.name in bn_to_fuse,
        }
        if has_sign:
            saved[layer.name]["signs"] = signs
        if has_scale:
            saved[layer.name]["scales"] = scales
        if layer.name in pairs:
            add_bn_fusing_weights(layer, model.get_layer(pairs[layer.name]), saved)
    return saved


def _check_hw_weights_equal(hw_1: dict, hw_2: dict) -> None:
    """Raise ValueError where two hardware-weight dictionaries differ (QKeras' check)."""
    for layer_name, entry in hw_2.items():
        for key, val2 in entry.items():
            val1 = hw_1[layer_name][key]
            pairs = zip(val2, val1) if isinstance(val2, list) else [(val2, val1)]
            for a, b in pairs:
                if not np.all(np.asarray(a) == np.asarray(b)):
                    raise ValueError(f"{layer_name}/{key}: No Match! {a} != {b}")


def _auto_po2_quantizer(layer: Any) -> tuple[str, Any] | None:
    """(argument, quantizer) of the layer's only auto_po2 quantizer (QBatchNormalization's
    inverse_quantizer included), None if it has none; ValueError for more than one."""
    found = [
        (f"{role}_quantizer", q)
        for role, q in getattr(layer, "_weight_quantizer_args", {}).items()
        if _is_auto_po2(q[0])
    ]
    if _is_auto_po2(getattr(layer, "inverse_quantizer", None)):
        found.append(("inverse_quantizer", (layer.inverse_quantizer,)))
    if len(found) > 1:
        raise ValueError(f"{layer.name} has more than one auto_po2 quantizer. Please check if this is expected.")
    return (found[0][0], found[0][1][0]) if found else None


_FREEZABLE = {
    "QConv2D": "kernel_quantizer",
    "QDepthwiseConv2D": "depthwise_quantizer",
    "QDense": "kernel_quantizer",
    "QBatchNormalization": "inverse_quantizer",
}
_CONFIG_ARG = {
    "moving_mean_quantizer": "mean_quantizer",
    "moving_variance_quantizer": "variance_quantizer",
    "depthwise_kernel_quantizer": "depthwise_quantizer",
}


def clone_model_and_freeze_auto_po2_scale(
    orig_model: keras.Model | None = None, orig_model_path: str | None = None, quantize_model_weights: bool = False
) -> tuple[keras.Model, dict | None]:
    """QKeras master's ``clone_model_and_freeze_auto_po2_scale``: a copy of a sequential chain of
    layers in which the auto_po2 quantizer of each QConv2D / QDepthwiseConv2D / QDense kernel
    and QBatchNormalization inverse is replaced by a ``quantized_bits`` with
    ``post_training_scale`` = the scale for the current weights (the model's float weights are
    kept). With ``quantize_model_weights`` the new model's weights are quantized in place and its
    hardware weights (QKeras master's dictionary; checked equal to the original's) returned.

    Returns ``(new_model, hardware weights or None)``."""
    if orig_model is not None and orig_model_path is not None:
        raise ValueError("Only one of orig_model and orig_model_path can be set.")
    if orig_model is None and orig_model_path is None:
        raise ValueError("One of orig_model and orig_model_path must be set.")
    if orig_model is None:
        orig_model = load_qmodel(orig_model_path, compile=False)
    quantized_model = clone_model(orig_model)
    orig_hw = _hardware_weights(quantized_model)  # runs every quantizer: auto_po2 scales are known now
    model_save_quantized_weights(quantized_model)

    x = inputs = keras.Input(shape=tuple(orig_model.inputs[0].shape[1:]), name=orig_model.layers[0].name)
    previous = quantized_model.layers[0]
    for layer in quantized_model.layers[1:]:
        if len(layer._inbound_nodes) != 1 or layer.input._keras_history.operation is not previous:
            raise NotImplementedError(
                f"clone_model_and_freeze_auto_po2_scale: layer {layer.name!r} does not follow "
                "the previous layer; accepted: a sequential chain of layers (as QKeras)"
            )
        previous = layer
        found = _auto_po2_quantizer(layer)
        config = layer.get_config()
        if found is not None and type(layer).__name__ in _FREEZABLE:
            arg, q = found
            if q.scale is None and arg == "inverse_quantizer":
                layer.inference_scale_shift()  # the inverse quantizer runs here only
            frozen = dict(q.get_config(), post_training_scale=np.asarray(ops.convert_to_numpy(q.scale)))
            config[_CONFIG_ARG.get(arg, arg)] = get_quantizer(dict(class_name="quantized_bits", config=frozen))
        x = type(layer).from_config(config)(x)
    new_model = keras.Model(inputs, x)
    new_model.set_weights(orig_model.get_weights())
    for layer in new_model.layers:
        found = _auto_po2_quantizer(layer)
        if found is not None and found[1].post_training_scale is None:
            raise ValueError(
                f"{layer.name} in the new model still has auto_po2 quantizer with adaptive scales. "
                "Please check if this is expected!"
            )
    new_hw = None
    if quantize_model_weights:
        new_hw = _hardware_weights(new_model)
        model_save_quantized_weights(new_model)
        _check_hw_weights_equal(orig_hw, new_hw)
    return new_model, new_hw


SPARSITY_LAYERS = (
    "QDense",
    "Dense",
    "QConv1D",
    "Conv1D",
    "QConv2D",
    "Conv2D",
    "QDepthwiseConv2D",
    "DepthwiseConv2D",
    "QSeparableConv1D",
    "SeparableConv1D",
    "QSeparableConv2D",
    "SeparableConv2D",
    "QSimpleRNN",
    "RNN",
    "QLSTM",
    "QGRU",
    "QConv2DTranspose",
    "Conv2DTranspose",
    "QConv2DBatchnorm",
    "QDepthwiseConv2DBatchnorm",
    "QDenseBatchnorm",
)


def get_model_sparsity(model: keras.Model, per_layer: bool = False, allow_list: list[str] | None = None) -> Any:
    """Fraction of quantized weights and biases that are exactly 0 (model left untouched)."""
    allow = tuple(allow_list) if allow_list is not None else SPARSITY_LAYERS
    per: list[tuple[str, float]] = []
    everything = []
    for layer in model.layers:
        if isinstance(layer, QuantizedLayerMixin) and type(layer).__name__ in allow:
            flat = np.concatenate([w.ravel() for w in _quantized_layer_weights(layer)] or [np.zeros(0)])
            per.append((layer.name, float(np.mean(flat == 0)) if flat.size else 0.0))
            everything.append(flat)
    total = float(np.mean(np.concatenate(everything) == 0)) if everything else 0.0
    return (total, per) if per_layer else total


#: Plain Keras layers whose weights tfmot's PruneRegistry prunes (what QKeras prints for them).
_KERAS_PRUNABLE = {
    "Dense": ("kernel",),
    "Conv1D": ("kernel",),
    "Conv2D": ("kernel",),
    "Conv3D": ("kernel",),
    "Conv2DTranspose": ("kernel",),
    "Conv3DTranspose": ("kernel",),
    "SeparableConv1D": ("pointwise_kernel",),
    "SeparableConv2D": ("pointwise_kernel",),
    "Embedding": ("embeddings",),
}


def _weight_name(model: keras.Model, v: Any) -> str:
    """A variable's path inside ``model`` ('fc1/kernel'), as Keras 2 names it."""
    path = v.path
    return path[len(model.name) + 1 :] if path.startswith(model.name + "/") else path


def print_model_sparsity(model: keras.Model) -> None:
    """Print the fraction of zeros of each prunable weight (QKeras layers' `get_prunable_weights`,
    and the kernels of plain Dense/Conv/SeparableConv/Embedding layers), as QKeras does."""

    def sparsity(v: Any) -> float:
        w = np.asarray(ops.convert_to_numpy(v))
        return 1.0 - np.count_nonzero(w) / float(w.size)

    print("Model Sparsity Summary ({})".format(model.name))
    print("--")
    for layer in model.layers:
        if hasattr(layer, "get_prunable_weights"):
            weights = layer.get_prunable_weights()
        else:
            weights = [getattr(layer, n) for n in _KERAS_PRUNABLE.get(type(layer).__name__, ())]
        if weights:
            print(
                "{}: {}".format(
                    layer.name,
                    ", ".join("({}:0, {})".format(_weight_name(model, w), str(sparsity(w))) for w in weights),
                )
            )
    print("\n")


def quantized_model_debug(model: keras.Model, X_test: Any, plot: bool = False, plt_instance: Any = None) -> None:
    """Print min/max of every quantized layer's output and quantized weights."""
    if plot and plt_instance is None:
        raise ValueError("quantized_model_debug: plt_instance is required when plot=True")
    layers = [l for l in model.layers if isinstance(l, QuantizedLayerMixin)]
    debug = keras.Model(model.inputs, [l.output for l in layers])
    outputs = debug.predict(X_test, verbose=0)
    if len(layers) == 1:
        outputs = [outputs]
    print("{:30} {: 8.4f} {: 8.4f}".format("input", np.min(X_test), np.max(X_test)))
    for layer, p in zip(layers, outputs):
        print("{:30} {: 8.4f} {: 8.4f}".format(layer.name, np.min(p), np.max(p)), end="")
        if plot:
            plt_instance.hist(np.asarray(p).flatten(), bins=25)
            plt_instance.title(layer.name + "(output)")
            plt_instance.show()
        for w in _quantized_layer_weights(layer):
            print(" ({: 8.4f} {: 8.4f})".format(np.min(w), np.max(w)), end="")
        print("")


# ---------------------------------------------------------------------------- model_quantize


def _lookup(quantizer_config: dict, layer: dict, q_class: str, parameter: str | None = None) -> Any:
    name = layer["config"]["name"]
    found = quantizer_config.get(name, quantizer_config.get(q_class))
    if found is not None and parameter is not None:
        found = found.get(parameter)
    return found


def _quantize_activation(layer_config: dict, activation_bits: int) -> None:
    act = layer_config.get("activation")
    if act is None:
        return
    name = (
        act
        if isinstance(act, str)
        else (act.get("config", {}).get("name") if isinstance(act, dict) else getattr(act, "__name__", ""))
    )
    if name in ("relu", "tanh", "sigmoid"):
        layer_config["activation"] = f"quantized_{name}({activation_bits})"


_WEIGHTED = {
    "Dense": ("kernel",),
    "Conv1D": ("kernel",),
    "Conv2D": ("kernel",),
    "Conv2DTranspose": ("kernel",),
    "SeparableConv1D": ("depthwise", "pointwise"),
    "SeparableConv2D": ("depthwise", "pointwise"),
    "DepthwiseConv2D": ("depthwise",),
}


#: Float classes that model_quantize(enable_bn_folding=True) turns into folded layers (QKeras master).
_FOLDABLE = {"Conv2D": "QConv2DBatchnorm", "DepthwiseConv2D": "QDepthwiseConv2DBatchnorm"}

_RNN_CLASSES = ("SimpleRNN", "LSTM", "GRU")


def _quantize_rnn(layer: dict, quantizer_config: dict | None, q_class: str, activation_bits: int) -> bool:
    """Add QKeras' recurrent quantizers to a SimpleRNN/LSTM/GRU config (as QKeras' ``quantize_rnn``);
    False (config untouched) when no kernel quantizer is configured."""
    if not quantizer_config:
        return False
    cfg = layer["config"]
    kernel = _lookup(quantizer_config, layer, q_class, "kernel_quantizer")
    if kernel is None:
        return False
    cfg["kernel_quantizer"] = kernel
    cfg["recurrent_quantizer"] = _lookup(quantizer_config, layer, q_class, "recurrent_quantizer")
    cfg["bias_quantizer"] = (
        _lookup(quantizer_config, layer, q_class, "bias_quantizer") if cfg.get("use_bias", True) else None
    )
    cfg["state_quantizer"] = _lookup(quantizer_config, layer, q_class, "state_quantizer")
    act = _lookup(quantizer_config, layer, q_class, "activation_quantizer")
    if act:
        cfg["activation"] = act
    else:
        _quantize_activation(cfg, activation_bits)
    if q_class in ("QLSTM", "QGRU"):
        rec = _lookup(quantizer_config, layer, q_class, "recurrent_activation_quantizer")
        if rec:
            cfg["recurrent_activation"] = rec
    return True


def _adaptive_activation_args(text: str, layer_name: str) -> dict:
    """QAdaptiveActivation arguments from a quantizer string such as 'quantized_relu(6)' (bits only)."""
    from .parsing import parse_quantizer_string

    call = parse_quantizer_string(text)
    if call.kwargs or len(call.args) != 1 or not isinstance(call.args[0], int):
        raise ValueError(
            f"model_quantize: layer {layer_name!r}: QAdaptiveActivation quantizer {text!r} is not "
            "accepted; accepted: a quantizer with its total bits only, such as 'quantized_relu(6)'"
        )
    return {"activation": call.name, "total_bits": call.args[0]}


def _layer_entries(config: dict) -> list[dict]:
    return config["layers"] if "layers" in config else []


def model_quantize(
    model: keras.Model,
    quantizer_config: dict,
    activation_bits: int,
    custom_objects: dict | None = None,
    transfer_weights: bool = False,
    prefer_qadaptiveactivation: bool = False,
    enable_bn_folding: bool = False,
) -> keras.Model:
    """Create a quantized copy of a float Keras model (QKeras ``model_quantize``).

    ``quantizer_config`` maps a layer name or a Q-class name ('QDense', 'QActivation', ...)
    to quantizer strings, e.g. ``{"QDense": {"kernel_quantizer": "quantized_bits(4,0,1)",
    "bias_quantizer": "quantized_bits(4)"}, "QActivation": {"relu": "quantized_relu(4)"}}``.
    """
    layers_to_fold: list[str] = []
    if enable_bn_folding:
        # as QKeras: batch norms after float Conv2D / DepthwiseConv2D are removed (with their statistics:
        # weights are not transferred then) and those layers become QConv2DBatchnorm / QDepthwiseConv2DBatchnorm
        model, layers_to_fold = convert_to_folded_model(model)
        enable_bn_folding = bool(layers_to_fold)
    objects = _custom_objects(custom_objects)
    top = quantized_model_config(
        model, quantizer_config, activation_bits, objects, prefer_qadaptiveactivation, layers_to_fold
    )
    qmodel = keras.saving.deserialize_keras_object(top, custom_objects=objects)
    if transfer_weights and not enable_bn_folding:
        transfer_layer_weights(model, qmodel)
    return qmodel


def transfer_layer_weights(source: keras.Model, target: keras.Model) -> None:
    """Copy each layer's weights of ``source`` into the layer at the same place in ``target`` (the
    extra weights a quantized layer has, such as bitwidths, are kept)."""
    for src, dst in zip(source.layers, target.layers):
        weights = src.get_weights()
        if weights:
            dst.set_weights(weights + dst.get_weights()[len(weights) :])


def quantized_model_config(
    model: keras.Model,
    quantizer_config: dict,
    activation_bits: int,
    objects: dict,
    prefer_qadaptiveactivation: bool = False,
    layers_to_fold: Sequence[str] = (),
) -> dict:
    """The serialized config of `model_quantize`'s result (``model_quantize`` deserializes it);
    ``layers_to_fold``: the layers `convert_to_folded_model` found followed by a batch norm."""
    top = copy.deepcopy(keras.saving.serialize_keras_object(model))
    for layer in _layer_entries(top["config"]):
        cls, cfg = layer["class_name"], layer["config"]
        new_class = None
        if cls in _WEIGHTED:
            q_class = "Q" + cls
            roles = _WEIGHTED[cls]
            folded = cls in _FOLDABLE and cfg["name"] in layers_to_fold
            if folded:
                q_class = _FOLDABLE[cls]
            found = {r: _lookup(quantizer_config, layer, q_class, f"{r}_quantizer") for r in roles}
            bias_class = q_class
            if all(v is None for v in found.values()) and folded:
                # as QKeras: the unfolded class's quantizers are the folded layer's fallback
                bias_class = "Q" + cls
                found = {r: _lookup(quantizer_config, layer, bias_class, f"{r}_quantizer") for r in roles}
            if all(v is None for v in found.values()):
                if folded:
                    raise ValueError(
                        f"model_quantize(enable_bn_folding=True): layer {cfg['name']!r} ({cls}) is "
                        f"followed by a batch normalization, which folding removed, but quantizer_config "
                        f"gives it no quantizer; give {q_class} or Q{cls} quantizers, or "
                        "enable_bn_folding=False"
                    )
                continue
            if folded:
                cfg["use_bias"] = True  # folded layers require a bias
                cfg["folding_mode"] = _lookup(quantizer_config, layer, q_class, "folding_mode") or "ema_stats_folding"
                cfg["ema_freeze_delay"] = _lookup(quantizer_config, layer, q_class, "ema_freeze_delay") or None
            cfg["bias_quantizer"] = (
                _lookup(quantizer_config, layer, bias_class, "bias_quantizer") if cfg.get("use_bias", True) else None
            )
            for role, q in found.items():
                cfg[f"{role}_quantizer"] = q
            act = _lookup(quantizer_config, layer, q_class, "activation_quantizer")
            if act:
                cfg["activation"] = act
            else:
                _quantize_activation(cfg, activation_bits)
            new_class = q_class
        elif cls == "Activation":
            order = (
                ("QAdaptiveActivation", "QActivation")
                if prefer_qadaptiveactivation
                else ("QActivation", "QAdaptiveActivation")
            )
            q_class, q = next(
                (
                    (c, _lookup(quantizer_config, layer, c))
                    for c in order
                    if _lookup(quantizer_config, layer, c) is not None
                ),
                (None, None),
            )
            act = (
                cfg["activation"]
                if isinstance(cfg["activation"], str)
                else cfg["activation"].get("config", {}).get("name")
            )
            if q is None or (isinstance(q, dict) and act not in q):
                continue
            name = cfg["name"]
            cfg.clear()
            cfg.update({"name": name, "activation": q[act] if isinstance(q, dict) else q})
            if q_class == "QAdaptiveActivation" and cfg["activation"]:
                cfg.update(_adaptive_activation_args(cfg["activation"], name))
            elif not cfg["activation"]:
                cfg["activation"] = act
                _quantize_activation(cfg, activation_bits)
            new_class = q_class
        elif cls in ("AveragePooling2D", "GlobalAveragePooling2D"):
            # as QKeras: only with an average_quantizer; 'activation_quantizer' becomes the activation
            q_class = "Q" + cls
            average = _lookup(quantizer_config, layer, q_class, "average_quantizer")
            if average is None:
                continue
            cfg["average_quantizer"] = average
            act = _lookup(quantizer_config, layer, q_class, "activation_quantizer")
            if act:
                cfg["activation"] = act
            else:
                _quantize_activation(cfg, activation_bits)
            new_class = q_class
        elif cls == "BatchNormalization":
            q_class = "Q" + cls
            if q_class not in objects:
                continue
            found = _lookup(quantizer_config, layer, q_class)
            if found is None:
                continue
            cfg.update(found)
            new_class = q_class
        elif cls in ("ReLU", "LeakyReLU"):
            q = _lookup(quantizer_config, layer, "QActivation")
            if q is None:
                continue
            default_slope = 0.3 if cls == "LeakyReLU" else 0.0
            slope = cfg.get("negative_slope", cfg.get("alpha", default_slope)) or 0.0
            q_name = "leakyrelu" if slope > 0 else "relu"
            if isinstance(q, dict) and not q.get(q_name):
                continue
            name = cfg["name"]
            cfg.clear()  # as QKeras: max_value / threshold are dropped (quantized ReLUs are bounded)
            cfg.update({"name": name, "activation": q[q_name] if isinstance(q, dict) else q})
            if not cfg["activation"]:
                cfg["activation"] = "relu"
                _quantize_activation(cfg, activation_bits)
            new_class = "QActivation"
        elif cls in _RNN_CLASSES:
            if _quantize_rnn(layer, quantizer_config, "Q" + cls, activation_bits):
                new_class = "Q" + cls
        elif cls == "Bidirectional":
            q_config = _lookup(quantizer_config, layer, "QBidirectional")
            done = []
            for key in ("layer", "backward_layer"):
                inner = cfg.get(key)
                if isinstance(inner, dict) and inner.get("class_name") in _RNN_CLASSES:
                    inner_cls = inner["class_name"]
                    done.append(
                        _quantize_rnn(inner, {inner["config"]["name"]: q_config}, "Q" + inner_cls, activation_bits)
                    )
                    if done[-1]:
                        inner.update(
                            {"class_name": "Q" + inner_cls, "module": None, "registered_name": "Q" + inner_cls}
                        )
                elif inner is not None:
                    raise NotImplementedError(
                        f"model_quantize: layer {cfg.get('name')!r}: Bidirectional of "
                        f"{inner.get('class_name')} is not supported; accepted: "
                        f"{', '.join(_RNN_CLASSES)}"
                    )
            if done and all(done):
                new_class = "QBidirectional"
        if new_class is not None:
            if new_class not in objects:
                raise NotImplementedError(f"model_quantize: {new_class} is not available")
            layer["class_name"] = new_class
            layer["module"] = None
            layer["registered_name"] = new_class
    return top


def quantized_model_dump(
    model: keras.Model, x_test: Any, output_dir: str | None = None, layers_to_dump: list[str] | None = None
) -> None:
    """QKeras' ``quantized_model_dump``: write the outputs of the named layers (all when empty) on
    ``x_test`` to ``output_dir/<layer>.bin`` (raw float32, C order; each file written atomically).
    Without ``output_dir`` a new temporary folder is used and printed."""
    import tempfile

    from ._atomic import atomic_path

    if not output_dir:
        output_dir = tempfile.mkdtemp(prefix="quantized_model_dump-")
        print("temp dir", output_dir)
    if not os.path.exists(output_dir):
        os.makedirs(output_dir)
        print("create dir", output_dir)
    names = [layer.name for layer in model.layers if not layers_to_dump or layer.name in layers_to_dump]
    outputs = [model.get_layer(name).output for name in names]
    y_pred = keras.Model(inputs=model.inputs, outputs=outputs).predict(x_test, verbose=0)
    if len(names) == 1:
        y_pred = [y_pred]
    for name, data in zip(names, y_pred):
        filename = os.path.join(output_dir, name + ".bin")
        print("writing the layer output tensor to ", filename)
        with atomic_path(filename) as tmp:
            np.asarray(data, dtype=np.float32).tofile(tmp)
