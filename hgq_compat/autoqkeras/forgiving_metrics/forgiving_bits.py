"""QKeras ``ForgivingFactorBits``: model size in bits (parameters and activations) as the goal.

The sizes follow QKeras' rules layer class by layer class (same classes, same constants), so
models in QKeras mode get QKeras' numbers. A layer in HGQ mode has a bitwidth per element:
its parameters count the sum of their bitwidths (0 for a weight that quantizes to 0, as in
EBOPs) and its activations the sum of the output quantizer's bitwidths over the output.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from ...core.ebops import effective_weight_bits
from ...core.quantizer import FixedPointQuantizer
from ...layers.base import weight_quantizer
from ...quantizers import get_quantizer, is_quantizer
from ..utils import _activation
from .forgiving_factor import ForgivingFactor

_FLOAT_WEIGHTED = ("Dense", "Conv2D", "Conv1D", "DepthwiseConv2D")
_Q_WEIGHTED = ("QDense", "QConv2D", "QConv1D", "QDepthwiseConv2D")


def _name(activation: Any) -> str | None:
    if isinstance(activation, str):
        return activation
    return getattr(activation, "__name__", None)


def _hgq_quantizer(layer: keras.layers.Layer, role: str | None) -> FixedPointQuantizer | None:
    """The HGQ (per-element, trainable) quantizer of weight ``role`` (None: the output quantizer) of an
    HGQ-mode layer, else None."""
    q = getattr(layer, "output_quantizer", None) if role is None else weight_quantizer(layer, role)
    return q if getattr(layer, "hgq", False) and isinstance(q, FixedPointQuantizer) else None


def _sum_bits(q: FixedPointQuantizer, shape: tuple) -> float:
    return float(np.sum(np.broadcast_to(np.asarray(ops.convert_to_numpy(q.bits()), np.float64), shape)))


class ForgivingFactorBits(ForgivingFactor):
    """Implements forgiving factor with target as number of bits (QKeras' signature).

    Args:
        delta_p, delta_n, rate: see `ForgivingFactor`.
        stress: factor on the reference size (< 1 pushes towards smaller models).
        input_bits: bits of each model input element.
        output_bits: bits of softmax / sigmoid outputs.
        ref_bits: bits of float parameters and activations (the reference model's bits).
        config: per layer class name (or 'default'), which of 'parameters' / 'activations' count.
    """

    def __init__(
        self,
        delta_p: float,
        delta_n: float,
        rate: float,
        stress: float = 1.0,
        input_bits: int = 8,
        output_bits: int = 8,
        ref_bits: int = 8,
        config: dict | None = None,
    ):
        self.stress = stress
        self.input_bits = input_bits
        self.output_bits = output_bits
        self.ref_bits = ref_bits
        self.ref_size = {}
        self.config = config if config else {}
        super().__init__(delta_p, delta_n, rate)

    def _param_size(self, layer: keras.layers.Layer) -> float:
        """Computes size of parameters of a layer in bits."""
        t_size = self.ref_bits
        parameter_size = 0
        cls = layer.__class__.__name__
        if cls in _FLOAT_WEIGHTED:
            for w in layer.weights:
                parameter_size += t_size * np.prod(w.shape)
        elif cls in _Q_WEIGHTED:
            for role in layer.weight_roles():
                weight = getattr(layer, role)
                hgq = _hgq_quantizer(layer, role)
                if hgq is not None:
                    wq = layer.quantized_weight(role)
                    parameter_size += float(np.sum(ops.convert_to_numpy(effective_weight_bits(hgq.bits(), wq))))
                    continue
                q = layer._weight_quantizer_args[role][0]
                bits = q.bits if q is not None else t_size
                parameter_size += bits * np.prod(weight.shape)
        elif cls in ("BatchNormalization", "QBatchNormalization"):
            # QKeras: BatchNormalization exports scale and center (absorbed by a neighbour layer);
            # QBatchNormalization counts 6 bits per scale and 5 per center
            n = np.prod(layer.moving_mean.shape)
            scale_bits, center_bits = (t_size, t_size) if cls == "BatchNormalization" else (6, 5)
            parameter_size += scale_bits * n
            if layer.center:
                parameter_size += center_bits * n
        return parameter_size

    def _act_size(self, layer: keras.layers.Layer) -> float:
        """Computes size of activations of a layer in bits."""
        i_size = self.input_bits
        o_size = self.output_bits
        t_size = self.ref_bits
        cls = layer.__class__.__name__
        output_shape = tuple(layer.output.shape[1:])
        output_size = np.prod(output_shape)
        if cls == "InputLayer":
            return i_size * output_size
        if cls in _FLOAT_WEIGHTED:
            name = _name(layer.activation)
            return t_size * output_size if layer.activation is not None and name != "linear" else 0
        if cls in _Q_WEIGHTED or cls in ("QActivation", "Activation"):
            activation = _activation(layer)
            hgq = _hgq_quantizer(layer, None)
            if hgq is not None:
                return _sum_bits(hgq, output_shape)
            name = _name(activation)
            if name == "linear":
                return 0
            if name == "softmax" or (name == "sigmoid" and cls in ("QActivation", "Activation")):
                return o_size * output_size
            if isinstance(activation, str):
                activation = get_quantizer(activation)
            bits = activation.bits if is_quantizer(activation) and hasattr(activation, "bits") else t_size
            return bits * output_size
        return 0

    def compute_model_size(self, model: keras.Model) -> tuple:
        """(total bits, parameter bits, activation bits, {layer name: {'parameters', 'activations', 'total'}})."""
        a_size = 0
        p_size = 0
        total_size = 0
        model_size_dict = {}
        for layer in model.layers:
            layer_config = self.config.get(layer.__class__.__name__, self.config.get("default", None))
            if layer_config:
                parameters = self._param_size(layer)
                activations = self._act_size(layer)
                p_weight = "parameters" in layer_config
                a_weight = "activations" in layer_config
                total = p_weight * parameters + a_weight * activations
                model_size_dict[layer.name] = {"parameters": parameters, "activations": activations, "total": total}
                a_size += a_weight * activations
                p_size += p_weight * parameters
                total_size += total
        return (total_size, p_size, a_size, model_size_dict)

    def get_reference(self, model: keras.Model) -> float:
        """Reference size (bits) of ``model`` times ``stress``; computed once, then cached."""
        if not hasattr(self, "reference_size"):
            cached_result = self.compute_model_size(model)
            self.reference_size = cached_result[0] * self.stress
            self.ref_p = cached_result[1]
            self.ref_a = cached_result[2]
            self.reference_size_dict = cached_result[3]
        return self.reference_size

    def get_reference_stats(self) -> dict:
        return self.reference_size_dict

    def get_trial(self, model: keras.Model) -> float:
        """Computes size of quantization trial (bits)."""
        result = self.compute_model_size(model)
        self.trial_size = result[0]
        self.total_p_bits = result[1]
        self.total_a_bits = result[2]
        self.trial_size_dict = result[3]
        return self.trial_size

    def get_total_factor(self) -> float:
        """we adjust the learning rate by size reduction."""
        ref_total = self.ref_a + self.ref_p
        trial_total = self.total_a_bits + self.total_p_bits
        return (trial_total - ref_total) / ref_total

    def print_stats(self) -> None:
        """Prints statistics of current model."""
        print(
            "stats: delta_p={} delta_n={} rate={} trial_size={} reference_size={}\n       delta={:.2f}%".format(
                self.delta_p, self.delta_n, self.rate, self.trial_size, int(self.reference_size), 100 * self.delta()
            )
        )
        a_percentage = np.round(100.0 * (self.total_a_bits - self.ref_a) / self.ref_a, 2)
        p_percentage = np.round(100.0 * (self.total_p_bits - self.ref_p) / self.ref_p, 2)
        ref_total = self.ref_a + self.ref_p
        trial_total = self.total_a_bits + self.total_p_bits
        total_percentage = np.round(100.0 * (trial_total - ref_total) / ref_total, 2)
        print(
            "       a_bits={}/{} ({:.2f}%) p_bits={}/{} ({:.2f}%)\n       total={}/{} ({:.2f}%)".format(
                int(self.total_a_bits),
                int(self.ref_a),
                a_percentage,
                int(self.total_p_bits),
                int(self.ref_p),
                p_percentage,
                int(trial_total),
                int(ref_total),
                total_percentage,
            )
        )
