"""Shared machinery of the quantized layers.

A quantized layer declares its quantized weights (kernel, bias, ...) once, in
``quantized_weights`` (`QuantizedWeight`), and has an optional output quantizer
(a QKeras quantizer given as ``activation``), a mode ('qkeras' or 'hgq'), a weight
granularity and an EBOPs weight ``beta``. The bitwidth of its input is read from whatever
quantizer produced that input in the functional graph (through shape-only layers such as
Flatten, Reshape, Dropout and MaxPooling); an input no quantizer produced counts
``default_input_bits`` bits per element.
"""

from __future__ import annotations

import dataclasses
import threading
import weakref
from typing import Any, Callable

import keras
import numpy as np
from keras import ops

from ..core.config import QuantizationConfig, current_config
from ..core.ebops import effective_weight_bits
from ..core.quantizer import FixedPointQuantizer, float32_dtype
from ..core.spec import normalize_granularity, shared_axes
from ..quantizers import (
    QKerasModeQuantizer,
    get_quantizer,
    is_quantizer,
    make_quantizer_layer,
    serialize_quantizer,
)
from ._signature import Parameters, nones, parameters

BitsFn = Callable[[], Any]
_THREAD_LOSSES = threading.local()  # layer -> its add_loss list, per thread (see QuantizedLayerMixin._losses)


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
        cfg = dataclasses.replace(cfg, **changes)
    return cfg


