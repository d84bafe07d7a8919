"""hls4ml's optimization API (DSP-aware pruning) on hgq_compat models, as on QKeras models.

The pruning loop is hls4ml's own (``optimize_model``'s steps: ``get_model_masks``, weights times
masks, ``MaskedBackprop`` with the layers' regularizers); ``optimize_model`` itself cannot run on
Keras 3 in hls4ml 1.3 (it saves ``best_weights.h5``, refused by Keras 3 for every model).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from hgq_compat import QActivation, QConv2D, QDense, QGlobalAveragePooling2D
from hls4ml_plugin.optimization import import_optimization_api

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="hls4ml's optimization API uses tf.GradientTape (TensorFlow backend only)",
)

Q = "quantized_bits(10,2,alpha=1)"


def _model() -> keras.Model:
    keras.utils.set_random_seed(3)
    reg = dict(kernel_regularizer=keras.regularizers.L1(1e-4))  # hls4ml's own regularizers fail on Keras 3
    return keras.Sequential(
        [
            keras.Input((6, 6, 2)),
            QConv2D(6, 3, kernel_quantizer=Q, bias_quantizer=Q, name="conv", **reg),
            QActivation("quantized_relu(8,3)", name="act1"),
            QGlobalAveragePooling2D(name="pool"),
            QDense(12, kernel_quantizer=Q, bias_quantizer=Q, name="dense1", **reg),
            QActivation("quantized_relu(8,3)", name="act2"),
            QDense(3, kernel_quantizer=Q, bias_quantizer=Q, name="dense2", **reg),
        ]
    )


def _prune(model: keras.Model, attributes: dict, objective: type, sparsity: float) -> dict:
    """One pruning step of hls4ml's ``optimize_model``: masks for ``sparsity``, masked weights,
    then two epochs of masked training. Returns the masks."""
    api = import_optimization_api()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 6, 6, 2)).astype("float32")
    y = keras.utils.to_categorical(rng.integers(0, 3, 256), 3)
    for layer in model.layers:
        if isinstance(layer, api.SUPPORTED_LAYERS):
            attributes[layer.name].optimizable, attributes[layer.name].optimization_attributes = (
                objective.is_layer_optimizable(attributes[layer.name])
            )
        else:
            attributes[layer.name].optimizable = False
    model.compile(keras.optimizers.Adam(1e-3), "categorical_crossentropy")
    masks, offsets = api.get_model_masks(model, attributes, sparsity, objective, metric="l1", knapsack_solver="greedy")
    for layer in model.layers:
        if layer.name in masks:
            weights = layer.get_weights()
            weights[0] = weights[0] * masks[layer.name] + offsets[layer.name]
            layer.set_weights(weights)
    backprop = api.MaskedBackprop(model, keras.losses.get("categorical_crossentropy"), attributes)
    backprop.update_masks(masks)
    for _ in range(2):
        for start in range(0, len(x), 32):
            backprop(
                keras.ops.convert_to_tensor(x[start : start + 32]),
                keras.ops.convert_to_tensor(y[start : start + 32]),
                sparsity,
            )
    return masks


def test_hgq_compat_layers_are_qkeras_layers_for_hls4ml_optimization():
    api = import_optimization_api()
    assert QDense in api.SUPPORTED_LAYERS and QConv2D in api.SUPPORTED_LAYERS
    from hls4ml.optimization.dsp_aware_pruning.attributes import get_attributes_from_keras_model

    model = _model()
    attributes = get_attributes_from_keras_model(model)
    assert attributes["conv"].input_shape == (6, 6, 2) and attributes["conv"].output_shape == (4, 4, 6)
    assert attributes["dense1"].weight_shape == (6, 12) and attributes["dense2"].output_shape == (3,)
    assert model.get_layer("dense1").input_shape == (None, 6)
    assert model.get_layer("conv").output_shape == (None, 4, 4, 6)
    assert not hasattr(QDense(2), "input_shape")  # never called: AttributeError, as in Keras 2
    lazy = keras.Sequential([QDense(2, kernel_quantizer=Q), QDense(1, kernel_quantizer=Q)])  # Keras probes hasattr
    assert tuple(lazy(np.ones((2, 3), "float32")).shape) == (2, 1)
    import sys

    assert "qkeras" not in sys.modules  # the alias lasted for hls4ml's import only


def test_unstructured_pruning_prunes_and_model_runs():
    from hls4ml.optimization.dsp_aware_pruning.attributes import get_attributes_from_keras_model
    from hls4ml.optimization.dsp_aware_pruning.objectives import ParameterEstimator

    import_optimization_api()
    model = _model()
    masks = _prune(model, get_attributes_from_keras_model(model), ParameterEstimator, 0.5)
    assert set(masks) == {"conv", "dense1", "dense2"}
    pruned = {name: float(np.mean(model.get_layer(name).get_weights()[0] == 0)) for name in masks}
    total = sum(np.sum(model.get_layer(n).get_weights()[0] == 0) for n in masks)
    size = sum(model.get_layer(n).get_weights()[0].size for n in masks)
    assert total / size >= 0.45, pruned  # about half of all kernel weights, frozen at 0 through training
    for name, mask in masks.items():
        kernel = model.get_layer(name).get_weights()[0]
        assert np.all(kernel[np.asarray(mask) == 0] == 0)
        quantized = keras.ops.convert_to_numpy(model.get_layer(name).quantized_weight("kernel"))
        assert np.all(quantized[np.asarray(mask) == 0] == 0)  # pruned weights are zero after the quantizer too
    out = model.predict(np.random.default_rng(1).normal(size=(16, 6, 6, 2)).astype("float32"), verbose=0)
    assert out.shape == (16, 3) and np.all(np.isfinite(out))


def test_structured_dsp_aware_pruning_from_hls4ml_config():
    """VivadoDSPEstimator (DSP-aware, from the hls4ml config of the hgq_compat model)."""
    import hls4ml
    from hls4ml.optimization.dsp_aware_pruning.attributes import get_attributes_from_keras_model_and_hls4ml_config
    from hls4ml.optimization.dsp_aware_pruning.objectives.vivado_objectives import VivadoDSPEstimator

    import_optimization_api()
    model = _model()
    config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis")
    config["IOType"] = "io_parallel"
    for name in ("conv", "dense1", "dense2"):
        # what the DSP model reads (hls4ml infers the real types at conversion)
        config["LayerName"][name]["Precision"] = {"weight": "fixed<10,2>", "result": "fixed<16,6>"}
    config["Model"]["Strategy"] = "Latency"
    attributes = get_attributes_from_keras_model_and_hls4ml_config(model, config)
    assert attributes["dense1"].args["hls4ml_attributes"].n_in == 6
    masks = _prune(model, attributes, VivadoDSPEstimator, 0.5)
    zeros = {name: int(np.sum(model.get_layer(name).get_weights()[0] == 0)) for name in masks}
    assert sum(zeros.values()) > 0, zeros
    out = model.predict(np.zeros((4, 6, 6, 2), "float32"), verbose=0)
    assert out.shape == (4, 3)
