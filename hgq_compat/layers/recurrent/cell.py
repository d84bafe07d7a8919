"""Shared machinery of the quantized recurrent cells (QKeras ``qrecurrent``): activation
resolution and `QRecurrentCellMixin`, the weight/state quantizers, per-step weights, EBOPs and
config that QSimpleRNNCell, QLSTMCell and QGRUCell share.

The cells subclass the Keras 3 cells and keep QKeras' arithmetic (QKeras 0.9.0 ``qrecurrent``):
the previous states are passed through ``state_quantizer`` before use (both h and c for the
LSTM), the kernel, recurrent kernel and bias through their quantizers, and the activations may
be QKeras quantizers (``'quantized_tanh(4)'``) or functions. As in QKeras, a string
``'hard_sigmoid'`` (the default recurrent activation) means QKeras' ``clip(0.5 x + 0.5, 0, 1)``,
not the Keras 3 ``hard_sigmoid`` (slope 1/6).

HGQ mode (``mode='hgq'``): kernel, recurrent kernel, bias and state quantizers become trainable
fixed-point quantizers (per element by default); the activation quantizers inside the cell keep
QKeras numbers (fixed bitwidths).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from ...core.ebops import recurrent_ebops
from ...core.quantizer import FixedPointQuantizer
from ...quantizers import QKerasModeQuantizer, get_quantizer, is_quantizer, make_quantizer_layer, serialize_quantizer
from ...quantizers.functions import QKERAS_FUNCTIONS
from .._signature import Parameters, nones, parameters
from ..base import QuantizedLayerMixin, _serialize, deserialize_quantizer_arg, quantization_config_dict


def resolve_activation(identifier: Any) -> tuple[Any, Any]:
    """(callable or QKeras quantizer, serializable identifier) of a recurrent-layer activation.

    Names of QKeras' own functions (``'hard_sigmoid'``, ...) resolve to QKeras' definitions, as
    in QKeras (whose ``get_quantizer`` evaluates names in its own module first).
    """
    if identifier is None:
        return keras.activations.linear, None
    if (
        isinstance(identifier, dict)
        and identifier.get("class_name") == "function"
        and identifier.get("config") in QKERAS_FUNCTIONS
    ):
        identifier = identifier["config"]
    if isinstance(identifier, str) and identifier in QKERAS_FUNCTIONS:
        return QKERAS_FUNCTIONS[identifier], identifier
    if (
        callable(identifier)
        and getattr(identifier, "__name__", None) in QKERAS_FUNCTIONS
        and QKERAS_FUNCTIONS[identifier.__name__] is identifier
    ):
        return identifier, identifier.__name__
    act = get_quantizer(identifier)
    if is_quantizer(act):
        return act, serialize_quantizer(act)
    act = keras.activations.get(act)
    return act, keras.activations.serialize(act)


def _apply_activation(act: Any, x: Any, training: Any) -> Any:
    if is_quantizer(act):
        return act.quantize(x, training=bool(training))
    return act(x)


_QUANTIZER_ARGUMENTS = ("kernel_quantizer", "recurrent_quantizer", "bias_quantizer", "state_quantizer")


def cell_parameters(gated: bool, after_initializers: Parameters = (), last: Parameters = ()) -> Parameters:
    """QKeras' arguments of a cell: ``units``, ``activation`` (and ``recurrent_activation`` when
    ``gated``), ``use_bias``, the initializers, ``after_initializers``, the regularizers, constraints and
    quantizers, the dropouts, ``last``, and Keras 3's ``seed``."""
    activations = {"activation": "quantized_tanh", **({"recurrent_activation": "hard_sigmoid"} if gated else {})}
    return (
        parameters("units", **activations, use_bias=True)
        + parameters(kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros")
        + after_initializers
        + nones(*(f"{w}_regularizer" for w in ("kernel", "recurrent", "bias")))
        + nones(*(f"{w}_constraint" for w in ("kernel", "recurrent", "bias")))
        + nones(*_QUANTIZER_ARGUMENTS)
        + parameters(dropout=0.0, recurrent_dropout=0.0)
        + last
        + nones("seed")
    )


class QRecurrentCellMixin(QuantizedLayerMixin):
    """Shared body of the quantized cells: weight and state quantizers, activations, EBOPs."""

    def _init_cell(self, arguments: dict, kwargs: dict) -> None:
        """The shared constructor body of the cells (`constructor`): ``arguments`` the QKeras arguments.

        Parses the quantizers (before the Keras cell ``__init__``), applies QKeras' automatic Clip
        constraints and QInitializers, runs the Keras cell ``__init__`` and resolves the activations."""
        arguments = dict(arguments)
        activations = {key: arguments.pop(key) for key in ("activation", "recurrent_activation") if key in arguments}
        quantizers = {key: arguments.pop(key) for key in _QUANTIZER_ARGUMENTS}
        if "implementation" in arguments:
            implementation = arguments["implementation"]
            if implementation not in (0, 1, 2):
                raise ValueError(f"implementation={implementation!r} is not accepted; accepted values: 1, 2")
            arguments["implementation"] = max(int(implementation), 1)
        self._init_quantization(kwargs)
        kwargs.pop("quantization_config", None)
        self._set_cell_quantizers(2 if arguments.get("reset_after") else 1, **quantizers)
        for weight, quantizer in (("kernel", "kernel"), ("recurrent", "recurrent_kernel"), ("bias", "bias")):
            if weight == "bias" and not arguments["use_bias"]:
                continue
            constraint, initializer = f"{weight}_constraint", f"{weight}_initializer"
            arguments[constraint], arguments[initializer] = self.auto_range(
                self._parsed(quantizer), arguments[constraint], arguments[initializer]
            )
        super(QRecurrentCellMixin, self).__init__(**dict.fromkeys(activations), **arguments, **kwargs)
        self._set_activations(**activations)

    def _set_cell_quantizers(
        self,
        bias_rank: int,
        kernel_quantizer: Any,
        recurrent_quantizer: Any,
        bias_quantizer: Any,
        state_quantizer: Any,
    ) -> None:
        """Parse the weight and state quantizers (before the Keras cell ``__init__``)."""
        self._set_weight_quantizer("kernel", kernel_quantizer, 2, auto_po2=True)
        self._set_weight_quantizer("recurrent_kernel", recurrent_quantizer, 2, auto_po2=True)
        self._set_weight_quantizer("bias", bias_quantizer, bias_rank)
        try:
            sq = get_quantizer(deserialize_quantizer_arg(state_quantizer))
        except ValueError as err:
            raise ValueError(f"{type(self).__name__}: state_quantizer={state_quantizer!r}: {err}") from None
        if sq is not None and not is_quantizer(sq) and not isinstance(sq, (FixedPointQuantizer, QKerasModeQuantizer)):
            raise ValueError(f"{type(self).__name__}: state_quantizer={state_quantizer!r} is not a quantizer")
        if self.hgq and is_quantizer(sq):
            spec = sq.hgq_spec(self.qconfig.activation_granularity)
            if spec.range_tracking:
                raise NotImplementedError(
                    f"{type(self).__name__}: state_quantizer={sq} would need range tracking (WRAP) in HGQ mode, "
                    "which is not supported inside a recurrent loop; use a saturating quantizer or mode='qkeras'"
                )
        self._state_quantizer = sq
        object.__setattr__(self, "state_quantizer_internal", sq)  # the quantizer layer once built
        # as QKeras, kernel_quantizer, ... hold the arguments as given (a string, a dict from a config, an
        # object); the parsed quantizers are `quantizers` and, once built, drive *_quantizer_internal
        for name, value in (
            ("kernel_quantizer", kernel_quantizer),
            ("recurrent_quantizer", recurrent_quantizer),
            ("bias_quantizer", bias_quantizer),
            ("state_quantizer", state_quantizer),
        ):
            object.__setattr__(self, name, value)

    def _set_activations(self, activation: Any, **recurrent: Any) -> None:
        """``activation`` and, for the cells that have one, ``recurrent_activation`` (by keyword)."""
        self.activation, self._activation_config = resolve_activation(activation)
        if recurrent:
            recurrent_activation = recurrent["recurrent_activation"]
            self.recurrent_activation, self._recurrent_activation_config = resolve_activation(recurrent_activation)
        object.__setattr__(self, "_cached_weights", None)

    def build(self, input_shape: tuple) -> None:
        super().build(input_shape)
        self._build_quantizers(input_shape)
        self.state_quantizer_internal = None
        if self._state_quantizer is not None:
            layer = make_quantizer_layer(
                self._state_quantizer, self.mode, self.qconfig.activation_granularity, False, "state_quantizer"
            )
            layer.build((None, self.units))
            self.state_quantizer_internal = layer

    # ---------------------------------------------------------------- helpers used by call
    @property
    def quantizers(self) -> list:
        """QKeras' list: kernel, recurrent, bias and state quantizer objects (None where absent)."""
        return [q for q, _ in self._weight_quantizer_args.values()] + [self._state_quantizer]

    def _parsed(self, role: str) -> Any:
        """The parsed quantizer of ``role`` ('kernel', 'recurrent_kernel', 'bias', 'state'), or None."""
        if role == "state":
            return self._state_quantizer
        return self._weight_quantizer_args[role][0]

    @property
    def recurrent_quantizer_internal(self) -> Any:
        return getattr(self, "recurrent_kernel_quantizer_internal", None)

    def quantized_weights(self, training: Any = None) -> dict:
        """Quantized kernel, recurrent kernel and bias (None without bias)."""
        return {
            "kernel": self.quantized_weight("kernel", training),
            "recurrent_kernel": self.quantized_weight("recurrent_kernel", training),
            "bias": self.quantized_weight("bias", training) if self.use_bias else None,
        }

    def _step_weights(self, training: Any) -> dict:
        cached = getattr(self, "_cached_weights", None)
        return cached if cached is not None else self.quantized_weights(training)

    def _quantize_state(self, x: Any, training: Any) -> Any:
        q = getattr(self, "state_quantizer_internal", None)
        return x if q is None else q(x, training=training)

    def _act(self, x: Any, training: Any) -> Any:
        return _apply_activation(self.activation, x, training)

    def _ract(self, x: Any, training: Any) -> Any:
        return _apply_activation(self.recurrent_activation, x, training)

    # ---------------------------------------------------------------- EBOPs
    def state_bits(self) -> Any:
        """Bits per element of the state that multiplies the recurrent kernel, shape (units,)."""
        q = getattr(self, "state_quantizer_internal", None)
        if q is None:
            return ops.full((self.units,), self.qconfig.default_input_bits, dtype="float32")
        return ops.broadcast_to(ops.reshape(ops.cast(q.bits(), "float32"), (-1,)), (self.units,))

    def _ebops(self, input_bits: Any, weights: dict | None = None, timesteps: Any = 1) -> Any:
        """EBOPs of ``timesteps`` steps; ``input_bits`` (n_in,) or (T, n_in) (one row per step)."""
        if weights is None:
            weights = self.quantized_weights()
        bias_bits = self.weight_bits("bias", weights["bias"]) if self.use_bias else None
        return recurrent_ebops(
            input_bits,
            self.weight_bits("kernel", weights["kernel"]),
            self.state_bits(),
            self.weight_bits("recurrent_kernel", weights["recurrent_kernel"]),
            bias_bits,
            timesteps,
        )

    # ---------------------------------------------------------------- config
    def _cell_config(self, extra: dict) -> dict:
        config = keras.layers.Layer.get_config(self)
        config.update(
            {
                "units": self.units,
                "activation": self._activation_config,
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
                "recurrent_regularizer": keras.regularizers.serialize(self.recurrent_regularizer),
                "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
                "kernel_constraint": keras.constraints.serialize(self.kernel_constraint),
                "recurrent_constraint": keras.constraints.serialize(self.recurrent_constraint),
                "bias_constraint": keras.constraints.serialize(self.bias_constraint),
                "kernel_quantizer": _serialize(self._parsed("kernel")),
                "recurrent_quantizer": _serialize(self._parsed("recurrent_kernel")),
                "bias_quantizer": _serialize(self._parsed("bias")),
                "state_quantizer": _serialize(self._parsed("state")),
                "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout,
                "seed": self.seed,
            }
        )
        config.update(extra)
        config.update(quantization_config_dict(self.qconfig))
        return config

    def get_quantization_config(self) -> dict:
        config = {
            "kernel_quantizer": str(self._parsed("kernel")),
            "recurrent_quantizer": str(self._parsed("recurrent_kernel")),
            "bias_quantizer": str(self._parsed("bias")),
            "state_quantizer": str(self._parsed("state")),
            "activation": str(self._activation_config),
        }
        if hasattr(self, "_recurrent_activation_config"):
            config["recurrent_activation"] = str(self._recurrent_activation_config)
        return config


__all__ = ["QRecurrentCellMixin", "resolve_activation"]
