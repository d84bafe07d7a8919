"""Quantized recurrent layers (QKeras ``qrecurrent``): QSimpleRNN, QLSTM, QGRU, their cells,
and QBidirectional.

The cells subclass the Keras 3 cells and keep QKeras' arithmetic (QKeras 0.9.0 ``qrecurrent``):
the previous states are passed through ``state_quantizer`` before use (both h and c for the
LSTM), the kernel, recurrent kernel and bias through their quantizers, and the activations may
be QKeras quantizers (``'quantized_tanh(4)'``) or functions. As in QKeras, a string
``'hard_sigmoid'`` (the default recurrent activation) means QKeras' ``clip(0.5 x + 0.5, 0, 1)``,
not the Keras 3 ``hard_sigmoid`` (slope 1/6).

QSimpleRNN and QGRU crash in QKeras 0.9.0 under tf-keras; here they compute what QKeras'
code intends, with QLSTM's conventions (QKeras' QGRU uses the *kernel* as recurrent kernel when
no recurrent quantizer is given: a bug, not reproduced here).

The layers (QSimpleRNN, QLSTM, QGRU) quantize the weights once per call, outside the time
loop, and add the EBOPs loss (HGQ mode) there: per time step, input bits x kernel bits plus
state bits x recurrent-kernel bits plus the bias bits (`recurrent_ebops`). The state bits are
the state quantizer's bitwidths, or ``default_input_bits`` without a state quantizer.

HGQ mode (``mode='hgq'``): kernel, recurrent kernel, bias and state quantizers become trainable
fixed-point quantizers (per element by default); the activation quantizers inside the cell keep
QKeras numbers (fixed bitwidths).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from ..core.ebops import recurrent_ebops
from ..core.quantizer import FixedPointQuantizer
from ..quantizers import (QKerasModeQuantizer, get_quantizer, is_quantizer, make_quantizer_layer,
                          serialize_quantizer)
from ..quantizers.functions import QKERAS_FUNCTIONS, hard_sigmoid
from .base import QuantizedLayerMixin, _serialize, deserialize_quantizer_arg, quantization_config_dict


# ---------------------------------------------------------------------------- activations


def resolve_activation(identifier: Any) -> tuple[Any, Any]:
    """(callable or QKeras quantizer, serializable identifier) of a recurrent-layer activation.

    Names of QKeras' own functions (``'hard_sigmoid'``, ...) resolve to QKeras' definitions, as
    in QKeras (whose ``get_quantizer`` evaluates names in its own module first).
    """
    if identifier is None:
        return keras.activations.linear, None
    if isinstance(identifier, dict) and identifier.get("class_name") == "function" \
            and identifier.get("config") in QKERAS_FUNCTIONS:
        identifier = identifier["config"]
    if isinstance(identifier, str) and identifier in QKERAS_FUNCTIONS:
        return QKERAS_FUNCTIONS[identifier], identifier
    if callable(identifier) and getattr(identifier, "__name__", None) in QKERAS_FUNCTIONS \
            and QKERAS_FUNCTIONS[identifier.__name__] is identifier:
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


# ---------------------------------------------------------------------------- cells

class QRecurrentCellMixin(QuantizedLayerMixin):
    """Shared body of the quantized cells: weight and state quantizers, activations, EBOPs."""

    def _setup_cell_quantizers(self, kwargs: dict, use_bias: bool, bias_rank: int, kernel_quantizer: Any,
                               recurrent_quantizer: Any, bias_quantizer: Any, state_quantizer: Any,
                               weight_args: dict) -> dict:
        """Parse the quantizers before the Keras cell ``__init__``; returns the weight arguments
        with QKeras' automatic Clip constraints and QInitializers applied."""
        self._init_quantization(kwargs)
        kwargs.pop("quantization_config", None)
        kq = self._set_weight_quantizer("kernel", kernel_quantizer, 2, auto_po2=True)
        rq = self._set_weight_quantizer("recurrent_kernel", recurrent_quantizer, 2, auto_po2=True)
        bq = self._set_weight_quantizer("bias", bias_quantizer, bias_rank)
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
                    "which is not supported inside a recurrent loop; use a saturating quantizer or mode='qkeras'")
        self._state_quantizer = sq
        object.__setattr__(self, "state_quantizer_internal", sq)  # the quantizer layer once built
        # as QKeras, kernel_quantizer, ... hold the arguments as given (a string, a dict from a config, an
        # object); the parsed quantizers are `quantizers` and, once built, drive *_quantizer_internal
        for name, value in (("kernel_quantizer", kernel_quantizer), ("recurrent_quantizer", recurrent_quantizer),
                            ("bias_quantizer", bias_quantizer), ("state_quantizer", state_quantizer)):
            object.__setattr__(self, name, value)
        args = dict(weight_args)
        args["kernel_constraint"], args["kernel_initializer"] = self.auto_range(
            kq, args["kernel_constraint"], args["kernel_initializer"])
        args["recurrent_constraint"], args["recurrent_initializer"] = self.auto_range(
            rq, args["recurrent_constraint"], args["recurrent_initializer"])
        if use_bias:
            args["bias_constraint"], args["bias_initializer"] = self.auto_range(
                bq, args["bias_constraint"], args["bias_initializer"])
        return args

    def _set_activations(self, activation: Any, recurrent_activation: Any = None, has_recurrent: bool = False) -> None:
        self.activation, self._activation_config = resolve_activation(activation)
        if has_recurrent:
            self.recurrent_activation, self._recurrent_activation_config = resolve_activation(recurrent_activation)
        object.__setattr__(self, "_cached_weights", None)

    def build(self, input_shape: tuple) -> None:
        super().build(input_shape)
        self._build_quantizers(input_shape)
        self.state_quantizer_internal = None
        if self._state_quantizer is not None:
            layer = make_quantizer_layer(self._state_quantizer, self.mode, self.qconfig.activation_granularity, False,
                                         "state_quantizer")
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
        return recurrent_ebops(input_bits, self.weight_bits("kernel", weights["kernel"]), self.state_bits(),
                               self.weight_bits("recurrent_kernel", weights["recurrent_kernel"]), bias_bits,
                               timesteps)

    # ---------------------------------------------------------------- config
    def _cell_config(self, extra: dict) -> dict:
        config = keras.layers.Layer.get_config(self)
        config.update({
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
        })
        config.update(extra)
        config.update(quantization_config_dict(self.qconfig))
        return config

    def get_quantization_config(self) -> dict:
        config = {"kernel_quantizer": str(self._parsed("kernel")), "recurrent_quantizer": str(self._parsed("recurrent_kernel")),
                  "bias_quantizer": str(self._parsed("bias")), "state_quantizer": str(self._parsed("state")),
                  "activation": str(self._activation_config)}
        if hasattr(self, "_recurrent_activation_config"):
            config["recurrent_activation"] = str(self._recurrent_activation_config)
        return config


