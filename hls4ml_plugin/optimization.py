"""hls4ml's optimization API (DSP-aware pruning, ``hls4ml.optimization``) for hgq_compat models.

hls4ml 1.3's Keras optimization modules (``hls4ml.optimization.dsp_aware_pruning.keras``) recognise
QKeras layers by ``isinstance`` against classes imported at import time (``from qkeras import
QConv2D, QDense``; ``from qkeras.utils import _add_supported_quantized_objects``). Without a
``qkeras`` package they cannot be imported at all, and with the real QKeras they skip hgq_compat
layers (not QKeras subclasses). `import_optimization_api` imports them with hgq_compat and
``hgq_compat.utils`` standing in for ``qkeras``/``qkeras.utils`` during the import only (the
``sys.modules`` entries are restored afterwards), so hgq_compat's QDense and QConv2D are the
"QKeras layers" hls4ml optimizes. hgq_compat layers also expose Keras 2's ``input_shape`` and
``output_shape``, which hls4ml reads (`hgq_compat.layers.base.QuantizedLayerMixin`).

What works on Keras 3 (TensorFlow backend; the API uses ``tf.GradientTape``):
``get_attributes_from_keras_model``, the objectives (``ParameterEstimator``, ...), the schedulers,
``get_model_masks`` (structured, unstructured, pattern and block masks, weight sharing), the
regularizers and ``MaskedBackprop``. ``optimize_model`` itself fails on any Keras 3 model in
hls4ml 1.3 (it saves ``best_weights.h5``, which Keras 3 refuses without the ``.weights.h5``
suffix), and plain Keras layers in the model (Flatten, InputLayer of a functional model) have no
``input_shape`` in Keras 3: use a Sequential model of hgq_compat layers for the attributes.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

API_MODULE = "hls4ml.optimization.dsp_aware_pruning.keras"


def import_optimization_api() -> ModuleType:
    """Import ``hls4ml.optimization.dsp_aware_pruning.keras`` with hgq_compat's QDense/QConv2D as
    its QKeras layers; returns that module (its ``MaskedBackprop``, ``get_model_masks``, ...).

    Raises RuntimeError if hls4ml's module was already imported with other QKeras classes (import
    it through this function first), ImportError if keras-tuner (needed by hls4ml) is missing.
    """
    import hgq_compat
    from hgq_compat import utils

    if API_MODULE in sys.modules:
        module = sys.modules[API_MODULE]
        config = sys.modules[f"{API_MODULE}.config"]
        if hgq_compat.QDense not in config.SUPPORTED_LAYERS:
            raise RuntimeError(
                f"{API_MODULE} was imported before hls4ml_plugin.optimization.import_optimization_api(), with other "
                "QKeras classes, so it would skip hgq_compat layers; call import_optimization_api() before anything "
                "imports hls4ml.optimization"
            )
        return module
    aliases = {"qkeras": hgq_compat, "qkeras.utils": utils}
    saved = {name: sys.modules.get(name) for name in aliases}
    sys.modules.update(aliases)
    try:
        module = importlib.import_module(API_MODULE)
        importlib.import_module("hls4ml.optimization.dsp_aware_pruning")
    finally:
        for name, previous in saved.items():
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous
    return module


__all__ = ["API_MODULE", "import_optimization_api"]
