"""hls4ml's per-layer settings, ``config['LayerName'][name]``, on hgq-compat models.

``hls4ml.utils.config_from_keras_model(model, granularity='name')`` lists every Keras layer name
(plus the extra nodes a layer becomes: ``<name>_quantizer``, ``<name>_depthwise``, ...). Users
edit ``Precision``, ``ReuseFactor`` and ``Strategy`` there. `ApplyLayerConfig` (first in the
'convert' flow) makes each setting take effect or says why not:

- ReuseFactor, Strategy and every other key but Precision set on a Keras layer's name apply to
  every node made from that layer (hls4ml itself applies them to the node of that name only),
  unless the node's own entry sets a value other than the model's;
- a layer named 'input' (hls4ml reserves the name; the node is 'input_0', `handlers.input_layer`) keeps
  its settings;
- Precision: every type of an hgq-compat model is inferred from its quantizers by bit_exact, which
  keeps the C simulation equal to Keras; hls4ml does the same for HGQ2 layers (its bit_exact pass
  overwrites the configured types). A Precision other than 'auto' (or the layer class' default)
  is therefore ignored, with a warning naming the layer and key. The exception is a float model
  input, whose type is the configured one (`input_precision.DeclareInputPrecision`);
- a key that names neither a layer of the Keras model nor a node raises ValueError naming it.
"""

from __future__ import annotations

import warnings

from hls4ml.model.attributes import TypeAttribute
from hls4ml.model.layers import Input
from hls4ml.model.optimizer.optimizer import ModelOptimizerPass
from hls4ml.model.optimizer.passes.bit_exact import get_output_layers
from hls4ml.model.optimizer.passes.hgq_proxy_model import FixedPointQuantizer as HlsFixedPointQuantizer
from hls4ml.utils.string_utils import convert_to_snake_case

from .. import IgnoredPrecisionWarning
from ..ir import Attr

INPUT_PRECISION_KEYS = ("result", "default")
"""Precision entries of a model input that set its type (hls4ml's 'result', or a plain string)."""


def _keras_layer_names(model) -> set[str]:
    """Names of the Keras model's layers, nested models' layers included (not the sublayers of layers)."""
    keras_model = model.config.config.get("KerasModel")
    names, todo = set(), [keras_model] if hasattr(keras_model, "layers") else []
    while todo:
        for layer in todo.pop().layers:
            names.add(layer.name)
            if hasattr(layer, "layers") and hasattr(layer, "inputs"):  # a nested model
                todo.append(layer)
    return names


def _targets(model, key: str) -> list:
    """The nodes made from the Keras layer (or node) named ``key``."""
    return [n for n in model.graph.values() if n.name == key or n.get_attr(Attr.KERAS_LAYER) == key]


def _configured_precisions(node, precision) -> list[tuple[str, str]]:
    """(entry, value) of the Precision settings that differ from 'auto' and the node class' defaults."""
    if precision is None:
        return []
    if not isinstance(precision, dict):
        return [] if str(precision) == "auto" else [("", str(precision))]
    defaults = {
        a.name[:-2] if a.name.endswith("_t") else a.name: str(a.default)
        for a in type(node).expected_attributes
        if isinstance(a, TypeAttribute) and a.default is not None
    }
    return [(k, str(v)) for k, v in precision.items() if str(v) != "auto" and str(v) != defaults.get(k)]


def _is_float_input(node) -> bool:
    return isinstance(node, Input) and any(not isinstance(c, HlsFixedPointQuantizer) for c in get_output_layers(node))


class ApplyLayerConfig(ModelOptimizerPass):
    """Apply (or refuse, or warn about) ``config['LayerName']`` settings; see the module doc."""

    name = "hgq_compat_apply_layer_config"

    def __init__(self) -> None:
        pass

    def transform(self, model) -> bool:
        from .checks import _uses_plugin

        if not _uses_plugin(model):
            return False
        hls = model.config.config.get("HLSConfig", {})
        names = hls.get("LayerName") or {}
        model_conf = hls.get("Model", {})
        keras_names = _keras_layer_names(model)
        for key, conf in list(names.items()):
            targets = _targets(model, key)
            if not targets:
                if key in keras_names:
                    continue  # a Keras layer hls4ml drops (e.g. Dropout): nothing to configure
                raise ValueError(
                    f"config['LayerName'][{key!r}] names no layer of the model; the keys are the Keras layer names "
                    f"(hls4ml.utils.config_from_keras_model(model, granularity='name') lists them): "
                    f"{sorted(keras_names | set(model.graph))}"
                )
            if not isinstance(conf, dict):
                raise ValueError(f"config['LayerName'][{key!r}] must be a dict of settings, got {conf!r}")
            self._warn_precision(key, conf, targets)
            for node in targets:
                if node.name != key:
                    self._apply(model, node, conf, names, model_conf)
        return True

    @staticmethod
    def _apply(model, node, conf: dict, names: dict, model_conf: dict) -> None:
        """Copy the layer's settings (but Precision) onto a node made from it."""
        own = dict(names.get(node.name) or {})
        changed = {}
        for ckey, value in conf.items():
            if ckey == "Precision" or (ckey in own and own[ckey] != model_conf.get(ckey) and own[ckey] != value):
                continue  # the node's own setting wins
            if own.get(ckey) != value:
                changed[ckey] = value
        if not changed:
            return
        own.update(changed)
        names[node.name] = own
        model.config.parse_name_config(node.name, own)
        for ckey, value in changed.items():
            node.set_attr(convert_to_snake_case(ckey), value)

    @staticmethod
    def _warn_precision(key: str, conf: dict, targets: list) -> None:
        precision = conf.get("Precision")
        for node in targets:
            set_here = _configured_precisions(node, precision)
            if _is_float_input(node):
                set_here = [(k, v) for k, v in set_here if k not in ("",) + INPUT_PRECISION_KEYS]
            for entry, value in set_here:
                where = f"config['LayerName'][{key!r}]['Precision']" + (f"[{entry!r}]" if entry else "")
                why = (
                    f"model input {node.name!r} feeds quantizers only, which convert its float inputs exactly"
                    if isinstance(node, Input)
                    else f"layer {key!r} takes its hls4ml types from its quantizers (bit_exact inference, which keeps "
                    "the C simulation equal to Keras; hls4ml's HGQ2 layers do the same)"
                )
                warnings.warn(
                    f"{where} = {value!r} is ignored: {why}; change the quantizer to change the type",
                    IgnoredPrecisionWarning,
                    stacklevel=2,
                )
            if set_here:
                return  # once per key
