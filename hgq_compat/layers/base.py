"""Shared machinery of the quantized layers.

A quantized layer has weight quantizers (kernel, bias, ...), an optional output quantizer
(a QKeras quantizer given as ``activation``), a mode ('qkeras' or 'hgq'), a weight
granularity and an EBOPs weight ``beta``. The bitwidth of its input is read from whatever
quantizer produced that input in the functional graph (through shape-only layers such as
Flatten, Reshape, Dropout and MaxPooling); an input no quantizer produced counts
``default_input_bits`` bits per element.
"""

from __future__ import annotations

from typing import Any, Callable

import keras
import numpy as np
from keras import ops

from ..core.config import QuantizationConfig, current_config
from ..core.ebops import effective_weight_bits
from ..core.quantizer import FixedPointQuantizer, float32_dtype
from ..core.spec import check_choice, normalize_granularity, shared_axes
from ..quantizers import (QKerasModeQuantizer, get_quantizer, is_quantizer, make_quantizer_layer,
                          serialize_quantizer)
from ..core.config import MODES

BitsFn = Callable[[], Any]


def pop_quantization_kwargs(kwargs: dict) -> QuantizationConfig:
    """Take mode, granularity, beta, ... out of layer kwargs, defaulting to the current scope."""
    cfg = current_config()
    changes = {}
    for key in ("mode", "granularity", "activation_granularity", "beta", "default_input_bits"):
        if key in kwargs:
            value = kwargs.pop(key)
            if value is not None:
                changes[key] = value
    if changes:
        import dataclasses
        cfg = dataclasses.replace(cfg, **changes)
    return cfg


def quantization_config_dict(cfg: QuantizationConfig) -> dict:
    def g(v: Any) -> Any:
        return list(v) if isinstance(v, tuple) else v

    return {
        "mode": cfg.mode, "granularity": g(cfg.granularity), "activation_granularity": g(cfg.activation_granularity),
        "beta": cfg.beta, "default_input_bits": cfg.default_input_bits,
    }


# ------------------------------------------------------------------ input bit sources

def _broadcast_bits(bits: Any, shape: tuple) -> Any:
    return ops.broadcast_to(ops.cast(bits, "float32"), shape)


def tensor_bits_source(tensor: Any) -> BitsFn | None:
    """A function giving the bitwidth (bits, no batch axis) of a symbolic tensor, if known."""
    history = getattr(tensor, "_keras_history", None)
    if history is None:
        return None
    op = history.operation
    quantizer = getattr(op, "output_quantizer", None)
    if quantizer is not None:
        return quantizer.bits
    if isinstance(op, keras.layers.InputLayer) or not getattr(op, "_inbound_nodes", None):
        return None
    node = op._inbound_nodes[history.node_index]
    if len(node.input_tensors) != 1:
        return None
    src_tensor = node.input_tensors[0]
    src = tensor_bits_source(src_tensor)
    if src is None:
        return None
    in_shape = tuple(src_tensor.shape[1:])
    out_shape = tuple(tensor.shape[1:])
    if None in in_shape or None in out_shape:
        return None
    if isinstance(op, (keras.layers.Dropout, keras.layers.GaussianNoise, keras.layers.ActivityRegularization)):
        return src
    if isinstance(op, (keras.layers.Flatten, keras.layers.Reshape)):
        return lambda: ops.reshape(_broadcast_bits(src(), in_shape), out_shape)
    if isinstance(op, (keras.layers.MaxPooling1D, keras.layers.MaxPooling2D)) and op.data_format == "channels_last":
        def pooled() -> Any:
            b = _broadcast_bits(src(), in_shape)[None]
            return ops.max_pool(b, op.pool_size, op.strides, op.padding)[0]
        return pooled
    return None


