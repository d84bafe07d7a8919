"""hls4ml plugin of hgq-compat.

hls4ml loads it through the ``hls4ml.backends`` entry point during ``import hls4ml`` and
calls `register`. Registration is idempotent, checks the hls4ml version it supports and
reports its own failures loudly (hls4ml only prints plugin exceptions).

What it registers:
- `handlers`: Keras-v3 layer handlers for hgq_compat layers. A quantized layer becomes its
  hls4ml layer with already-quantized weights followed by a per-element quantizer node;
  hls4ml's bit_exact pass then infers every type. ``hls4ml.converters.convert_from_keras_model``
  and ``hls4ml.utils.config_from_keras_model`` accept hgq_compat models with no extra import.
- `ir`: the quantizer IR node with corrected bit_exact rules (hls4ml 1.3.0 bugs, see there).
- `passes`: exactness checks and the exact input conversion.

This module imports neither hls4ml nor keras at the top: `register` runs while
``import hls4ml`` is still in progress.
"""

from __future__ import annotations

import logging
import sys
from importlib import metadata
from typing import Any

SUPPORTED_HLS4ML = ((1, 3), (1, 4))
"""Supported hls4ml versions: >= 1.3, < 1.4."""

logger = logging.getLogger("hls4ml_plugin")

_registered = False


class PluginError(RuntimeError):
    """The plugin could not register with hls4ml."""


class InputQuantizedWarning(UserWarning):
    """Float model inputs are quantized to the configured input type on entry (exactness is kept on
    that type's grid; `passes.input_precision`)."""


class IgnoredPrecisionWarning(UserWarning):
    """A configured Precision that bit_exact inference overrides (as hls4ml does for HGQ2 layers;
    `passes.layer_config`)."""


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def check_hls4ml_version(version: str | None = None) -> str:
    """Return the installed hls4ml version; raise PluginError outside the supported range."""
    if version is None:
        try:
            version = metadata.version("hls4ml")
        except metadata.PackageNotFoundError as exc:
            raise PluginError("hls4ml is not installed; install hgq-compat's dependency hls4ml>=1.3,<1.4") from exc
    low, high = SUPPORTED_HLS4ML
    if not low <= _version_tuple(version) < high:
        raise PluginError(
            f"hls4ml {version} is not supported by hgq-compat's hls4ml_plugin; "
            f"supported: >= {'.'.join(map(str, low))}, < {'.'.join(map(str, high))}"
        )
    return version


def is_registered() -> bool:
    return _registered


def register(register_backend: Any = None, register_writer: Any = None) -> None:
    """Entry point called by hls4ml. Safe to call more than once."""
    global _registered
    if _registered:
        return
    try:
        version = check_hls4ml_version()
    except Exception as exc:  # hls4ml would only print a one-line warning: say it loudly
        message = f"hgq-compat hls4ml plugin failed to register: {exc}"
        logger.error(message)
        print(f"ERROR: {message}", file=sys.stderr)
        raise
    try:
        _register_components()
    except Exception as exc:
        import traceback

        message = f"hgq-compat hls4ml plugin failed to register: {exc!r}\n{traceback.format_exc()}"
        if isinstance(exc, ImportError):
            message += _IMPORT_ORDER_HINT
        logger.error(message)
        print(f"ERROR: {message}", file=sys.stderr)
        raise PluginError(message) from exc
    _registered = True
    logger.debug("hgq-compat hls4ml plugin registered with hls4ml %s", version)


_IMPORT_ORDER_HINT = (
    "(a submodule of hls4ml_plugin that imports hls4ml, e.g. hls4ml_plugin.ir.layers, imported before hls4ml "
    "is half-initialized while hls4ml registers the plugin: import hls4ml, or hls4ml_plugin.ir / "
    "hls4ml_plugin.passes, first; hls4ml_plugin.register() and convert() retry)"
)


def _register_components() -> None:
    from . import handlers  # noqa: F401  (the handler metaclass registers on import)
    from .ir import register_ir
    from .passes import register_passes

    register_ir()
    register_passes()