def _weight_args(kernel_initializer: Any, recurrent_initializer: Any, bias_initializer: Any, kernel_constraint: Any,
                 recurrent_constraint: Any, bias_constraint: Any) -> dict:
    return {"kernel_initializer": kernel_initializer, "recurrent_initializer": recurrent_initializer,
            "bias_initializer": bias_initializer, "kernel_constraint": kernel_constraint,
            "recurrent_constraint": recurrent_constraint, "bias_constraint": bias_constraint}


@keras.saving.register_keras_serializable(package="hgq_compat")
class QSimpleRNNCell(QRecurrentCellMixin, keras.layers.SimpleRNNCell):
    """SimpleRNN cell with quantized kernel, recurrent kernel, bias and state (QKeras ``QSimpleRNNCell``).

    ``h_t = activation(x_t @ Q(W) + Q(b) + Qs(h_{t-1}) @ Q(U))``.
    """

    def __init__(self, units: int, activation: Any = "quantized_tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, kernel_quantizer: Any = None, recurrent_quantizer: Any = None,
                 bias_quantizer: Any = None, state_quantizer: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: Any = None, **kwargs: Any):
        args = self._setup_cell_quantizers(
            kwargs, use_bias, 1, kernel_quantizer, recurrent_quantizer, bias_quantizer, state_quantizer,
            _weight_args(kernel_initializer, recurrent_initializer, bias_initializer, kernel_constraint,
                         recurrent_constraint, bias_constraint))
        super().__init__(units, activation=None, use_bias=use_bias, kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                         dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed, **args, **kwargs)
        self._set_activations(activation)

    def call(self, inputs: Any, states: Any, training: Any = False) -> Any:
        prev_output = states[0] if isinstance(states, (list, tuple)) else states
        w = self._step_weights(training)
        h_prev = self._quantize_state(prev_output, training)
        if training and 0.0 < self.dropout < 1.0:
            inputs = inputs * self.get_dropout_mask(inputs)
        h = ops.matmul(inputs, w["kernel"])
        if self.use_bias:
            h = h + w["bias"]
        if training and 0.0 < self.recurrent_dropout < 1.0:
            h_prev = h_prev * self.get_recurrent_dropout_mask(prev_output)
        output = self._act(h + ops.matmul(h_prev, w["recurrent_kernel"]), training)
        return output, [output]

    def get_config(self) -> dict:
        return self._cell_config({})