class QuantizedLayerMixin:
    """Mixin for Keras layers with QKeras-style quantizers and HGQ bitwidth training.

    Subclasses call `_init_quantization` in ``__init__``, `_build_quantizers` at the end of
    ``build``, and implement `_ebops(input_bits)`.
    """

    has_ebops = True
    #: attribute holding the EBOPs weight variable (layers with their own ``beta`` weight,
    #: such as batch normalization, use another name)
    _ebops_beta_attr = "beta"

    def _init_quantization(self, kwargs: dict) -> None:
        kwargs["dtype"] = float32_dtype(kwargs.get("dtype"), type(self).__name__)
        self.qconfig = pop_quantization_kwargs(kwargs)
        self._weight_quantizer_args: dict[str, Any] = {}
        self._input_bits_source: BitsFn | None = None
        self.output_quantizer = None

    @property
    def mode(self) -> str:
        return self.qconfig.mode

    @property
    def hgq(self) -> bool:
        return self.qconfig.mode == "hgq"

    # ---------------------------------------------------------------- quantizers
    def _set_weight_quantizer(self, role: str, quantizer: Any, weight_rank: int, auto_po2: bool = False) -> Any:
        """Parse and remember the quantizer of weight ``role``; returns the QKeras object (or None).

        ``auto_po2``: QKeras' hidden default for kernel-like weights (kernel, depthwise,
        pointwise, recurrent): an alpha=None quantized_bits/binary/ternary becomes 'auto_po2'.
        Call before the Keras base ``__init__`` and pass the weight's constraint and
        initializer through `auto_range`.
        """
        q = get_quantizer(deserialize_quantizer_arg(quantizer))
        if q is not None and not is_quantizer(q) and not isinstance(q, (FixedPointQuantizer, QKerasModeQuantizer)):
            raise ValueError(f"{self.name if hasattr(self, '_name') else type(self).__name__}: "
                             f"{role}_quantizer={quantizer!r} is not a quantizer")
        if auto_po2 and q is not None and hasattr(q, "_set_trainable_parameter"):
            q._set_trainable_parameter()
        if self.hgq and q is not None and not isinstance(q, (FixedPointQuantizer, QKerasModeQuantizer)):
            gran = self.qconfig.granularity
            shared_axes(gran, weight_rank, argument=f"{type(self).__name__} {role}: granularity")
            try:
                q.hgq_spec(gran)  # raises NotImplementedError for non fixed-point quantizers
            except NotImplementedError as e:
                raise NotImplementedError(f"{type(self).__name__} {role}_quantizer: {e}") from e
        self._weight_quantizer_args[role] = (q, weight_rank)
        return q

    @staticmethod
    def auto_range(quantizer: Any, constraint: Any, initializer: Any) -> tuple[Any, Any]:
        """QKeras' automatic Clip constraint and QInitializer for a quantized weight."""
        from ..constraints import get_auto_range_constraint_initializer

        if isinstance(quantizer, (FixedPointQuantizer, QKerasModeQuantizer)):
            return constraint, initializer
        return get_auto_range_constraint_initializer(quantizer, constraint, initializer)

    def _set_activation(self, activation: Any) -> Any:
        """Split ``activation`` into a QKeras quantizer (output quantizer) or a Keras activation."""
        act = get_quantizer(activation)
        if act is not None and is_quantizer(act):
            self._activation_quantizer = act
            if self.hgq:
                act.hgq_spec(self.qconfig.activation_granularity)
            return keras.activations.linear
        self._activation_quantizer = None
        return keras.activations.get(act)

    def _build_quantizers(self, input_shape: tuple) -> None:
        for role, (q, rank) in self._weight_quantizer_args.items():
            layer = None
            if q is not None and getattr(self, role, None) is not None:
                layer = make_quantizer_layer(q, self.mode, self.qconfig.granularity, True, f"{role}_quantizer")
                weight = getattr(self, role)
                layer.build(tuple(weight.shape))
                if isinstance(layer, FixedPointQuantizer) and layer.spec.po2_scale:
                    self._init_po2_bitwidths(layer, q, weight)
            setattr(self, f"{role}_quantizer_internal", layer)
        if getattr(self, "_activation_quantizer", None) is not None:
            self.output_quantizer = make_quantizer_layer(
                self._activation_quantizer, self.mode, self.qconfig.activation_granularity, False, "output_quantizer")
            self.output_quantizer.build(tuple(self.compute_output_shape(input_shape)))
        if self.hgq and self.has_ebops:
            setattr(self, self._ebops_beta_attr, self.add_weight(
                name=self._ebops_beta_attr, shape=(), trainable=False,
                initializer=keras.initializers.Constant(self.qconfig.beta)))
        self._input_feature_shape = tuple(input_shape[1:])

    def _init_po2_bitwidths(self, layer: FixedPointQuantizer, q: Any, weight: Any) -> None:
        from ..core.po2 import po2_fractional_bits

        f = po2_fractional_bits(ops.convert_to_numpy(weight), int(q.bits), int(q.integer), q.scale_axis)
        layer.assign_bitwidths(integer=q.bits - 1 - f, fractional=f)

    def reinitialize_bitwidths(self) -> None:
        """Restart HGQ bitwidths from the QKeras quantizers' values for the current weights."""
        for role, (q, _) in self._weight_quantizer_args.items():
            layer = getattr(self, f"{role}_quantizer_internal", None)
            if isinstance(layer, FixedPointQuantizer) and q is not None and not isinstance(q, FixedPointQuantizer):
                if layer.spec.po2_scale:
                    self._init_po2_bitwidths(layer, q, getattr(self, role))
                else:
                    layer.assign_bitwidths(integer=layer.spec.integer, fractional=layer.spec.fractional)

    @property
    def quantizers(self) -> list:
        """QKeras' list of weight quantizer objects (None where a weight is unquantized)."""
        return [q for q, _ in self._weight_quantizer_args.values()]

    def get_quantizers(self) -> list:
        return self.quantizers

    def weight_roles(self) -> list[str]:
        """Names of the quantizable weights that exist on this layer, in get_weights() order."""
        return [role for role in self._weight_quantizer_args if getattr(self, role, None) is not None]

    def get_prunable_weights(self) -> list:
        return [getattr(self, role) for role in self.weight_roles() if role != "bias"]

    def quantized_weight(self, role: str, training: bool | None = None) -> Any:
        """The weight ``role`` ('kernel', 'bias', ...) after its quantizer."""
        w = getattr(self, role)
        q = getattr(self, f"{role}_quantizer_internal", None)
        return w if q is None else q(w, training=training)

    def _serialize_activation(self) -> Any:
        if getattr(self, "_activation_quantizer", None) is not None:
            return serialize_quantizer(self._activation_quantizer)
        return keras.activations.serialize(getattr(self, "activation", None) or keras.activations.linear)

    def quantize_output(self, y: Any, training: bool | None = None) -> Any:
        if self.output_quantizer is not None:
            return self.output_quantizer(y, training=training)
        act = getattr(self, "activation", None)
        if act is not None and act is not keras.activations.linear:
            return act(y)
        return y

    # ---------------------------------------------------------------- bits and EBOPs
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if args and isinstance(args[0], keras.KerasTensor):
            self._input_bits_source = tensor_bits_source(args[0])
        return super().__call__(*args, **kwargs)

    def input_bits(self) -> Any:
        """Bits per input element (no batch axis), broadcast to the input feature shape."""
        shape = self._input_feature_shape
        if self._input_bits_source is not None:
            return _broadcast_bits(self._input_bits_source(), shape)
        return ops.full(shape, self.qconfig.default_input_bits, dtype="float32")

    def weight_bits(self, role: str, wq: Any) -> Any:
        """Effective bits of weight ``role``: the quantizer's bitwidth, 0 where the weight is 0."""
        q = getattr(self, f"{role}_quantizer_internal", None)
        if q is None:
            bits = ops.full(ops.shape(wq), self.qconfig.default_input_bits, dtype="float32")
        else:
            bits = q.bits()
        return effective_weight_bits(bits, wq)

    def compute_ebops(self) -> Any:
        """EBOPs of this layer for its current weights and bitwidths."""
        return self._ebops(self.input_bits())

    def _ebops(self, input_bits: Any, weights: dict | None = None) -> Any:
        raise NotImplementedError

    def _add_ebops_loss(self, weights: dict, training: bool | None) -> None:
        if training and self.hgq and self.has_ebops:
            self.add_loss(getattr(self, self._ebops_beta_attr) * self._ebops(self.input_bits(), weights))

    # ---------------------------------------------------------------- Keras 2 attributes
    @property
    def input_shape(self) -> Any:
        """Keras 2's ``layer.input_shape``: the input shape with the batch axis (None), of the layer's
        only inbound node (a list of shapes for several inputs). Read-only; tools written for Keras 2
        read it (hls4ml's optimization API, ``hls4ml.optimization``)."""
        return keras.tree.map_structure(lambda t: tuple(t.shape), self.input)

    @property
    def output_shape(self) -> Any:
        """Keras 2's ``layer.output_shape`` (see `input_shape`)."""
        return keras.tree.map_structure(lambda t: tuple(t.shape), self.output)

    # ---------------------------------------------------------------- saving
    def save_own_variables(self, store: Any) -> None:
        keras.layers.Layer.save_own_variables(self, store)

    def load_own_variables(self, store: Any) -> None:
        keras.layers.Layer.load_own_variables(self, store)

    def _quantization_config(self) -> dict:
        config = quantization_config_dict(self.qconfig)
        for role, (q, _) in self._weight_quantizer_args.items():
            config[f"{role}_quantizer"] = _serialize(q)
        return config


def _serialize(q: Any) -> Any:
    if isinstance(q, (FixedPointQuantizer, QKerasModeQuantizer)):
        return keras.saving.serialize_keras_object(q)
    return serialize_quantizer(q)


def deserialize_quantizer_arg(value: Any) -> Any:
    """Inverse of `_serialize` for layer configs."""
    if isinstance(value, dict) and value.get("class_name") in ("FixedPointQuantizer", "QKerasModeQuantizer"):
        return keras.saving.deserialize_keras_object(value)
    return value


def validate_mode(mode: str) -> str:
    return check_choice("mode", mode, MODES)


__all__ = ["QuantizedLayerMixin", "tensor_bits_source", "normalize_granularity", "np"]
