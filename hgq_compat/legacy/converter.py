"""Build Keras 3 hgq_compat models from saved QKeras models and load their weights.

``convert_qkeras_model(path, weights=None, hgq=False)`` reads the file(s) with `reader`,
normalises every layer config with `dialects`, rebuilds the graph (Sequential, Functional
with branches and merges, nested models, plain Keras layers) from hgq_compat / Keras 3
classes, and loads each layer's weights by layer name and weight name, checking shapes.
With ``hgq=True`` the quantized layers are built in HGQ mode and their bitwidths are
re-initialised from the loaded weights, so outputs equal the plain conversion.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from typing import Any

import keras
import numpy as np

from .._safety import MAX_CONFIG_DEPTH, SAVEDMODEL_LAYERS, config_depth, find_unsafe, refusal_reason, safe_mode_scope
from ..layers.base import weight_quantizer
from ..training.model import reinitialize_bitwidths
from .dialects import (
    CODE_LAYERS,
    MODEL_CLASSES,
    QKERAS_LAYERS,
    Context,
    batch_shape_of,
    inbound_calls,
    input_layer_args,
    normalize_dtype,
    normalize_layer_config,
    quantizer_text,
    strip_metadata,
    tensor_refs,
)
from .reader import (
    LegacyConversionError,
    LegacySource,
    SavedWeight,
    WeightStore,
    parse_model_json,
    read_source,
)


@dataclasses.dataclass
class LayerReport:
    """One row of the conversion table."""

    layer: str
    class_name: str
    qkeras_quantizers: str
    hgq_compat_quantizers: str
    bits: str
    params: int


@dataclasses.dataclass
class ConversionResult:
    model: keras.Model
    source: LegacySource
    rows: list[LayerReport]


# ---------------------------------------------------------------------------- class resolution


def resolve_layer_class(class_name: str, ctx: Context, custom_objects: dict | None = None) -> type:
    """The Keras 3 class for a saved class name; refuses Lambda / TFSMLayer layers and unknown classes."""
    if class_name in CODE_LAYERS or class_name in SAVEDMODEL_LAYERS:
        raise ctx.error(refusal_reason(class_name, {}))
    if custom_objects and class_name in custom_objects:
        return custom_objects[class_name]
    import hgq_compat
    import hgq_compat.layers as hgq_layers

    cls = getattr(hgq_compat, class_name, None) or getattr(hgq_layers, class_name, None)
    if cls is None and class_name.startswith("Q"):
        cls = keras.saving.get_registered_object(f"hgq_compat>{class_name}")
    if isinstance(cls, type) and issubclass(cls, keras.layers.Layer):
        return cls
    if class_name in QKERAS_LAYERS:
        raise ctx.not_implemented(f"QKeras layer class {class_name} is not available in hgq_compat yet")
    cls = getattr(keras.layers, class_name, None)
    if isinstance(cls, type) and issubclass(cls, keras.layers.Layer):
        return cls
    raise ctx.error(
        f"unknown layer class {class_name!r} (a custom layer?); hgq_compat cannot rebuild it. "
        "Pass the class in custom_objects if you trust it"
    )


def _is_qkeras_class(cls: type) -> bool:
    from ..layers.base import QuantizedLayerMixin

    return issubclass(cls, QuantizedLayerMixin) or cls.__name__ in QKERAS_LAYERS


# ---------------------------------------------------------------------------- graph building


class _Builder:
    def __init__(self, path: str | None, custom_objects: dict | None):
        self.path = path
        self.custom_objects = custom_objects
        self.qkeras_quantizers: dict[str, str] = {}  # layer name -> text of its saved quantizers

    def ctx(self, layer: str | None = None, class_name: str | None = None) -> Context:
        return Context(self.path, layer, class_name)

    # -------------------------------------------------------------- layers
    def make_layer(self, layer_cfg: dict) -> keras.layers.Layer:
        class_name = layer_cfg.get("class_name")
        config = layer_cfg.get("config", {}) or {}
        name = config.get("name") if isinstance(config, dict) else None
        name = name or layer_cfg.get("name")
        ctx = self.ctx(name, class_name)
        if class_name in MODEL_CLASSES:
            return self.build_model(layer_cfg, nested=True)
        cls = resolve_layer_class(class_name, ctx, self.custom_objects)
        is_q = _is_qkeras_class(cls)
        kwargs = normalize_layer_config(class_name, config, ctx, is_q)
        if is_q:
            texts = [
                f"{k}={quantizer_text(strip_metadata(v))}"
                for k, v in config.items()
                if (k.endswith("_quantizer") or k == "activation")
                and v not in (None, "linear")
                and (k != "activation" or _looks_like_quantizer(v))
            ]
            self.qkeras_quantizers[name] = "; ".join(texts) or "-"
        build = cls.from_config
        inner = [k for k in _SUBLAYER_KEYS if isinstance(kwargs.get(k), dict) and "class_name" in kwargs[k]]
        if inner:  # Bidirectional / TimeDistributed / RNN: rebuild the wrapped layer or cell here too
            for key in inner:
                kwargs[key] = self.make_layer(kwargs[key])
            build = lambda kw: cls(**kw)  # noqa: E731  (Keras' from_config would deserialize it again)
        try:
            return build(kwargs)
        except LegacyConversionError:
            raise
        except Exception as exc:
            fallback = self._qkeras_mode_fallback(cls, kwargs, exc, is_q, name, class_name)
            if fallback is not None:
                return fallback
            cause = _root_cause(exc)  # Keras wraps the layer's own error in a TypeError quoting the config
            if isinstance(exc, NotImplementedError) or isinstance(cause, NotImplementedError):
                raise ctx.not_implemented(f"{str(cause)[:500]}") from exc
            raise ctx.error(f"cannot rebuild the layer ({type(cause).__name__}: {str(cause)[:500]})") from exc

    def _qkeras_mode_fallback(
        self, cls: type, kwargs: dict, exc: Exception, is_q: bool, name: str, class_name: str
    ) -> keras.layers.Layer | None:
        """In HGQ conversion, a layer whose quantizer is not fixed point keeps QKeras mode."""
        from ..core.config import current_config

        if not (is_q and current_config().mode == "hgq" and "HGQ mode is not available" in str(exc)):
            return None
        layer = cls.from_config({**kwargs, "mode": "qkeras"})
        warnings.warn(
            f"{self.path}: layer {name!r} ({class_name}) kept in QKeras mode: its quantizer is not "
            "fixed point, so its bitwidths cannot be trained",
            stacklevel=3,
        )
        return layer

    # -------------------------------------------------------------- models
    def build_model(self, model_cfg: dict, nested: bool = False) -> keras.Model:
        class_name = model_cfg.get("class_name")
        if class_name == "Sequential":
            return self._sequential(model_cfg)
        if class_name in ("Functional", "Model"):
            return self._functional(model_cfg)
        raise self.ctx(None, class_name).error(f"top-level object of class {class_name!r} is not a Keras model")

    def _sequential(self, model_cfg: dict) -> keras.Model:
        config = model_cfg.get("config", {})
        if isinstance(config, list):  # Keras 2.0-2.2: the config is the list of layers
            layer_cfgs, name, build_shape = config, None, None
        else:
            layer_cfgs = config.get("layers", [])
            name = config.get("name")
            build_shape = config.get("build_input_shape") or (model_cfg.get("build_config") or {}).get("input_shape")
        ctx = self.ctx(name, "Sequential")
        if not layer_cfgs:
            raise ctx.error("Sequential model without layers")
        input_args = None
        rest = list(layer_cfgs)
        if rest[0].get("class_name") == "InputLayer":
            input_args = input_layer_args(rest.pop(0).get("config", {}))
        else:
            first_cfg = rest[0].get("config", {}) or {}
            shape = batch_shape_of(first_cfg) if isinstance(first_cfg, dict) else None
            if shape is None and build_shape is not None:
                shape = list(build_shape)
            if shape is not None:
                input_args = {"batch_shape": tuple(shape)}
                dtype = normalize_dtype(first_cfg.get("dtype")) if isinstance(first_cfg, dict) else None
                if dtype:
                    input_args["dtype"] = dtype
        if input_args is None or input_args.get("batch_shape") is None:
            raise ctx.error(
                "cannot tell the model's input shape (no InputLayer, batch_input_shape or "
                "build_input_shape in the config)"
            )
        layers = [self.make_layer(lc) for lc in rest]
        x = inp = keras.Input(**input_args)
        for lc, layer in zip(rest, layers):
            _check_size(layer, [x], self.ctx(layer.name, lc.get("class_name")))
            try:
                x = layer(x)
            except LegacyConversionError:
                raise
            except Exception as exc:
                raise self.ctx(layer.name, lc.get("class_name")).error(
                    f"cannot connect the layer ({type(exc).__name__}: {exc})"
                ) from exc
        model = keras.Sequential(name=name) if name else keras.Sequential()
        model.add(inp)
        for layer in layers:
            model.add(layer)
        return model

    def _functional(self, model_cfg: dict) -> keras.Model:
        config = model_cfg.get("config", {})
        name = config.get("name")
        layer_cfgs = config.get("layers", [])
        outputs: dict[str, list[list[Any]]] = {}
        offsets: dict[str, int] = {}
        layers: dict[str, keras.layers.Layer] = {}
        pending: list[tuple[dict, list]] = []
        for lc in layer_cfgs:
            lname = lc.get("name") or (lc.get("config") or {}).get("name")
            cls = lc.get("class_name")
            if cls == "InputLayer":
                args = input_layer_args(lc.get("config", {}))
                args["name"] = lname
                if args.get("batch_shape") is None:
                    raise self.ctx(lname, cls).error("InputLayer without a shape")
                outputs[lname] = [[keras.Input(**args)]]
                continue
            layer = self.make_layer(lc)
            layers[lname] = layer
            outputs[lname] = []
            calls = inbound_calls(lc, self.ctx(lname, cls))
            legacy_form = any(isinstance(n, list) for n in lc.get("inbound_nodes", []) or [])
            # Keras 2 numbers a nested model's nodes from 1: node 0 is its own construction.
            offsets[lname] = 1 if (isinstance(layer, keras.Model) and legacy_form and _nested_has_input(lc)) else 0
            pending.append((lc, calls))

        def lookup(ref: tuple[str, int, int]) -> Any:
            lname, node, tensor = ref
            if lname not in outputs:
                raise LookupError(lname)
            idx = node - offsets.get(lname, 0)
            if idx < 0:
                idx = node
            produced = outputs[lname]
            if idx >= len(produced):
                return None
            if tensor >= len(produced[idx]):
                raise IndexError(f"{lname} node {node} has no output {tensor}")
            return produced[idx][tensor]

        progress = True
        while pending and progress:
            progress = False
            still = []
            for lc, calls in pending:
                lname = lc.get("name") or (lc.get("config") or {}).get("name")
                ctx = self.ctx(lname, lc.get("class_name"))
                while calls:
                    refs, kwargs, multi = calls[0]
                    try:
                        tensors = [lookup(r) for r in refs]
                    except (LookupError, IndexError) as exc:
                        raise ctx.error(f"inbound node refers to a missing layer or output ({exc})") from exc
                    if any(t is None for t in tensors):
                        break
                    args = tensors if (multi or len(tensors) > 1) else tensors[0]
                    _check_size(layers[lname], tensors, ctx)
                    try:
                        out = layers[lname](args, **kwargs)
                    except LegacyConversionError:
                        raise
                    except Exception as exc:
                        raise ctx.error(f"cannot connect the layer ({type(exc).__name__}: {exc})") from exc
                    outputs[lname].append(list(out) if isinstance(out, (list, tuple)) else [out])
                    calls.pop(0)
                    progress = True
                if calls:
                    still.append((lc, calls))
            pending = still
        if pending:
            names = [lc.get("name") or lc["config"].get("name") for lc, _ in pending]
            raise self.ctx(names[0], pending[0][0].get("class_name")).error(
                f"the graph cannot be rebuilt: inputs of {names} are never produced"
            )
        ctx = self.ctx(name, "Functional")
        try:
            ins = [lookup(r) for r in tensor_refs(config.get("input_layers"))]
            outs = [lookup(r) for r in tensor_refs(config.get("output_layers"))]
        except (LookupError, IndexError) as exc:
            raise ctx.error(f"model inputs/outputs refer to a missing layer ({exc})") from exc
        if not ins or not outs or any(t is None for t in ins + outs):
            raise ctx.error("model inputs or outputs cannot be resolved")
        return keras.Model(ins[0] if len(ins) == 1 else ins, outs[0] if len(outs) == 1 else outs, name=name)


_SUBLAYER_KEYS = ("layer", "backward_layer", "cell")
"""Config keys of Keras wrappers (Bidirectional, TimeDistributed, RNN) that hold a whole layer config."""


MAX_DIM = 2**24
"""Largest tensor dimension accepted in a saved config."""

MAX_LAYER_WEIGHTS = 2**28
"""Most weight elements one layer may create (1 GiB of float32); checked before it is built."""


def _check_size(layer: keras.layers.Layer, inputs: list, ctx: Context) -> None:
    """Refuse, before any weight is allocated, a layer whose input has a dimension above `MAX_DIM`
    or whose kernel (units / filters / depth multiplier x kernel size x input channels) would hold
    more than `MAX_LAYER_WEIGHTS` elements: the config is corrupt or hostile."""
    if isinstance(layer, keras.Model):
        return
    channels = 1
    for t in inputs:
        dims = [d for d in tuple(getattr(t, "shape", ()) or ())[1:] if d is not None]
        if any(int(d) > MAX_DIM for d in dims):
            raise ctx.error(
                f"input shape {tuple(t.shape)} has a dimension above {MAX_DIM:,}: the config is corrupt or hostile"
            )
        if dims:
            channels = max(channels, int(dims[-1]))
    width = 1
    for attr in ("units", "filters", "depth_multiplier", "output_dim"):
        value = getattr(layer, attr, None)
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            if value > MAX_DIM:
                raise ctx.error(f"{attr}={value:,} is above {MAX_DIM:,}: the config is corrupt or hostile")
            width = max(width, int(value))
    kernel = getattr(layer, "kernel_size", None)
    area = int(np.prod([int(k) for k in kernel])) if isinstance(kernel, (tuple, list)) and kernel else 1
    if area > MAX_DIM:
        raise ctx.error(f"kernel_size={tuple(kernel)} is above {MAX_DIM:,} elements: the config is corrupt or hostile")
    n = area * channels * width
    if n > MAX_LAYER_WEIGHTS:
        raise ctx.error(
            f"would create a kernel of {n:,} weights (more than {MAX_LAYER_WEIGHTS:,}): the config "
            "is corrupt or hostile"
        )


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost exception of ``exc``'s cause/context chain (cycles stop the walk)."""
    seen = {id(exc)}
    while True:
        nxt = exc.__cause__ or exc.__context__
        if nxt is None or id(nxt) in seen:
            return exc
        seen.add(id(nxt))
        exc = nxt