@keras.saving.register_keras_serializable(package="hgq_compat")
class QLSTMCell(QRecurrentCellMixin, keras.layers.LSTMCell):
    """LSTM cell with quantized kernel, recurrent kernel, bias and states (QKeras ``QLSTMCell``).

    Both previous states (h and c) pass through ``state_quantizer`` before use.
    """

    def __init__(self, units: int, activation: Any = "quantized_tanh", recurrent_activation: Any = "hard_sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, kernel_quantizer: Any = None, recurrent_quantizer: Any = None,
                 bias_quantizer: Any = None, state_quantizer: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, implementation: int = 1, seed: Any = None, **kwargs: Any):
        if implementation not in (0, 1, 2):
            raise ValueError(f"implementation={implementation!r} is not accepted; accepted values: 1, 2")
        args = self._setup_cell_quantizers(
            kwargs, use_bias, 1, kernel_quantizer, recurrent_quantizer, bias_quantizer, state_quantizer,
            _weight_args(kernel_initializer, recurrent_initializer, bias_initializer, kernel_constraint,
                         recurrent_constraint, bias_constraint))
        super().__init__(units, activation=None, recurrent_activation=None, use_bias=use_bias,
                         unit_forget_bias=unit_forget_bias, kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                         dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed,
                         implementation=max(int(implementation), 1), **args, **kwargs)
        self._set_activations(activation, recurrent_activation, has_recurrent=True)

    def call(self, inputs: Any, states: Any, training: Any = False) -> Any:
        w = self._step_weights(training)
        h_tm1 = self._quantize_state(states[0], training)
        c_tm1 = self._quantize_state(states[1], training)
        k, rk, b = w["kernel"], w["recurrent_kernel"], w["bias"]
        u = self.units
        if self.implementation == 1:
            if training and 0.0 < self.dropout < 1.0:
                dp = self.get_dropout_mask(inputs)
                xs = [inputs * dp[j] for j in range(4)]
            else:
                xs = [inputs] * 4
            ks = ops.split(k, 4, axis=1)
            x = [ops.matmul(xs[j], ks[j]) for j in range(4)]
            if self.use_bias:
                bs = ops.split(b, 4, axis=0)
                x = [x[j] + bs[j] for j in range(4)]
            if training and 0.0 < self.recurrent_dropout < 1.0:
                rdp = self.get_recurrent_dropout_mask(h_tm1)
                hs = [h_tm1 * rdp[j] for j in range(4)]
            else:
                hs = [h_tm1] * 4
            i = self._ract(x[0] + ops.matmul(hs[0], rk[:, :u]), training)
            f = self._ract(x[1] + ops.matmul(hs[1], rk[:, u:2 * u]), training)
            c = f * c_tm1 + i * self._act(x[2] + ops.matmul(hs[2], rk[:, 2 * u:3 * u]), training)
            o = self._ract(x[3] + ops.matmul(hs[3], rk[:, 3 * u:]), training)
        else:
            if training and 0.0 < self.dropout < 1.0:
                inputs = inputs * self.get_dropout_mask(inputs)
            z = ops.matmul(inputs, k)
            z = z + ops.matmul(h_tm1, rk)
            if self.use_bias:
                z = z + b
            z0, z1, z2, z3 = ops.split(z, 4, axis=1)
            i = self._ract(z0, training)
            f = self._ract(z1, training)
            c = f * c_tm1 + i * self._act(z2, training)
            o = self._ract(z3, training)
        h = o * self._act(c, training)
        return h, [h, c]

    def get_config(self) -> dict:
        return self._cell_config({"recurrent_activation": self._recurrent_activation_config,
                                  "unit_forget_bias": self.unit_forget_bias,
                                  "implementation": self.implementation})


