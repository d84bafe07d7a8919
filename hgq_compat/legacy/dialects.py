"""Config-dialect normalisation: Keras 2.0-2.4, tf-keras 2.13+ and Keras 3 (qkeras-v3) layer
configs become keyword arguments that hgq_compat / Keras 3 layer classes accept.

Handled:
* ``batch_input_shape`` / ``input_shape`` / ``input_dim`` (Keras 2) and ``batch_shape`` (Keras 3);
* ``__passive_serialization__`` (Keras 2.0-2.4), ``module`` / ``registered_name`` /
  ``build_config`` / ``shared_object_id`` (tf-keras 2.13+, Keras 3) metadata;
* dtype policies given as dicts;
* quantizers given as dicts or strings, including the ones nested in ``QInitializer``
  and ``Clip``; quantizer keys that hgq_compat does not know are dropped when they hold
  their neutral value (``post_training_scale: null`` from qkeras-v3), refused otherwise;
* Keras 2 value forms that Keras 3 refuses (``BatchNormalization(axis=[3])``).

Nothing here imports TensorFlow, tf_keras or qkeras, and no string is evaluated.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any

from ..parsing import Call, parse_quantizer_string
from .reader import LegacyConversionError, LegacyNotImplementedError

METADATA_KEYS = (
    "__passive_serialization__",
    "module",
    "registered_name",
    "build_config",
    "shared_object_id",
    "compile_config",
)

#: QKeras 0.9.0 layer classes (qkeras.qlayers, qconvolutional, qnormalization, qpooling, qrecurrent, ...).
QKERAS_LAYERS = frozenset(
    {
        "QDense",
        "QConv1D",
        "QConv2D",
        "QConv2DTranspose",
        "QDepthwiseConv2D",
        "QSeparableConv1D",
        "QSeparableConv2D",
        "QActivation",
        "QAdaptiveActivation",
        "QBatchNormalization",
        "QConv2DBatchnorm",
        "QDepthwiseConv2DBatchnorm",
        "QDenseBatchnorm",
        "QAveragePooling2D",
        "QGlobalAveragePooling2D",
        "QSimpleRNN",
        "QSimpleRNNCell",
        "QLSTM",
        "QLSTMCell",
        "QGRU",
        "QGRUCell",
        "QBidirectional",
        "QDepthwiseConv2DTranspose",
        "QSeparableConv2DTranspose",  # QKeras master / qkeras-v3
    }
)

#: QKeras 0.9.0 quantizers.
QKERAS_QUANTIZERS = frozenset(
    {
        "quantized_bits",
        "quantized_relu",
        "quantized_ulaw",
        "quantized_tanh",
        "quantized_sigmoid",
        "quantized_po2",
        "quantized_relu_po2",
        "binary",
        "stochastic_binary",
        "ternary",
        "stochastic_ternary",
        "bernoulli",
        "quantized_hswish",
        "quantized_linear",
    }
)

from .._safety import CODE_LAYERS  # noqa: E402  (layer classes that would run user code when loaded)

MODEL_CLASSES = frozenset({"Sequential", "Functional", "Model"})

#: Keys of Q-layer configs that hold a quantizer (besides every key ending in '_quantizer').
QUANTIZER_KEYS = ("activation", "recurrent_activation")


def strip_metadata(obj: Any) -> Any:
    """A deep copy of ``obj`` without serialization metadata on any object dict."""
    if isinstance(obj, dict):
        is_object = "class_name" in obj
        return {
            k: strip_metadata(v)
            for k, v in obj.items()
            if not (is_object and k in METADATA_KEYS) and k != "__passive_serialization__"
        }
    if isinstance(obj, list):
        return [strip_metadata(v) for v in obj]
    return obj


def normalize_dtype(dtype: Any) -> Any:
    """'float32' from a dtype policy dict (Keras 2 'Policy', Keras 3 'DTypePolicy')."""
    if isinstance(dtype, dict):
        cfg = dtype.get("config", {}) or {}
        return cfg.get("name", "float32")
    return dtype


def batch_shape_of(config: dict) -> list | None:
    """The input batch shape a layer config declares, in any dialect (or None)."""
    if config.get("batch_shape") is not None:
        return list(config["batch_shape"])
    if config.get("batch_input_shape") is not None:
        return list(config["batch_input_shape"])
    if config.get("input_shape") is not None:
        return [None] + list(config["input_shape"])
    if config.get("shape") is not None:
        return [config.get("batch_size")] + list(config["shape"])
    if config.get("input_dim") is not None:
        return [None, int(config["input_dim"])]
    return None


# ---------------------------------------------------------------------------- quantizers


def _quantizer_registry() -> dict:
    from ..quantizers import QUANTIZERS

    return QUANTIZERS


def quantizer_text(value: Any) -> str:
    """A short QKeras-style text for a saved quantizer value (dict, string or None)."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "class_name" in value:
        cfg = value.get("config", {}) or {}
        name = value["class_name"]
        registry = _quantizer_registry()
        if name in registry:
            try:
                return str(registry[name](**{k: v for k, v in cfg.items() if k in _params(registry[name])}))
            except Exception:  # fall back to a plain listing
                pass
        args = ",".join(f"{k}={v!r}" for k, v in cfg.items() if v is not None)
        return f"{name}({args})"
    return str(value)