def _looks_like_quantizer(value: Any) -> bool:
    if isinstance(value, dict):
        return value.get("class_name") not in (None, "function")
    return isinstance(value, str) and ("quantized" in value or "(" in value or value in ("binary", "ternary"))


def _nested_has_input(layer_cfg: dict) -> bool:
    cfg = layer_cfg.get("config", {})
    if layer_cfg.get("class_name") in ("Functional", "Model"):
        return True
    layers = cfg if isinstance(cfg, list) else cfg.get("layers", [])
    if not layers:
        return False
    first = layers[0]
    return first.get("class_name") == "InputLayer" or batch_shape_of(first.get("config", {}) or {}) is not None


# ---------------------------------------------------------------------------- weights


def saved_variables(layer: keras.layers.Layer) -> list:
    """The variables of ``layer`` that a QKeras file holds: everything but HGQ bitwidths,
    range trackers and the EBOPs ``beta`` of HGQ-mode layers."""
    from ..core.quantizer import FixedPointQuantizer
    from ..layers.base import QuantizedLayerMixin
    from ..quantizers import QKerasModeQuantizer

    skip: set[int] = set()
    for sub in layer._flatten_layers(include_self=False, recursive=True):
        if isinstance(sub, (FixedPointQuantizer, QKerasModeQuantizer)):
            skip.update(id(v) for v in sub.weights)
    for sub in layer._flatten_layers(include_self=True, recursive=True):
        if isinstance(sub, QuantizedLayerMixin) and sub.hgq:
            ebops_beta = getattr(sub, sub._ebops_beta_attr, None)
            if isinstance(ebops_beta, keras.Variable) and tuple(ebops_beta.shape) == () and not ebops_beta.trainable:
                skip.add(id(ebops_beta))
    derived = getattr(layer, "legacy_derived_weights", ())  # recomputed from the others after loading
    return [v for v in layer.weights if id(v) not in skip and v.name not in derived]