def convert(
    model: Any,
    output_dir: str,
    backend: str = "Vitis",
    io_type: str = "io_parallel",
    hls_config: dict | None = None,
    compile: bool = True,
    input_precision: Any = None,
    allow_inexact: bool = False,
    fold_batchnorm: bool = False,
    **kwargs: Any,
) -> Any:
    """Convert an hgq_compat Keras model to an hls4ml model and compile its C simulation.

    Per-element precision comes from the model's quantizers; ``hls_config`` defaults to
    ``{'Model': {'Precision': 'fixed<16,6>', 'ReuseFactor': 1, 'Strategy': 'Latency'}}`` (the
    precision is a fallback only: bit_exact infers every type). Extra keyword arguments go to
    ``hls4ml.converters.convert_from_keras_model``. Returns the (compiled) hls model.

    Feed ``hls_model.predict`` float32 arrays, as Keras does: inputs are converted exactly for
    float32 values only.

    A model input that feeds anything but a quantizer (a float input, e.g. a first QDense) takes
    hls4ml's input type from ``hls_config``, as hls4ml does: the input layer's
    ``config['LayerName'][name]['Precision']``, else the model default (``fixed<16,6>``); the inputs are
    quantized to it on entry (a warning names the type and the input). The C simulation then equals
    ``quantize_inputs(model, [that type per input])``, kept as ``hls_model.hgq_compat_keras_model``.

    ``input_precision`` (overrides the config for every input), e.g. ``'fixed<16,6>'``
    (= ``fixed<16,6,TRN,WRAP>``, hls4ml's default and ap_fixed's default modes) or
    ``'fixed<16,6,RND_CONV,SAT>'``: the inputs are quantized to that type on entry. What is converted is then ``quantize_inputs(model, input_precision)``, a new model
    whose first layer is that input quantizer (``model`` is not modified); the C simulation equals
    that model bit for bit, and equals ``model`` on inputs already on the type's grid. It is kept
    as ``hls_model.hgq_compat_keras_model``. Accepted strings: `inputs.ACCEPTED_FORM`.

    Where exactness is not guaranteed (an accumulator wider than float32's 24-bit significand, so
    that Keras may round), a warning naming the layer is issued (``warnings.warn``).

    ``fold_batchnorm=True``: every ``keras.layers.BatchNormalization`` right after a linear QConv2D /
    QDepthwiseConv2D / QDense is folded into it first (`hgq_compat.utils.convert_to_folded_model`:
    QConv2DBatchnorm / QDepthwiseConv2DBatchnorm / QDenseBatchnorm, exact in hls4ml); the folded model,
    whose outputs differ from ``model``'s by the requantized kernel, is the one the C simulation equals
    (``hls_model.hgq_compat_keras_model``; the folded layer names are ``hls_model.hgq_compat_folded``).

    ``allow_inexact=True`` (or ``hls_config['Model']['AllowInexact'] = True``, also read when calling
    ``hls4ml.converters.convert_from_keras_model`` directly) exports what is otherwise refused where
    hls4ml has an approximation: float batch normalization (hls4ml's BatchNormalization node,
    constants at 24 significant bits), weights of quantizers that are not fixed point (alpha='auto'
    kernels of QDense / QConv1D / QConv2D: the integer codes, then the per-channel scale, hls4ml's
    ApplyAlpha; others, e.g. quantized_ulaw: their float values at 24 significant bits, at most 31
    fractional bits) and QConv2DTranspose beyond the dense-matrix limit. The C simulation then
    differs from Keras; ``hls_model.hgq_compat_inexact`` maps each approximated Keras layer to the
    reason (empty when nothing was approximated). `synth.synthesize` measures the difference.
    """
    import warnings

    import hls4ml

    register()
    keras_model, folded = model, []
    if fold_batchnorm:
        from hgq_compat.utils import convert_to_folded_model

        keras_model, folded = convert_to_folded_model(model)
        gone = {layer.name for layer in model.layers} - {layer.name for layer in keras_model.layers}
        if hls_config and gone & set(hls_config.get("LayerName", {})):  # the folded batch norms' entries
            hls_config = {
                **hls_config,
                "LayerName": {k: v for k, v in hls_config["LayerName"].items() if k not in gone},
            }
    if input_precision is not None:
        from .inputs import quantize_inputs

        keras_model = quantize_inputs(keras_model, input_precision)
    if hls_config is None:
        hls_config = {"Model": {"Precision": "fixed<16,6>", "ReuseFactor": 1, "Strategy": "Latency"}}
    if allow_inexact:
        from .ir.exactness import ALLOW_INEXACT_KEY

        hls_config = {**hls_config, "Model": {**hls_config.get("Model", {}), ALLOW_INEXACT_KEY: True}}
    with warnings.catch_warnings():
        # FixInputPrecision warns about RND_CONV inputs; passes.WidenInputPrecision makes them exact
        warnings.filterwarnings("ignore", message=".*may compromise bit-exactness.*")
        hls_model = hls4ml.converters.convert_from_keras_model(
            keras_model, output_dir=str(output_dir), backend=backend, io_type=io_type, hls_config=hls_config, **kwargs
        )
    from .ir import Attr

    if input_precision is None:
        declared = [hls_model.graph[name].get_attr(Attr.INPUT_PRECISION) for name in hls_model.inputs]
        if any(declared):  # float inputs quantized to the configured type on entry
            from .inputs import quantize_inputs

            keras_model = quantize_inputs(keras_model, declared)
    hls_model.hgq_compat_keras_model = keras_model  # the Keras model the C simulation equals (or approximates)
    hls_model.hgq_compat_folded = folded
    hls_model.__dict__.setdefault(Attr.INEXACT, {})
    if compile:
        hls_model.compile()
    return hls_model


def quantize_inputs(model: Any, input_precision: Any) -> Any:
    """``model`` with its inputs quantized to ``input_precision`` on entry (a new Keras model; see
    `inputs.quantize_inputs`): the Keras model that ``convert(model, ..., input_precision=...)`` converts."""
    from .inputs import quantize_inputs as _quantize_inputs

    return _quantize_inputs(model, input_precision)


__all__ = [
    "IgnoredPrecisionWarning",
    "InputQuantizedWarning",
    "PluginError",
    "check_hls4ml_version",
    "convert",
    "is_registered",
    "quantize_inputs",
    "register",
    "SUPPORTED_HLS4ML",
]