def _params(cls: type) -> list[str]:
    return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]


def _check_call(call: Call, ctx: "Context", key: str) -> None:
    registry = _quantizer_registry()
    if call.name in registry:
        for arg in list(call.args) + list(call.kwargs.values()):
            if isinstance(arg, Call):
                _check_call(arg, ctx, key)
        return
    if call.name in QKERAS_QUANTIZERS:
        raise ctx.not_implemented(f"{key}: QKeras quantizer {call.name!r} is not available in hgq_compat yet")


def normalize_quantizer(value: Any, ctx: "Context", key: str) -> Any:
    """A saved quantizer (dict or string) in the form hgq_compat's ``get_quantizer`` accepts."""
    if value is None or callable(value):
        return value
    if isinstance(value, str):
        try:
            call = parse_quantizer_string(value)
        except ValueError as exc:
            raise ctx.error(f"{key}: {exc}") from exc
        if "(" in value or call.name in QKERAS_QUANTIZERS:
            _check_call(call, ctx, key)
        return value
    if isinstance(value, dict) and "class_name" in value:
        value = strip_metadata(value)
        name = value["class_name"]
        registry = _quantizer_registry()
        if name in registry:
            params = _params(registry[name])
            cfg = dict(value.get("config", {}) or {})
            for k in list(cfg):
                if k in params and not (k == "post_training_scale" and cfg[k] is None):
                    continue
                if cfg[k] is None or cfg[k] is False:
                    del cfg[k]  # e.g. qkeras-v3's post_training_scale=None
                else:
                    raise ctx.not_implemented(
                        f"{key}: {name} argument {k}={repr(cfg[k])[:80]} is not supported by hgq_compat"
                    )
            return {"class_name": name, "config": cfg}
        if name in QKERAS_QUANTIZERS:
            raise ctx.not_implemented(f"{key}: QKeras quantizer {name!r} is not available in hgq_compat yet")
        if name == "function" and isinstance(value.get("config"), str):
            return value["config"]  # Keras 3's form of a built-in activation ('linear', 'relu', ...)
        return value  # a Keras activation config
    raise ctx.error(f"{key}: cannot interpret {repr(value)[:80]} as a quantizer")


# ---------------------------------------------------------------------------- initializers & constraints


def _custom_weight_objects() -> dict:
    from ..constraints import Clip, QInitializer

    return {"Clip": Clip, "QInitializer": QInitializer}