@keras.saving.register_keras_serializable(package="hgq_compat")
class QGRUCell(QRecurrentCellMixin, keras.layers.GRUCell):
    """GRU cell with quantized kernel, recurrent kernel, bias and state (QKeras ``QGRUCell``).

    QKeras defaults: ``reset_after=False``, ``recurrent_activation='hard_sigmoid'`` (QKeras').
    ``h_t = z * Qs(h_{t-1}) + (1 - z) * hh``.
    """

    def __init__(self, units: int, activation: Any = "quantized_tanh", recurrent_activation: Any = "hard_sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None, bias_constraint: Any = None,
                 kernel_quantizer: Any = None, recurrent_quantizer: Any = None, bias_quantizer: Any = None,
                 state_quantizer: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 implementation: int = 1, reset_after: bool = False, seed: Any = None, **kwargs: Any):
        if implementation not in (0, 1, 2):
            raise ValueError(f"implementation={implementation!r} is not accepted; accepted values: 1, 2")
        args = self._setup_cell_quantizers(
            kwargs, use_bias, 2 if reset_after else 1, kernel_quantizer, recurrent_quantizer, bias_quantizer,
            state_quantizer, _weight_args(kernel_initializer, recurrent_initializer, bias_initializer,
                                          kernel_constraint, recurrent_constraint, bias_constraint))
        super().__init__(units, activation=None, recurrent_activation=None, use_bias=use_bias,
                         kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, dropout=dropout, recurrent_dropout=recurrent_dropout,
                         reset_after=reset_after, seed=seed, implementation=max(int(implementation), 1),
                         **args, **kwargs)
        self._set_activations(activation, recurrent_activation, has_recurrent=True)

    def call(self, inputs: Any, states: Any, training: Any = False) -> Any:
        h_prev = states[0] if isinstance(states, (list, tuple)) else states
        w = self._step_weights(training)
        h_tm1 = self._quantize_state(h_prev, training)
        k, rk = w["kernel"], w["recurrent_kernel"]
        u = self.units
        input_bias = recurrent_bias = None
        if self.use_bias:
            if not self.reset_after:
                input_bias = w["bias"]
            else:
                input_bias, recurrent_bias = w["bias"][0], w["bias"][1]
        if self.implementation == 1:
            if training and 0.0 < self.dropout < 1.0:
                dp = self.get_dropout_mask(inputs)
                xs = [inputs * dp[j] for j in range(3)]
            else:
                xs = [inputs] * 3
            x_z = ops.matmul(xs[0], k[:, :u])
            x_r = ops.matmul(xs[1], k[:, u:2 * u])
            x_h = ops.matmul(xs[2], k[:, 2 * u:])
            if self.use_bias:
                x_z = x_z + input_bias[:u]
                x_r = x_r + input_bias[u:2 * u]
                x_h = x_h + input_bias[2 * u:]
            if training and 0.0 < self.recurrent_dropout < 1.0:
                rdp = self.get_recurrent_dropout_mask(h_prev)
                hs = [h_tm1 * rdp[j] for j in range(3)]
            else:
                hs = [h_tm1] * 3
            recurrent_z = ops.matmul(hs[0], rk[:, :u])
            recurrent_r = ops.matmul(hs[1], rk[:, u:2 * u])
            if self.reset_after and self.use_bias:
                recurrent_z = recurrent_z + recurrent_bias[:u]
                recurrent_r = recurrent_r + recurrent_bias[u:2 * u]
            z = self._ract(x_z + recurrent_z, training)
            r = self._ract(x_r + recurrent_r, training)
            if self.reset_after:
                recurrent_h = ops.matmul(hs[2], rk[:, 2 * u:])
                if self.use_bias:
                    recurrent_h = recurrent_h + recurrent_bias[2 * u:]
                recurrent_h = r * recurrent_h
            else:
                recurrent_h = ops.matmul(r * hs[2], rk[:, 2 * u:])
        else:
            if training and 0.0 < self.dropout < 1.0:
                inputs = inputs * self.get_dropout_mask(inputs)
            matrix_x = ops.matmul(inputs, k)
            if self.use_bias:
                matrix_x = matrix_x + input_bias
            x_z, x_r, x_h = ops.split(matrix_x, 3, axis=-1)
            if self.reset_after:
                matrix_inner = ops.matmul(h_tm1, rk)
                if self.use_bias:
                    matrix_inner = matrix_inner + recurrent_bias
                recurrent_z, recurrent_r, recurrent_h = ops.split(matrix_inner, 3, axis=-1)
            else:
                matrix_inner = ops.matmul(h_tm1, rk[:, :2 * u])
                recurrent_z, recurrent_r = ops.split(matrix_inner, 2, axis=-1)
            z = self._ract(x_z + recurrent_z, training)
            r = self._ract(x_r + recurrent_r, training)
            if self.reset_after:
                recurrent_h = r * recurrent_h
            else:
                recurrent_h = ops.matmul(r * h_tm1, rk[:, 2 * u:])
        hh = self._act(x_h + recurrent_h, training)
        h = z * h_tm1 + (1.0 - z) * hh
        return h, [h]

    def get_config(self) -> dict:
        return self._cell_config({"recurrent_activation": self._recurrent_activation_config,
                                  "implementation": self.implementation, "reset_after": self.reset_after})


