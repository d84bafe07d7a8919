"""QKeras ``qkeras.utils`` on Keras 3: loading, cloning, quantizing and inspecting models."""

from __future__ import annotations

import copy
import json
import os
from typing import Any

import keras
import numpy as np
from keras import ops

from ._safety import check_config, safe_mode_scope
from .bn_folding_utils import convert_to_folded_model  # noqa: F401 (QKeras' qkeras.utils name)
from .layers.base import QuantizedLayerMixin
from .quantizers import QUANTIZERS, get_quantizer


def _supported_objects() -> dict[str, Any]:
    import hgq_compat

    objects = {name: getattr(hgq_compat, name) for name in dir(hgq_compat)
               if name.startswith("Q") and isinstance(getattr(hgq_compat, name), type)}
    objects.update(QUANTIZERS)
    from .constraints import Clip, QInitializer

    objects.update({"Clip": Clip, "QInitializer": QInitializer})
    return objects


def _add_supported_quantized_objects(custom_objects: dict) -> None:
    """Add every hgq_compat layer, quantizer, Clip and QInitializer to ``custom_objects``."""
    custom_objects.update(_supported_objects())


def _custom_objects(custom_objects: dict | None) -> dict:
    objects = dict(custom_objects or {})
    _add_supported_quantized_objects(objects)
    return objects


def _is_legacy_config(config: Any) -> bool:
    """True for a config saved by QKeras / Keras 2 / qkeras-v3 (not by Keras 3 hgq_compat)."""
    if isinstance(config, dict) and str(config.get("keras_version", "")).startswith("2."):
        return True

    def walk(obj: Any) -> bool:
        if isinstance(obj, dict):
            module = str(obj.get("module") or "")
            if module.startswith("hgq_compat"):  # our own objects (Clip, QInitializer keep QKeras's registered names)
                return False
            if module.startswith("qkeras") or str(obj.get("registered_name") or "").startswith("qkeras>"):
                return True
            if "batch_input_shape" in obj or "__passive_serialization__" in obj:
                return True
            return any(walk(v) for v in obj.values())
        if isinstance(obj, list):
            return any(walk(v) for v in obj)
        return False

    return walk(config)


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


def load_qmodel(filepath: Any, custom_objects: dict | None = None, compile: bool = True, hgq: bool = False) -> keras.Model:
    """Load a model saved with ``model.save``: a Keras 3 ``.keras`` archive written by
    hgq_compat, or a legacy QKeras file (Keras 2 ``.h5`` full model, qkeras-v3 ``.keras``),
    which is converted with `hgq_compat.legacy.convert_qkeras_model` (``compile`` has no
    effect there: converted models are not compiled)."""
    path = os.fspath(filepath)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load_qmodel: {path} does not exist")
    from .legacy import convert_qkeras_model
    from .legacy.reader import ZIP_SIGNATURE

    with open(path, "rb") as fh:
        head = fh.read(4)
    config = None
    if head == ZIP_SIGNATURE:
        import zipfile

        try:
            with zipfile.ZipFile(path) as zf:
                config = json.loads(zf.read("config.json"))
        except Exception:
            config = None
        if config is not None and _is_legacy_config(config):
            config = None
    elif is_keras3_h5(path):
        import h5py

        with h5py.File(path, "r") as f:
            raw = f.attrs.get("model_config")
        config = json.loads(raw.decode() if isinstance(raw, bytes) else raw) if raw is not None else {}
    if config is None:
        return convert_qkeras_model(path, hgq=hgq, custom_objects=custom_objects)
    check_config(config, path)  # Keras 3 file: Keras loads it, in safe mode
    with safe_mode_scope():
        return keras.saving.load_model(path, custom_objects=_custom_objects(custom_objects), compile=compile,
                                       safe_mode=True)


def is_keras3_h5(path: str) -> bool:
    """True for an HDF5 model file written by Keras 3 (``model.save('m.h5')``), which Keras
    loads itself; QKeras / Keras 2 files are converted instead."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            version = f.attrs.get("keras_version", b"")
    except OSError:
        return False
    version = version.decode() if isinstance(version, bytes) else str(version)
    return version.startswith("3.")


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
        return [np.asarray(ops.convert_to_numpy(q(w) if q is not None else w))
                for q, w in zip(qs, layer.get_folded_weights())]
    return [np.asarray(ops.convert_to_numpy(layer.quantized_weight(role))) for role in layer.weight_roles()]


def model_save_quantized_weights(model: keras.Model, filename: str | None = None) -> dict:
    """Quantize the weights of every quantized layer, write them into the model (as QKeras
    does) and return ``{layer: {'weights': [...]}}``; po2 weights also give ``'signs'`` and
    are returned as exponents. ``filename`` saves the model weights (``.weights.h5``)."""
    saved: dict[str, dict] = {}
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
        saved[layer.name] = {"weights": out}
        if has_sign:
            saved[layer.name]["signs"] = signs
        if hasattr(layer, "get_folded_weights"):
            print(layer.name, " conv and batchnorm weights cannot be seperately quantized because they will be "
                  "folded before quantization.")
        else:
            for role, w in zip(layer.weight_roles(), weights):
                getattr(layer, role).assign(w)
    if filename:
        if not filename.endswith(".weights.h5"):
            raise ValueError(f"filename={filename!r}: Keras 3 saves weights to files ending in '.weights.h5'")
        model.save_weights(filename)
    return saved


SPARSITY_LAYERS = (
    "QDense", "Dense", "QConv1D", "Conv1D", "QConv2D", "Conv2D", "QDepthwiseConv2D", "DepthwiseConv2D",
    "QSeparableConv1D", "SeparableConv1D", "QSeparableConv2D", "SeparableConv2D", "QSimpleRNN", "RNN", "QLSTM",
    "QGRU", "QConv2DTranspose", "Conv2DTranspose", "QConv2DBatchnorm", "QDepthwiseConv2DBatchnorm", "QDenseBatchnorm",
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
_KERAS_PRUNABLE = {"Dense": ("kernel",), "Conv1D": ("kernel",), "Conv2D": ("kernel",), "Conv3D": ("kernel",),
                   "Conv2DTranspose": ("kernel",), "Conv3DTranspose": ("kernel",),
                   "SeparableConv1D": ("pointwise_kernel",), "SeparableConv2D": ("pointwise_kernel",),
                   "Embedding": ("embeddings",)}


def _weight_name(model: keras.Model, v: Any) -> str:
    """A variable's path inside ``model`` ('fc1/kernel'), as Keras 2 names it."""
    path = v.path
    return path[len(model.name) + 1:] if path.startswith(model.name + "/") else path


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
            print("{}: {}".format(layer.name, ", ".join(
                "({}:0, {})".format(_weight_name(model, w), str(sparsity(w))) for w in weights)))
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
    name = act if isinstance(act, str) else (act.get("config", {}).get("name") if isinstance(act, dict) else getattr(act, "__name__", ""))
    if name in ("relu", "tanh", "sigmoid"):
        layer_config["activation"] = f"quantized_{name}({activation_bits})"