def _leaf_layers(model: keras.Model) -> list[keras.layers.Layer]:
    out = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.Model):
            out.extend(_leaf_layers(layer))
        else:
            out.append(layer)
    return out


_LEGACY_WEIGHT_NAMES = {"kernel": "depthwise_kernel", "step": "Variable"}
"""Keras 3 weight names that Keras 2 saved under another name (DepthwiseConv2D's kernel; QAdaptiveActivation's
step counter, an unnamed tf.Variable in QKeras)."""


def _describe(variables: list) -> str:
    return ", ".join(f"{v.name} {tuple(v.shape)}" for v in variables)


def _assign_layer(ctx: Context, layer: keras.layers.Layer, saved: list[SavedWeight], positional: bool) -> None:
    targets = saved_variables(layer)
    if not targets and not saved:
        return
    if not saved:
        raise ctx.error(f"the file holds no weights for this layer (missing: {_describe(targets)})")
    if not targets:
        raise ctx.error(f"the file holds weights {[s.name for s in saved]} but the layer has none")
    pairs = None
    if not positional:
        by_name: dict[str, list[SavedWeight]] = {}
        for s in saved:
            by_name.setdefault(s.short_name, []).append(s)
        matched, missing = [], []
        for v in targets:
            bucket = by_name.get(v.name) or by_name.get(_LEGACY_WEIGHT_NAMES.get(v.name, ""))
            if bucket:
                matched.append((v, bucket.pop(0)))
            else:
                missing.append(v)
        extra = [s for b in by_name.values() for s in b]
        if not missing and not extra:
            pairs = matched
        elif matched:
            why = []
            if missing:
                why.append(f"weights missing from the file: {_describe(missing)}")
            if extra:
                why.append(f"unexpected weights in the file: {[s.name for s in extra]}")
            raise ctx.error("; ".join(why))
    if pairs is None and positional:
        # Keras 3 numbers variables ('vars/0'); a few are saved under their own name ('vars/iteration' of the
        # folded batch-norm layers): those are matched by name, the numbered ones by position.
        named = {s.short_name: s for s in saved if not s.short_name.isdigit()}
        pairs = [(v, named.pop(v.name)) for v in targets if v.name in named]
        if named:
            raise ctx.error(f"unexpected weights in the file: {[s.name for s in named.values()]}")
        taken = {id(v) for v, _ in pairs} | {id(s) for _, s in pairs}
        targets = [v for v in targets if id(v) not in taken]
        saved = [s for s in saved if id(s) not in taken]
        if len(saved) > len(targets):
            # qkeras-v3's QDepthwiseConv2DBatchnorm saves `iteration` twice (numbered and by name): a numbered
            # copy equal in shape, dtype and value to a by-name weight is that same variable
            saved = [
                s
                for s in saved
                if not any(
                    s.value.shape == t.value.shape
                    and s.value.dtype == t.value.dtype
                    and np.array_equal(s.value, t.value)
                    for _, t in pairs
                )
            ]
        if len(saved) != len(targets):
            raise ctx.error(
                f"the file holds {len(saved)} numbered weights ({[s.name for s in saved]}) but the "
                f"layer expects {len(targets)} ({_describe(targets)}); weights are missing or extra"
            )
        pairs += list(zip(targets, saved))
    if pairs is None:
        if len(saved) != len(targets):
            raise ctx.error(
                f"the file holds {len(saved)} weights ({[s.name for s in saved]}) but the layer "
                f"expects {len(targets)} ({_describe(targets)}); weights are missing or extra"
            )
        pairs = list(zip(targets, saved))
    for v, s in pairs:
        if tuple(v.shape) != tuple(s.value.shape):
            raise ctx.error(
                f"weight {s.name!r} has shape {tuple(s.value.shape)} in the file but the layer "
                f"expects {v.name} {tuple(v.shape)}"
            )
    for v, s in pairs:
        v.assign(np.asarray(s.value).astype(v.dtype))
    restore = getattr(layer, "restore_derived_weights", None)
    if callable(restore):
        restore()