def normalize_initializer(value: Any, ctx: "Context", key: str) -> Any:
    if not isinstance(value, dict) or "class_name" not in value:
        return value
    value = strip_metadata(value)
    if value["class_name"] == "QInitializer":
        from ..constraints import QInitializer

        cfg = dict(value.get("config", {}) or {})
        try:
            return QInitializer(
                initializer=normalize_initializer(cfg.get("initializer"), ctx, key),
                use_scale=cfg.get("use_scale", True),
                quantizer=normalize_quantizer(cfg.get("quantizer"), ctx, key + ".quantizer"),
            )
        except LegacyConversionError:
            raise
        except Exception as exc:
            raise ctx.error(f"{key}: cannot rebuild QInitializer ({type(exc).__name__}: {exc})") from exc
    return value


def normalize_constraint(value: Any, ctx: "Context", key: str) -> Any:
    if not isinstance(value, dict) or "class_name" not in value:
        return value
    value = strip_metadata(value)
    if value["class_name"] == "Clip":
        from ..constraints import Clip

        cfg = dict(value.get("config", {}) or {})
        quantizer = cfg.pop("quantizer", None)
        inner = cfg.pop("constraint", None)
        return Clip(
            min_value=cfg.get("min_value", 0.0),
            max_value=cfg.get("max_value", 1.0),
            constraint=normalize_constraint(inner, ctx, key) if isinstance(inner, dict) else inner,
            quantizer=normalize_quantizer(quantizer, ctx, key + ".quantizer"),
        )
    return value


# ---------------------------------------------------------------------------- layers


class Context:
    """Where we are (file, layer) for error messages."""

    def __init__(self, path: str | None, layer: str | None = None, class_name: str | None = None):
        self.path = path
        self.layer = layer
        self.class_name = class_name

    def at(self, layer: str | None, class_name: str | None) -> "Context":
        return Context(self.path, layer, class_name)

    def error(self, why: str) -> LegacyConversionError:
        return LegacyConversionError(self.path, why, self.layer, self.class_name)

    def not_implemented(self, why: str) -> LegacyNotImplementedError:
        return LegacyNotImplementedError(self.path, why, self.layer, self.class_name)


#: Keras 2 keys that Keras 3 layers do not accept; dropped when they hold these values.
_DROP_IF = {
    "time_major": (False, None),
    "unroll": (False,),
    "reset_after": (True,),  # GRU: Keras 3 always resets after
    "synchronized": (False,),  # Keras 3 BatchNormalization (qkeras-v3's folded batch-norm layers save it too)
}


def normalize_layer_config(class_name: str, config: dict, ctx: Context, is_qkeras: bool) -> dict:
    """Keyword arguments for the Keras 3 / hgq_compat class from a saved layer config."""
    cfg = strip_metadata(copy.deepcopy(config or {}))
    for key in ("batch_input_shape", "input_shape", "input_dim", "batch_shape"):
        cfg.pop(key, None)
    if "dtype" in cfg:
        cfg["dtype"] = normalize_dtype(cfg["dtype"])
        if cfg["dtype"] is None:
            cfg.pop("dtype")
    for key in list(cfg):
        value = cfg[key]
        if key.endswith("_quantizer") or key == "quantizer" or (is_qkeras and key in QUANTIZER_KEYS):
            cfg[key] = normalize_quantizer(value, ctx, key)
        elif key.endswith("_initializer"):
            cfg[key] = normalize_initializer(value, ctx, key)
        elif key.endswith("_constraint"):
            cfg[key] = normalize_constraint(value, ctx, key)
        elif key.endswith("_regularizer") and isinstance(value, dict):
            cfg[key] = strip_metadata(value)
    for key, neutral in _DROP_IF.items():
        if key in cfg and cfg[key] in neutral:
            cfg.pop(key)
    if (
        class_name in ("BatchNormalization", "QBatchNormalization")
        and isinstance(cfg.get("axis"), list)
        and len(cfg["axis"]) == 1
    ):
        cfg["axis"] = int(cfg["axis"][0])
    if "Separable" in class_name:
        # tf-keras' SeparableConv config repeats the Conv base's kernel_* keys; the layer has no `kernel`
        for key in ("kernel_initializer", "kernel_regularizer", "kernel_constraint"):
            cfg.pop(key, None)
    if "Depthwise" in class_name or "Separable" in class_name or "Transpose" in class_name:
        # tf-keras saves the Conv base's `groups` (always 1) for these; Keras 3 refuses the key
        if cfg.get("groups", 1) != 1:
            raise ctx.error(f"groups={cfg['groups']!r} is not accepted for {class_name}; accepted: 1")
        cfg.pop("groups", None)
    if class_name == "LeakyReLU" and "alpha" in cfg:
        cfg["negative_slope"] = cfg.pop("alpha")
    if is_qkeras and "quantization_config" in cfg and cfg["quantization_config"] is None:
        cfg.pop("quantization_config")  # qkeras-v3
    return cfg