# ---------------------------------------------------------------------------- layers

_DELEGATED = (
    "units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer",
    "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "kernel_constraint", "recurrent_constraint",
    "bias_constraint", "kernel_quantizer", "recurrent_quantizer", "bias_quantizer", "state_quantizer",
    "kernel_quantizer_internal", "recurrent_quantizer_internal", "bias_quantizer_internal",
    "state_quantizer_internal", "dropout", "recurrent_dropout",
)


def _delegate(name: str) -> property:
    return property(lambda self: getattr(self.cell, name), doc=f"The cell's ``{name}``.")


class QRNNBase(QuantizedLayerMixin, keras.layers.RNN):
    """Shared body of QSimpleRNN, QLSTM and QGRU: a Keras RNN around a quantized cell that
    quantizes the weights once per call and adds the EBOPs loss (HGQ mode)."""

    def _pop_rnn_kwargs(self, kwargs: dict, stateful: bool) -> dict:
        """Quantization and legacy keyword arguments; returns the keyword arguments for the cell."""
        self._init_quantization(kwargs)
        kwargs.pop("quantization_config", None)
        if kwargs.pop("time_major", False):
            raise NotImplementedError(f"{type(self).__name__}: time_major=True is not supported (Keras 3 RNNs are "
                                      "batch-major); transpose the input instead")
        kwargs.pop("enable_caching_device", None)
        kwargs.pop("cell", None)
        if stateful and self.hgq:
            raise NotImplementedError(f"{type(self).__name__}: stateful=True is not supported with mode='hgq'")
        cell_kwargs = quantization_config_dict(self.qconfig)
        cell_kwargs["seed"] = kwargs.pop("seed", None)
        cell_kwargs["dtype"] = kwargs.get("dtype")
        cell_kwargs["trainable"] = kwargs.get("trainable", True)
        return cell_kwargs

    def _finish_rnn_init(self, cell: Any, return_sequences: bool, return_state: bool, go_backwards: bool,
                         stateful: bool, unroll: bool, activity_regularizer: Any, kwargs: dict) -> None:
        keras.layers.RNN.__init__(self, cell, return_sequences=return_sequences, return_state=return_state,
                                  go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                                  activity_regularizer=activity_regularizer, **kwargs)
        self.input_spec = keras.layers.InputSpec(ndim=3)

    def build(self, sequences_shape: tuple, initial_state_shape: Any = None) -> None:
        super().build(sequences_shape, initial_state_shape)
        self.cell.has_ebops = False  # counted (over all time steps) by this layer
        self._input_feature_shape = tuple(sequences_shape[1:])

    def call(self, sequences: Any, initial_state: Any = None, mask: Any = None, training: Any = False) -> Any:
        cell = self.cell
        weights = cell.quantized_weights(training)
        object.__setattr__(cell, "_cached_weights", weights)
        try:
            output = super().call(sequences, initial_state=initial_state, mask=mask, training=training)
        finally:
            object.__setattr__(cell, "_cached_weights", None)
        if training and self.hgq:
            steps = sequences.shape[1] if sequences.shape[1] is not None else ops.shape(sequences)[1]
            self.add_loss(cell.beta * cell._ebops(self.input_bits(), weights, steps))
        return output

    # ---------------------------------------------------------------- quantization API
    def input_bits(self) -> Any:
        """Bits per input element: shape (T, n_in), or (1, n_in) (per step) when T is unknown."""
        steps, n_in = self._input_feature_shape
        if steps is None:
            return ops.full((1, n_in), self.qconfig.default_input_bits, dtype="float32")
        return super().input_bits()

    def _ebops(self, input_bits: Any, weights: dict | None = None) -> Any:
        steps = self._input_feature_shape[0]
        return self.cell._ebops(input_bits, weights, 1 if steps is None else steps)

    @property
    def quantizers(self) -> list:
        return self.cell.quantizers

    def weight_roles(self) -> list[str]:
        return self.cell.weight_roles()

    def quantized_weight(self, role: str, training: bool | None = None) -> Any:
        return self.cell.quantized_weight(role, training)

    def weight_bits(self, role: str, wq: Any) -> Any:
        return self.cell.weight_bits(role, wq)

    def get_prunable_weights(self) -> list:
        return [self.cell.kernel, self.cell.recurrent_kernel]

    def reinitialize_bitwidths(self) -> None:
        self.cell.reinitialize_bitwidths()

    def get_quantization_config(self) -> dict:
        return self.cell.get_quantization_config()

    def get_config(self) -> dict:
        config = keras.layers.RNN.get_config(self)
        config.pop("cell", None)
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype"):
            cell_config.pop(key, None)
        config.update(cell_config)
        config["activity_regularizer"] = keras.regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: Any = None) -> "QRNNBase":
        config = dict(config)
        config.pop("cell", None)
        if config.get("implementation") == 0:
            config["implementation"] = 1
        return cls(**config)