def load_legacy_weights(model: keras.Model, store: WeightStore, path: str | None = None) -> None:
    """Load a Keras 2 / Keras 3 weight store into ``model`` by layer name and weight name."""
    path = path or store.path
    used = set()
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        ctx = Context(path, layer.name, type(layer).__name__)
        if isinstance(layer, keras.Model):
            used.add(layer.name)
            if store.positional:
                inner = store.nested.get(layer.name, {})
                for leaf in _leaf_layers(layer):
                    _assign_layer(
                        Context(path, f"{layer.name}/{leaf.name}", type(leaf).__name__),
                        leaf,
                        inner.get(leaf.name, []),
                        True,
                    )
                continue
            group = store.get(layer.name) if store.has_layer(layer.name) else []
            if not store.has_layer(layer.name) and saved_variables(layer):
                raise ctx.error("the file holds no weights for this nested model")
            taken = set()
            for leaf in _leaf_layers(layer):
                mine = [s for s in group if s.name.split("/", 1)[0] == leaf.name]
                taken.update(id(s) for s in mine)
                _assign_layer(Context(path, f"{layer.name}/{leaf.name}", type(leaf).__name__), leaf, mine, False)
            rest = [s.name for s in group if id(s) not in taken]
            if rest:
                raise ctx.error(f"unexpected weights in the file for this nested model: {rest}")
            continue
        if not store.has_layer(layer.name):
            if saved_variables(layer):
                raise ctx.error(
                    f"the file holds no weights for this layer (missing: {_describe(saved_variables(layer))})"
                )
            continue
        used.add(layer.name)
        _assign_layer(ctx, layer, store.get(layer.name), store.positional)
    extra = [n for n in store.layers if n not in used and store.layers[n] and model_has_no_layer(model, n)]
    if extra:
        raise LegacyConversionError(
            path, f"the file holds weights for layers the model does not have: {extra}", layer=extra[0]
        )