def input_layer_args(config: dict) -> dict:
    """``keras.Input`` arguments from an InputLayer config of any dialect."""
    cfg = strip_metadata(config or {})
    shape = batch_shape_of(cfg)
    out = {"batch_shape": tuple(shape) if shape is not None else None, "name": cfg.get("name")}
    dtype = normalize_dtype(cfg.get("dtype"))
    if dtype:
        out["dtype"] = dtype
    if cfg.get("sparse"):
        out["sparse"] = True
    return out


def inbound_calls(layer_cfg: dict, ctx: Context) -> list[tuple[list[tuple[str, int, int]], dict, bool]]:
    """The calls of a functional layer: (inbound (layer, node, tensor) refs, call kwargs, multi-input).

    Accepts the Keras 2 list form ``[[name, node, tensor, kwargs], ...]`` and the Keras 3
    form ``{"args": [...], "kwargs": {...}}`` with ``__keras_tensor__`` entries.
    """
    calls = []
    for node in layer_cfg.get("inbound_nodes", []) or []:
        if isinstance(node, dict):  # Keras 3
            refs: list[tuple[str, int, int]] = []
            args = node.get("args", [])

            def collect(obj: Any) -> None:
                if isinstance(obj, dict) and obj.get("class_name") == "__keras_tensor__":
                    name, n, t = obj["config"]["keras_history"]
                    refs.append((name, int(n), int(t)))
                elif isinstance(obj, (list, tuple)):
                    for o in obj:
                        collect(o)

            collect(args)
            multi = bool(args) and isinstance(args[0], list)
            kwargs = {k: v for k, v in (node.get("kwargs") or {}).items() if not isinstance(v, dict)}
            calls.append((refs, kwargs, multi))
        elif isinstance(node, list):
            if node and isinstance(node[0], str):  # a single flat ref
                node = [node]
            refs = []
            kwargs: dict = {}
            for ref in node:
                if not isinstance(ref, (list, tuple)) or len(ref) < 3:
                    raise ctx.error(f"cannot read inbound node {node!r}")
                refs.append((ref[0], int(ref[1]), int(ref[2])))
                if len(ref) > 3 and isinstance(ref[3], dict):
                    kwargs.update(ref[3])
            calls.append((refs, kwargs, len(refs) > 1))
        else:
            raise ctx.error(f"cannot read inbound node {node!r}")
    return calls


def tensor_refs(value: Any) -> list[tuple[str, int, int]]:
    """``input_layers`` / ``output_layers`` as a list of (layer, node, tensor)."""
    if not value:
        return []
    if isinstance(value[0], str):
        value = [value]
    return [(v[0], int(v[1]), int(v[2])) for v in value]


__all__ = [
    "CODE_LAYERS",
    "Context",
    "MODEL_CLASSES",
    "QKERAS_LAYERS",
    "QKERAS_QUANTIZERS",
    "batch_shape_of",
    "inbound_calls",
    "input_layer_args",
    "normalize_dtype",
    "normalize_layer_config",
    "normalize_quantizer",
    "quantizer_text",
    "strip_metadata",
    "tensor_refs",
]