for _name in _DELEGATED:
    setattr(QRNNBase, _name, _delegate(_name))


@keras.saving.register_keras_serializable(package="hgq_compat")
class QSimpleRNN(QRNNBase):
    """SimpleRNN with quantized weights and state (QKeras ``QSimpleRNN``)."""

    def __init__(self, units: int, activation: Any = "quantized_tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None, kernel_quantizer: Any = None,
                 recurrent_quantizer: Any = None, bias_quantizer: Any = None, state_quantizer: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, stateful: bool = False,
                 unroll: bool = False, **kwargs: Any):
        kwargs.pop("implementation", None)
        cell_kwargs = self._pop_rnn_kwargs(kwargs, stateful)
        cell = QSimpleRNNCell(
            units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
            kernel_quantizer=kernel_quantizer, recurrent_quantizer=recurrent_quantizer, bias_quantizer=bias_quantizer,
            state_quantizer=state_quantizer, dropout=dropout, recurrent_dropout=recurrent_dropout, **cell_kwargs)
        self._finish_rnn_init(cell, return_sequences, return_state, go_backwards, stateful, unroll,
                              activity_regularizer, kwargs)


@keras.saving.register_keras_serializable(package="hgq_compat")
class QLSTM(QRNNBase):
    """LSTM with quantized weights and states (QKeras ``QLSTM``)."""

    def __init__(self, units: int, activation: Any = "quantized_tanh", recurrent_activation: Any = "hard_sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None, kernel_quantizer: Any = None,
                 recurrent_quantizer: Any = None, bias_quantizer: Any = None, state_quantizer: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, implementation: int = 1,
                 return_sequences: bool = False, return_state: bool = False, go_backwards: bool = False,
                 stateful: bool = False, unroll: bool = False, **kwargs: Any):
        cell_kwargs = self._pop_rnn_kwargs(kwargs, stateful)
        cell = QLSTMCell(
            units, activation=activation, recurrent_activation=recurrent_activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
            kernel_quantizer=kernel_quantizer, recurrent_quantizer=recurrent_quantizer, bias_quantizer=bias_quantizer,
            state_quantizer=state_quantizer, dropout=dropout, recurrent_dropout=recurrent_dropout,
            implementation=implementation, **cell_kwargs)
        self._finish_rnn_init(cell, return_sequences, return_state, go_backwards, stateful, unroll,
                              activity_regularizer, kwargs)

    recurrent_activation = _delegate("recurrent_activation")
    unit_forget_bias = _delegate("unit_forget_bias")
    implementation = _delegate("implementation")