def nonfinite_weights(model: keras.Model) -> list[str]:
    """One line per layer holding NaN or inf weights ("layer 'fc1' (QDense): 3 NaN/inf values in
    kernel"), nested models included; empty if every weight is finite."""
    lines = []
    for layer in _leaf_layers(model):
        bad = []
        for v in saved_variables(layer):
            a = np.asarray(keras.ops.convert_to_numpy(v))
            n = int(a.size - np.count_nonzero(np.isfinite(a))) if a.dtype.kind == "f" else 0
            if n:
                bad.append(f"{n} in {v.name}")
        if bad:
            lines.append(f"layer {layer.name!r} ({type(layer).__name__}): NaN/inf weight values ({', '.join(bad)})")
    return lines


def model_has_no_layer(model: keras.Model, name: str) -> bool:
    return all(layer.name != name for layer in model.layers)


# ---------------------------------------------------------------------------- report


def _quantizer_description(q: Any) -> tuple[str, float | None]:
    from ..core.quantizer import FixedPointQuantizer
    from ..quantizers import QKerasModeQuantizer

    if isinstance(q, QKerasModeQuantizer):
        spec = q.spec
        text = str(q.quantizer)
        if not spec.is_fixed_point:
            return f"{text} [{spec.kind}]", float(spec.bits)
        if spec.po2_scale:
            return f"{text} [fixed k{spec.keep_negative} {spec.bits:g}b + po2 scale]", float(spec.bits)
        return f"{text} [fixed k{spec.keep_negative} i{spec.integer:g} f{spec.fractional:g}]", float(spec.bits)
    if isinstance(q, FixedPointQuantizer):
        bits = np.asarray(keras.ops.convert_to_numpy(q.bits()), dtype=np.float64)
        gran = q.spec.granularity if isinstance(q.spec.granularity, str) else f"axes {q.spec.granularity}"
        return f"HGQ fixed {gran} {q.spec.round_mode}/{q.spec.overflow}", float(bits.mean()) if bits.size else 0.0
    return type(q).__name__, None