_WEIGHTED = {"Dense": ("kernel",), "Conv1D": ("kernel",), "Conv2D": ("kernel",), "Conv2DTranspose": ("kernel",),
             "SeparableConv1D": ("depthwise", "pointwise"), "SeparableConv2D": ("depthwise", "pointwise"),
             "DepthwiseConv2D": ("depthwise",)}


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
    cfg["bias_quantizer"] = _lookup(quantizer_config, layer, q_class, "bias_quantizer") if cfg.get("use_bias", True) \
        else None
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
        raise ValueError(f"model_quantize: layer {layer_name!r}: QAdaptiveActivation quantizer {text!r} is not "
                         "accepted; accepted: a quantizer with its total bits only, such as 'quantized_relu(6)'")
    return {"activation": call.name, "total_bits": call.args[0]}


def _layer_entries(config: dict) -> list[dict]:
    return config["layers"] if "layers" in config else []


def model_quantize(model: keras.Model, quantizer_config: dict, activation_bits: int, custom_objects: dict | None = None,
                   transfer_weights: bool = False, prefer_qadaptiveactivation: bool = False,
                   enable_bn_folding: bool = False) -> keras.Model:
    """Create a quantized copy of a float Keras model (QKeras ``model_quantize``).

    ``quantizer_config`` maps a layer name or a Q-class name ('QDense', 'QActivation', ...)
    to quantizer strings, e.g. ``{"QDense": {"kernel_quantizer": "quantized_bits(4,0,1)",
    "bias_quantizer": "quantized_bits(4)"}, "QActivation": {"relu": "quantized_relu(4)"}}``.
    """
    if enable_bn_folding:
        raise NotImplementedError("model_quantize(enable_bn_folding=True) is not supported yet")
    objects = _custom_objects(custom_objects)
    top = copy.deepcopy(keras.saving.serialize_keras_object(model))
    for layer in _layer_entries(top["config"]):
        cls, cfg = layer["class_name"], layer["config"]
        new_class = None
        if cls in _WEIGHTED:
            q_class = "Q" + cls
            roles = _WEIGHTED[cls]
            found = {r: _lookup(quantizer_config, layer, q_class, f"{r}_quantizer") for r in roles}
            if all(v is None for v in found.values()):
                continue
            for role, q in found.items():
                cfg[f"{role}_quantizer"] = q
            cfg["bias_quantizer"] = _lookup(quantizer_config, layer, q_class, "bias_quantizer") if cfg.get("use_bias", True) else None
            act = _lookup(quantizer_config, layer, q_class, "activation_quantizer")
            if act:
                cfg["activation"] = act
            else:
                _quantize_activation(cfg, activation_bits)
            new_class = q_class
        elif cls == "Activation":
            order = ("QAdaptiveActivation", "QActivation") if prefer_qadaptiveactivation else \
                ("QActivation", "QAdaptiveActivation")
            q_class, q = next(((c, _lookup(quantizer_config, layer, c)) for c in order
                               if _lookup(quantizer_config, layer, c) is not None), (None, None))
            act = cfg["activation"] if isinstance(cfg["activation"], str) else cfg["activation"].get("config", {}).get("name")
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
                    done.append(_quantize_rnn(inner, {inner["config"]["name"]: q_config}, "Q" + inner_cls,
                                              activation_bits))
                    if done[-1]:
                        inner.update({"class_name": "Q" + inner_cls, "module": None,
                                      "registered_name": "Q" + inner_cls})
                elif inner is not None:
                    raise NotImplementedError(f"model_quantize: layer {cfg.get('name')!r}: Bidirectional of "
                                              f"{inner.get('class_name')} is not supported; accepted: "
                                              f"{', '.join(_RNN_CLASSES)}")
            if done and all(done):
                new_class = "QBidirectional"
        if new_class is not None:
            if new_class not in objects:
                raise NotImplementedError(f"model_quantize: {new_class} is not available")
            layer["class_name"] = new_class
            layer["module"] = None
            layer["registered_name"] = new_class
    qmodel = keras.saving.deserialize_keras_object(top, custom_objects=objects)
    if transfer_weights:
        for src, dst in zip(model.layers, qmodel.layers):
            weights = src.get_weights()
            if weights:
                dst.set_weights(weights + dst.get_weights()[len(weights):])
    return qmodel


def quantized_model_dump(model: keras.Model, x_test: Any, output_dir: str | None = None,
                         layers_to_dump: list[str] | None = None) -> None:
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