@keras.saving.register_keras_serializable(package="hgq_compat")
class QGRU(QRNNBase):
    """GRU with quantized weights and state (QKeras ``QGRU``; ``reset_after=False`` by default)."""

    def __init__(self, units: int, activation: Any = "quantized_tanh", recurrent_activation: Any = "hard_sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, kernel_quantizer: Any = None, recurrent_quantizer: Any = None,
                 bias_quantizer: Any = None, state_quantizer: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, implementation: int = 1, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, stateful: bool = False,
                 unroll: bool = False, reset_after: bool = False, **kwargs: Any):
        cell_kwargs = self._pop_rnn_kwargs(kwargs, stateful)
        cell = QGRUCell(
            units, activation=activation, recurrent_activation=recurrent_activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, kernel_quantizer=kernel_quantizer,
            recurrent_quantizer=recurrent_quantizer, bias_quantizer=bias_quantizer, state_quantizer=state_quantizer,
            dropout=dropout, recurrent_dropout=recurrent_dropout, implementation=implementation,
            reset_after=reset_after, **cell_kwargs)
        self._finish_rnn_init(cell, return_sequences, return_state, go_backwards, stateful, unroll,
                              activity_regularizer, kwargs)

    recurrent_activation = _delegate("recurrent_activation")
    implementation = _delegate("implementation")
    reset_after = _delegate("reset_after")


def _is_reversed_copy(layer: Any, backward: dict) -> bool:
    """Whether the serialized ``backward`` layer is the serialized ``layer`` with go_backwards flipped."""
    if not isinstance(layer, dict) or layer.get("class_name") != backward.get("class_name"):
        return False
    ignore = ("name", "go_backwards")
    a = {k: v for k, v in layer.get("config", {}).items() if k not in ignore}
    b = {k: v for k, v in backward.get("config", {}).items() if k not in ignore}
    return a == b and bool(layer["config"].get("go_backwards", False)) != bool(backward["config"].get("go_backwards", False))


@keras.saving.register_keras_serializable(package="hgq_compat")
class QBidirectional(keras.layers.Bidirectional):
    """Bidirectional wrapper for the quantized RNNs (QKeras ``QBidirectional``)."""

    def __init__(self, layer: Any, merge_mode: Any = "concat", weights: Any = None, backward_layer: Any = None,
                 **kwargs: Any):
        if merge_mode not in ("sum", "mul", "ave", "concat", None):
            raise ValueError(f"QBidirectional: merge_mode={merge_mode!r} is not accepted; accepted values: "
                             "'sum', 'mul', 'ave', 'concat', None")
        super().__init__(layer, merge_mode=merge_mode, weights=weights, backward_layer=backward_layer, **kwargs)
        # Keras 2's ``Bidirectional.layer``: the layer given (forward_layer and backward_layer are rebuilt
        # from its config); not tracked, it is never called
        object.__setattr__(self, "layer", layer)
        self._backward_layer_given = backward_layer is not None

    def get_config(self) -> dict:
        """As Keras 2: ``backward_layer`` only when one was given (otherwise it is rebuilt from ``layer``)."""
        config = super().get_config()
        if not self._backward_layer_given:
            config.pop("backward_layer", None)
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: Any = None) -> "QBidirectional":
        """A ``backward_layer`` that is ``layer`` run backwards (what Keras 3 saves for every Bidirectional)
        is rebuilt from ``layer``, as Keras 2 did."""
        config = dict(config)
        if isinstance(config.get("layer"), dict):  # ``layer`` is never called: keep it unbuilt, as when saved
            config["layer"] = {k: v for k, v in config["layer"].items() if k != "build_config"}
        backward = config.get("backward_layer")
        if isinstance(backward, dict) and _is_reversed_copy(config.get("layer"), backward):
            config.pop("backward_layer")
        return super().from_config(config, custom_objects=custom_objects)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from .base import tensor_bits_source

        if args and isinstance(args[0], keras.KerasTensor):
            source = tensor_bits_source(args[0])
            for layer in (self.forward_layer, self.backward_layer):
                if isinstance(layer, QuantizedLayerMixin):
                    layer._input_bits_source = source
        return super().__call__(*args, **kwargs)

    def get_quantizers(self) -> list:
        """Quantizers of the forward then the backward layer, in creation order."""
        return self.forward_layer.get_quantizers() + self.backward_layer.get_quantizers()

    @property
    def activation(self) -> Any:
        return self.forward_layer.activation

    def get_quantization_config(self) -> dict:
        return {"layer": self.forward_layer.get_quantization_config(),
                "backward_layer": self.backward_layer.get_quantization_config()}

    def compute_ebops(self) -> Any:
        """EBOPs of both directions."""
        return self.forward_layer.compute_ebops() + self.backward_layer.compute_ebops()


__all__ = ["QBidirectional", "QGRU", "QGRUCell", "QLSTM", "QLSTMCell", "QRNNBase", "QRecurrentCellMixin",
           "QSimpleRNN", "QSimpleRNNCell", "hard_sigmoid", "resolve_activation"]