def quantization_config_dict(cfg: QuantizationConfig) -> dict:
    def g(v: Any) -> Any:
        return list(v) if isinstance(v, tuple) else v

    return {
        "mode": cfg.mode,
        "granularity": g(cfg.granularity),
        "activation_granularity": g(cfg.activation_granularity),
        "beta": cfg.beta,
        "default_input_bits": cfg.default_input_bits,
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


@dataclasses.dataclass(frozen=True)
class QuantizedWeight:
    """Declaration of one quantized weight of a layer (a layer lists them in ``quantized_weights``)."""

    role: str  #: the weight's attribute ('kernel', 'depthwise_kernel', 'gamma', ...)
    argument: str  #: QKeras' quantizer argument, attribute and config key ('kernel_quantizer', ...)
    rank: int  #: rank of the weight (checks the granularity)
    auto_po2: bool = False  #: QKeras' hidden 'auto_po2' default of kernel-like weights
    #: prefix of the ``<prefix>_constraint`` / ``<prefix>_initializer`` arguments that get QKeras'
    #: automatic Clip constraint and QInitializer (None: neither)
    auto_range: str | None = None
    #: argument that switches the weight off ('use_bias', 'center', 'scale'; None: always there)
    enabled_by: str | None = None


def kernel_and_bias(
    rank: int, role: str = "kernel", argument: str = "kernel_quantizer", auto_range: str | None = "kernel"
) -> tuple[QuantizedWeight, QuantizedWeight]:
    """The usual ``quantized_weights``: a kernel of rank ``rank`` and a bias (``use_bias``)."""
    return (
        QuantizedWeight(role, argument, rank, auto_po2=True, auto_range=auto_range),
        QuantizedWeight("bias", "bias_quantizer", 1, auto_range=auto_range and "bias", enabled_by="use_bias"),
    )


def kernel_bias_parameters(kernel: str = "kernel", initializer: str = "he_normal") -> Parameters:
    """QKeras' ``activation``, ``use_bias`` and the initializer, regularizer and constraint arguments of a
    kernel (named ``kernel``) and a bias, in QKeras' order (QDense, the convolutions)."""
    return parameters(
        activation=None, use_bias=True, **{f"{kernel}_initializer": initializer, "bias_initializer": "zeros"}
    ) + nones(
        f"{kernel}_regularizer",
        "bias_regularizer",
        "activity_regularizer",
        f"{kernel}_constraint",
        "bias_constraint",
    )


class QuantizedLayerMixin:
    """Mixin for Keras layers with QKeras-style quantizers and HGQ bitwidth training.

    Subclasses list their weights in ``quantized_weights`` and call `_declare_quantized_weights`
    in ``__init__`` (before the Keras base ``__init__``; layers without quantized weights call
    `_init_quantization`), `_build_quantizers` at the end of ``build``, and implement
    `_ebops(input_bits)`.
    """

    has_ebops = True
    quantized_weights: tuple[QuantizedWeight, ...] = ()
    #: attribute holding the EBOPs weight variable (layers with their own ``beta`` weight,
    #: such as batch normalization, use another name)
    _ebops_beta_attr = "beta"

    @property
    def _losses(self) -> list:
        """Keras' ``add_loss`` list, one per thread. tf.distribute replicas trace ``call`` in
        threads of their own that interleave at collectives (the cross-replica range of a
        range-tracking quantizer); with one shared list a replica would read the other's EBOPs
        loss, and lose its own."""
        per_layer = getattr(_THREAD_LOSSES, "lists", None)
        if per_layer is None:
            per_layer = _THREAD_LOSSES.lists = weakref.WeakKeyDictionary()
        return per_layer.setdefault(self, [])

    @_losses.setter
    def _losses(self, value: list) -> None:
        self._losses  # noqa: B018 (creates this thread's table)
        _THREAD_LOSSES.lists[self] = value

    def _init_quantization(self, kwargs: dict) -> None:
        kwargs["dtype"] = float32_dtype(kwargs.get("dtype"), type(self).__name__)
        self.qconfig = pop_quantization_kwargs(kwargs)
        self._weight_quantizer_args: dict[str, Any] = {}
        self._quantizer_arguments: dict[str, str] = {}
        self._input_bits_source: BitsFn | None = None
        self.output_quantizer = None

    @property
    def mode(self) -> str:
        return self.qconfig.mode

    @property
    def hgq(self) -> bool:
        return self.qconfig.mode == "hgq"

    # ---------------------------------------------------------------- quantizers
    @property
    def kernel_role(self) -> str:
        """Name of the weight that plays the kernel ('kernel', or 'depthwise_kernel' for depthwise layers)."""
        return getattr(self, "_kernel_role", "kernel")

    def quantizer_for(self, role: str) -> Any:
        """The quantizer layer of weight ``role`` ('kernel', 'bias', 'depthwise', 'pointwise',
        'recurrent', 'state', ...): `FixedPointQuantizer` (HGQ mode) or `QKerasModeQuantizer`; None
        for an unquantized weight."""
        return getattr(self, f"{role}_quantizer_internal", None)

    def _declare_quantized_weights(self, kwargs: dict, **arguments: Any) -> dict:
        """Start the quantization of this layer (``mode``, ``granularity``, ... taken out of ``kwargs``)
        and declare its ``quantized_weights``: call before the Keras base ``__init__``.

        ``arguments`` are the constructor's arguments by keyword. Each weight's quantizer is taken
        out of them by its QKeras argument name, parsed and stored under that name; the weight's
        initializer and constraint among them get QKeras' automatic Clip constraint and QInitializer.
        Returns the remaining arguments (for the Keras base ``__init__``).
        """
        self._init_quantization(kwargs)
        args = dict(arguments)
        for w in self.quantized_weights:
            q = self._set_weight_quantizer(
                w.role, args.pop(w.argument, None), w.rank, auto_po2=w.auto_po2, argument=w.argument
            )
            setattr(self, w.argument, q)
            if w.auto_range is None or (w.enabled_by is not None and not args[w.enabled_by]):
                continue
            constraint, initializer = f"{w.auto_range}_constraint", f"{w.auto_range}_initializer"
            c, args[initializer] = self.auto_range(q, args.get(constraint), args.get(initializer))
            if constraint in args:
                args[constraint] = c
        return args

    def _set_weight_quantizer(
        self, role: str, quantizer: Any, weight_rank: int, auto_po2: bool = False, argument: str | None = None
    ) -> Any:
        """Parse and remember the quantizer of weight ``role``; returns the QKeras object (or None).

        ``auto_po2``: QKeras' hidden default for kernel-like weights (kernel, depthwise,
        pointwise, recurrent): an alpha=None quantized_bits/binary/ternary becomes 'auto_po2'.
        ``argument``: the config key of the quantizer (default ``<role>_quantizer``).
        Layers declare their weights through `_declare_quantized_weights`, which calls this.
        """
        q = self._parse_quantizer(argument or f"{role}_quantizer", quantizer)
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
        self._quantizer_arguments[role] = argument or f"{role}_quantizer"
        # QKeras' ``<role>_quantizer_internal`` before build: the quantizer object (`_build_quantizers`
        # replaces it by the quantizer layer, whose str() is the QKeras quantizer's)
        object.__setattr__(self, f"{role}_quantizer_internal", q)
        return q

    def _parse_quantizer(self, argument: str, value: Any) -> Any:
        """The quantizer object of constructor argument ``argument`` (a QKeras quantizer, a
        quantizer string or config, a saved quantizer layer, or None)."""
        q = get_quantizer(deserialize_quantizer_arg(value))
        if q is not None and not is_quantizer(q) and not isinstance(q, (FixedPointQuantizer, QKerasModeQuantizer)):
            raise ValueError(
                f"{self.name if hasattr(self, '_name') else type(self).__name__}: "
                f"{argument}={value!r} is not a quantizer"
            )
        return q

    @staticmethod
    def auto_range(quantizer: Any, constraint: Any, initializer: Any) -> tuple[Any, Any]:
        """QKeras' automatic Clip constraint and QInitializer for a quantized weight."""
        from ..constraints import get_auto_range_constraint_initializer

        if isinstance(quantizer, (FixedPointQuantizer, QKerasModeQuantizer)):
            return constraint, initializer
        return get_auto_range_constraint_initializer(quantizer, constraint, initializer)

    def _set_activation(self, activation: Any) -> Any:
        """Split ``activation`` into a QKeras quantizer (output quantizer) or a Keras activation.

        Returns what QKeras holds in ``layer.activation``: the quantizer object (applied through
        ``output_quantizer``), else the Keras activation function."""
        act = get_quantizer(activation)
        if act is not None and is_quantizer(act):
            self._activation_quantizer = act
            if self.hgq:
                act.hgq_spec(self.qconfig.activation_granularity)
            return act  # QKeras' ``layer.activation`` is the quantizer object (`quantize_output` applies it)
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
                self._activation_quantizer, self.mode, self.qconfig.activation_granularity, False, "output_quantizer"
            )
            self.output_quantizer.build(tuple(self.compute_output_shape(input_shape)))
        if self.hgq and self.has_ebops:
            setattr(
                self,
                self._ebops_beta_attr,
                self.add_weight(
                    name=self._ebops_beta_attr,
                    shape=(),
                    trainable=False,
                    initializer=keras.initializers.Constant(self.qconfig.beta),
                ),
            )
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
        if (
            act is not None
            and act is not keras.activations.linear
            and getattr(self, "_activation_quantizer", None) is None
        ):
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
            config[self._quantizer_arguments.get(role, f"{role}_quantizer")] = _serialize(q)
        return config