def layer_report(model: keras.Model, qkeras_quantizers: dict[str, str]) -> list[LayerReport]:
    rows = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.Model):
            for row in layer_report(layer, qkeras_quantizers):
                row.layer = f"{layer.name}/{row.layer}"
                rows.append(row)
            continue
        hq, bits = [], []
        for role in getattr(layer, "_weight_quantizer_args", {}):
            q = weight_quantizer(layer, role)
            if q is not None:
                text, b = _quantizer_description(q)
                hq.append(f"{role}: {text}")
                bits.append(f"{role} {b:g}" if b is not None else role)
        out_q = getattr(layer, "output_quantizer", None)
        if out_q is not None:
            text, b = _quantizer_description(out_q)
            hq.append(f"output: {text}")
            bits.append(f"out {b:g}" if b is not None else "out")
        params = int(sum(int(np.prod(v.shape)) for v in saved_variables(layer)))
        rows.append(
            LayerReport(
                layer.name,
                type(layer).__name__,
                qkeras_quantizers.get(layer.name, "-"),
                "; ".join(hq) or "-",
                ", ".join(bits) or "-",
                params,
            )
        )
    return rows


# ---------------------------------------------------------------------------- public API


def _refuse_unsafe(config: Any, path: str | None) -> None:
    """LegacyConversionError naming the layer that would read a file or run code (`hgq_compat._safety`),
    or for a config nested deeper than any Keras writes."""
    if config_depth(config) > MAX_CONFIG_DEPTH:
        raise LegacyConversionError(
            path,
            f"the model config is nested more than {MAX_CONFIG_DEPTH} levels deep; "
            "Keras writes about 15: the file is corrupt or hostile",
        )
    unsafe = find_unsafe(config)
    if unsafe is not None:
        raise LegacyConversionError(path, unsafe.why, layer=unsafe.layer, class_name=unsafe.class_name)