class QKernelBiasMixin(QuantizedLayerMixin):
    """Shared body of the layers computing ``activation(op(x, q(kernel)) + q(bias))`` (QDense and the
    convolutions): subclasses give ``op`` (`_apply_kernel`) and its EBOPs (`_kernel_ebops`)."""

    def _init_layer(self, arguments: dict, kwargs: dict) -> None:
        """The shared constructor body (`constructor`): ``arguments`` the QKeras arguments by name.

        Declares the quantized weights, runs the Keras base ``__init__`` with the Keras arguments and
        ``kwargs``, keeps QKeras' ``*_range`` arguments (stored and saved, never used) and splits
        ``activation`` into a Keras activation or an output quantizer."""
        arguments = dict(arguments)
        activation = arguments.pop("activation")
        ranges = {key: arguments.pop(key) for key in list(arguments) if key.endswith("_range")}
        if "data_format" in arguments:
            arguments["data_format"] = arguments["data_format"] or "channels_last"
        kwargs.pop("quantization_config", None)  # Keras 3's Dense key (QKeras has none)
        keras_args = self._declare_quantized_weights(kwargs, activation=None, **arguments)
        super(QKernelBiasMixin, self).__init__(**keras_args, **kwargs)  # the Keras layer's __init__
        self._finish_init(activation, ranges)

    def _finish_init(self, activation: Any, ranges: dict) -> None:
        """After the Keras base ``__init__``: keep the ``*_range`` arguments and split ``activation``."""
        for key, value in ranges.items():
            setattr(self, key, value)
        self._range_keys = tuple(ranges)
        self.activation = self._set_activation(activation)

    def build(self, input_shape: tuple) -> None:
        super().build(input_shape)
        self._build_quantizers(input_shape)

    def _apply_kernel(self, inputs: Any, kernel: Any) -> Any:
        raise NotImplementedError

    def _kernel_ebops(self, input_bits: Any, kernel_bits: Any, bias_bits: Any) -> Any:
        raise NotImplementedError

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        kq = self.quantized_weight("kernel", training)
        y = self._apply_kernel(inputs, kq)
        bq = None
        if self.use_bias:
            bq = self.quantized_weight("bias", training)
            y = ops.add(y, bq)
        self._add_ebops_loss({"kernel": kq, "bias": bq}, training)
        return self.quantize_output(y, training)

    def _ebops(self, input_bits: Any, weights: dict | None = None) -> Any:
        if weights is None:
            weights = {
                "kernel": self.quantized_weight("kernel"),
                "bias": self.quantized_weight("bias") if self.use_bias else None,
            }
        bias_bits = self.weight_bits("bias", weights["bias"]) if self.use_bias else None
        return self._kernel_ebops(input_bits, self.weight_bits("kernel", weights["kernel"]), bias_bits)

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("quantization_config", None)  # Keras 3's Dense key (QKeras has none)
        config["activation"] = self._serialize_activation()
        config.update(self._quantization_config())
        config.update({key: getattr(self, key) for key in self._range_keys})
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


__all__ = [
    "QuantizedLayerMixin",
    "QKernelBiasMixin",
    "QuantizedWeight",
    "kernel_and_bias",
    "weight_quantizer",
    "tensor_bits_source",
    "normalize_granularity",
    "np",
]


def weight_quantizer(layer: Any, role: str) -> Any:
    """`QuantizedLayerMixin.quantizer_for` of any layer: None for a layer that is not quantized.
    (The method is not called ``weight_quantizer``: QScaleShift has a QKeras attribute of that name.)"""
    return layer.quantizer_for(role) if isinstance(layer, QuantizedLayerMixin) else None