def build_from_config(
    config: Any, hgq: bool = False, custom_objects: dict | None = None, path: str | None = None, **quantization: Any
) -> tuple[keras.Model, dict[str, str]]:
    """A model (no weights loaded) from a legacy model config dict or JSON string."""
    from ..core.config import quantization_config

    config = parse_model_json(config, path)
    _refuse_unsafe(config, path)
    builder = _Builder(path, custom_objects)
    scope = dict(quantization)
    if hgq:
        scope["mode"] = "hgq"
    with quantization_config(**scope), safe_mode_scope():
        model = builder.build_model(config)
    return model, builder.qkeras_quantizers


def convert(
    path: Any, weights: Any = None, hgq: bool = False, custom_objects: dict | None = None, **quantization: Any
) -> ConversionResult:
    """`convert_qkeras_model` returning the model, the source and the per-layer report."""
    path = os.fspath(path)
    source = read_source(path, weights, check_config=lambda config: _refuse_unsafe(config, path))
    if source.weights is None:
        raise LegacyConversionError(
            path,
            "the model config comes without weights; pass the weights file "
            "(e.g. convert_qkeras_model('model.json', 'model_weights.h5'))",
        )
    model, texts = build_from_config(source.config, hgq=hgq, custom_objects=custom_objects, path=path, **quantization)
    load_legacy_weights(model, source.weights, source.weights_path or path)
    for line in nonfinite_weights(model):
        warnings.warn(f"{source.weights_path or path}: {line}; the outputs that use them are NaN or inf", stacklevel=2)
    if hgq:
        reinitialize_bitwidths(model)
    return ConversionResult(model, source, layer_report(model, texts))


def convert_qkeras_model(
    path: Any, weights: Any = None, hgq: bool = False, custom_objects: dict | None = None, **kwargs: Any
) -> keras.Model:
    """Convert a saved QKeras model into a Keras 3 hgq_compat model with the same outputs.

    Args:
        path: a full-model ``.h5`` (``model.save``), a model ``.json`` (``to_json``; give
            ``weights`` too) or a qkeras-v3 ``.keras`` archive.
        weights: a Keras 2 weights ``.h5`` (``save_weights``) for a JSON model, or a weights
            file replacing the one stored in ``path``.
        hgq: build the quantized layers in HGQ mode (trainable per-element bitwidths),
            initialised from the loaded weights so the outputs equal the plain conversion.
        custom_objects: extra layer classes by saved class name (their code will run).
        **kwargs: quantization settings for the layers (``granularity``,
            ``activation_granularity``, ``beta``, ``default_input_bits``; see
            `hgq_compat.quantization_config`).

    Raises:
        LegacyConversionError (a ValueError) naming the file and the layer for unreadable,
        truncated, incomplete or mismatched files, unknown classes and Lambda layers;
        LegacyNotImplementedError (also a NotImplementedError) for QKeras classes and
        quantizers that hgq_compat does not provide yet.
    """
    return convert(path, weights, hgq=hgq, custom_objects=custom_objects, **kwargs).model


__all__ = [
    "ConversionResult",
    "LayerReport",
    "build_from_config",
    "convert",
    "convert_qkeras_model",
    "layer_report",
    "load_legacy_weights",
    "nonfinite_weights",
    "reinitialize_bitwidths",
    "resolve_layer_class",
    "saved_variables",
]
