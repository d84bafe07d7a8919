"""QKeras ``AutoQKeras`` / ``AutoQKerasScheduler`` with QKeras' signatures, searching with HGQ.

Deliberate difference from QKeras (see migration_guide, "AutoQKeras"): QKeras samples quantizer
configurations with keras_tuner and trains one model per trial; here the search is one HGQ
training run. Every layer QKeras would quantize starts from its widest fixed-point candidate
of ``quantization_config`` that ``limit`` allows, in HGQ mode (per-element trainable
bitwidths); the loss carries ``beta * EBOPs`` with beta set each epoch from the goal, so that
the training trades the loss against model size as the goal's forgiving factor does; the
Pareto front of (metric, goal size) is kept on disk; `get_best_model` returns the trained
checkpoint with the best forgiving-factor score ``metric * (1 + delta)``.

- beta: the derivative of ``-log(1 + delta(EBOPs))`` w.r.t. EBOPs at the model's current
  EBOPs, ``d / (ln(rate) * EBOPs * (1 + delta))`` (``d`` is ``delta_p`` below the reference,
  ``delta_n`` above), delta measured in EBOPs against the reference model: the model with
  its searched layers at uniform ``ref_bits`` ('bits' goal) or ``reference_internal`` bits
  ('energy' goal), times ``stress``. The cross-entropy stands in for ``-log(metric)``.
- The size in the score is the goal's: bits of parameters and activations
  (`ForgivingFactorBits`), or EBOPs (`ForgivingFactorPower`).
- Candidates that are not fixed point (binary, ternary, stochastic, po2) are used only where
  the limit leaves no fixed-point candidate; such a layer stays in QKeras mode (fixed).
- No trials: ``max_trials`` and the other keras_tuner arguments are accepted and ignored
  (``seed`` seeds the run); ``mode`` ('random', 'bayesian', 'hyperband') is validated only;
  ``tune_filters`` keeps layer widths (HGQ prunes units by training their bits to 0);
  ``learning_rate_optimizer`` keeps the model's learning rate.
- `AutoQKerasScheduler` searches all its blocks in one HGQ run (HGQ trains all layers
  together); ``schedule_block`` orders the printed block costs only.
"""

from __future__ import annotations

import collections
import copy
import inspect
import json
import math
import os
import re
from typing import Any

import keras
import numpy as np

from ..core.config import quantization_config as _quantization_scope
from ..legacy.converter import reinitialize_bitwidths
from ..quantizers import get_quantizer, is_quantizer
from ..training import BetaScheduler, FreeEBOPs, ParetoFront, jitter_bitwidths, model_ebops
from ..utils import _custom_objects, quantized_model_config, transfer_layer_weights
from .forgiving_metrics import ForgivingFactor, ForgivingFactorBits, forgiving_factor
from .forgiving_metrics.uniform_ebops import uniform_layer_ebops
from .quantization_config import default_quantization_config
from .utils import print_qmodel_summary

REGISTERED_LAYERS = [
    "Dense",
    "Conv1D",
    "Conv2D",
    "DepthwiseConv2D",
    "SimpleRNN",
    "LSTM",
    "GRU",
    "Bidirectional",
    "Conv2DTranspose",
    "SeparableConv1D",
    "SeparableConv2D",
]

Q_LAYERS = ["Q" + name for name in REGISTERED_LAYERS]

SEQUENCE_LAYERS = ["SimpleRNN", "LSTM", "GRU", "Bidirectional"]

MODES = ("random", "bayesian", "hyperband")
TUNE_FILTERS = ("block", "layer", "none")
#: keras_tuner arguments AutoQKeras passes to its tuner; accepted and ignored (no trials here), except seed
TUNER_ARGUMENTS = (
    "max_trials",
    "seed",
    "executions_per_trial",
    "hyperparameters",
    "tune_new_entries",
    "allow_new_entries",
    "max_retries_per_trial",
    "max_consecutive_failed_trials",
    "directory",
    "distribution_strategy",
    "logger",
    "tuner_id",
    "max_model_size",
    "max_epochs",
    "factor",
    "hyperband_iterations",
    "num_initial_points",
    "alpha",
    "beta",
    "overwrite",
    "objective",
)

DEFAULT_GOAL = {
    "type": "bits",
    "params": {
        "delta_p": 8.0,
        "delta_n": 8.0,
        "rate": 2.0,
        "stress": 1.0,
        "input_bits": 8,
        "output_bits": 8,
        "ref_bits": 8,
        "config": {"default": ["parameters", "activations"]},
    },
}


def _target(goal: Any) -> ForgivingFactor:
    """The ForgivingFactor of ``goal`` ({'type': 'bits' | 'energy', 'params': {...}} or an instance)."""
    if not goal:
        goal = DEFAULT_GOAL
    if isinstance(goal, ForgivingFactor):
        return goal
    if not isinstance(goal, dict) or goal.get("type") not in forgiving_factor:
        raise ValueError(
            f"AutoQKeras: goal={goal!r} is not accepted; accepted: a ForgivingFactor or "
            "{'type': 'bits' or 'energy', 'params': {...}}"
        )
    return forgiving_factor[goal["type"]](**goal.get("params", {}))


def _unique_dir(output_dir: str, overwrite: bool) -> str:
    """QKeras' results directory: with ``overwrite``, ``output_dir`` or the first free ``output_dir_N``."""
    idx, name = 0, output_dir
    if overwrite:
        while os.path.exists(name):
            idx += 1
            name = output_dir + "_" + str(idx)
    return name


def _activation_name(activation: Any) -> str | None:
    if isinstance(activation, str):
        return activation
    return getattr(activation, "__name__", None)


def _metric_name(metric: Any) -> str:
    if isinstance(metric, str):
        return metric
    name = getattr(metric, "name", None) or getattr(metric, "__name__", None)
    if not name:
        raise ValueError(f"AutoQKeras: cannot name the metric {metric!r}; pass a metric name or a named metric")
    return name


def _hgq_capable_quantizer(text: Any) -> bool:
    q = get_quantizer(text)
    if not is_quantizer(q):
        return False
    try:
        q.hgq_spec()
    except NotImplementedError:
        return False
    return True


def _caused_by(exc: BaseException, kind: type) -> bool:
    while exc is not None:
        if isinstance(exc, kind):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _fresh_optimizer(optimizer: keras.optimizers.Optimizer) -> keras.optimizers.Optimizer:
    return keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))


def _learning_rate(optimizer: keras.optimizers.Optimizer) -> float:
    return float(np.asarray(keras.ops.convert_to_numpy(optimizer.learning_rate)))


class _StartModel:
    """QKeras' AutoQKHyperModel rules (which layer, which candidate quantizers), with the widest
    fixed-point candidate chosen for each role instead of a tuner's sample."""

    def __init__(
        self,
        model: keras.Model,
        limit: dict | None,
        quantization_config: dict | None,
        tune_filters: str,
        tune_filters_exceptions: str | None,
        layer_indexes: Any,
    ):
        self.model = model
        self.limit = copy.deepcopy(limit) if limit is not None else {}
        if not isinstance(self.limit, dict):
            raise ValueError(f"AutoQKeras: limit={limit!r} is not accepted; accepted: a dict (see QKeras' AutoQKeras)")
        default = self.limit.get("default", None)
        self._adjust_limit(8 if default is None else default)
        if tune_filters not in TUNE_FILTERS:
            raise ValueError(
                f"AutoQKeras: tune_filters={tune_filters!r} is not accepted; accepted values: "
                f"{', '.join(repr(t) for t in TUNE_FILTERS)}"
            )
        self.tune_filters_exceptions = re.compile(tune_filters_exceptions or "")
        self.layer_indexes = layer_indexes
        self.quantization_config = quantization_config or default_quantization_config

    def _adjust_limit(self, default: Any) -> None:
        """Makes sure limit has all the fields required (QKeras' rule)."""
        if isinstance(default, list):
            if not 3 <= len(default) <= 4:
                raise ValueError(
                    f"AutoQKeras: limit['default']={default!r} is not accepted; accepted: a number of "
                    "bits or a list of 3 (kernel, bias, activation) or 4 (with recurrent) entries"
                )
        else:
            default = [default] * 3
        for name in REGISTERED_LAYERS:
            if name in self.limit:
                length = len(self.limit[name])
                if length < 4 and name in SEQUENCE_LAYERS:
                    if len(default) != 4:
                        raise ValueError(f"AutoQKeras: limit[{name!r}] needs 4 entries or a default of 4 entries")
                    self.limit[name] = self.limit[name] + default[length:]
                elif length < 3:
                    self.limit[name] = self.limit[name] + default[length:2] + default[-1:]

    def candidates(self, head: str, layer_name: str, layer_class_name: str, is_linear: bool = False) -> dict | None:
        """The {quantizer string: bits} the limit allows for ``head`` (QKeras' field and limit
        lookup: a layer-name pattern first, then the class name); None if the layer is not searched."""
        if is_linear:
            field, index = "linear", 0
        elif "kernel" in head:
            field, index = "kernel", 0
        elif "bias" in head:
            field, index = "bias", 1
        elif "recurrent_activation" in head:
            field, index = "recurrent_activation", -1
        else:
            field, index = "activation", -1
        if field not in self.quantization_config:
            raise ValueError(
                f"AutoQKeras: quantization_config has no {field!r} entry (needed for layer "
                f"{layer_name!r}); it has {sorted(self.quantization_config)}"
            )
        q_dict = self.quantization_config[field]
        name = layer_class_name
        for pattern in self.limit:
            if re.match(pattern, layer_name):
                name = pattern
                break
        if name == layer_class_name and name not in self.limit:
            return None
        entry = self.limit[name]
        if not isinstance(entry, (list, tuple)) or len(entry) == 0:
            raise ValueError(
                f"AutoQKeras: limit[{name!r}]={entry!r} gives no bound for the {field} of layer "
                f"{layer_name!r}; accepted: a list such as [kernel, bias, activation]"
            )
        bound = entry[index]
        if isinstance(bound, list):
            missing = [k for k in bound if k not in q_dict]
            if missing:
                raise ValueError(
                    f"AutoQKeras: limit[{name!r}] names {missing}, which quantization_config[{field!r}] "
                    f"does not have; it has {list(q_dict)}"
                )
            return {key: q_dict[key] for key in bound}
        return {key: value for key, value in q_dict.items() if value <= bound}

    def choose(self, head: str, layer_name: str, layer_class_name: str, is_linear: bool = False) -> str | None:
        """The widest fixed-point candidate (ties: the first), else the widest candidate."""
        found = self.candidates(head, layer_name, layer_class_name, is_linear)
        if not found:
            return None
        fixed = {k: v for k, v in found.items() if _hgq_capable_quantizer(k)}
        pool = fixed or found
        best = max(pool.values())
        return next(k for k, v in pool.items() if v == best)

    def quantizer_dict(self) -> dict:
        """The ``model_quantize`` dictionary of the start model (QKeras' quantize_model rules)."""
        q_dict: dict[str, Any] = {}
        for layer_id, layer in enumerate(self.model.layers):
            if self.layer_indexes is not None and layer_id not in self.layer_indexes:
                continue
            cls = layer.__class__.__name__
            name = layer.name
            if cls in REGISTERED_LAYERS:
                kernel = self.choose(name + "_kernel", name, cls)
                if not kernel:
                    continue
                kernel_name = (
                    "depthwise_quantizer"
                    if cls in ("DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D")
                    else "kernel_quantizer"
                )
                layer_d = {kernel_name: kernel}
                if cls in SEQUENCE_LAYERS:
                    layer_d["recurrent_quantizer"] = self.choose(name + "_recurrent_kernel", name, cls)
                if cls in ("SeparableConv1D", "SeparableConv2D"):
                    layer_d["pointwise_quantizer"] = self.choose(name + "_pointwise_kernel", name, cls)
                if cls in ("LSTM", "GRU", "Bidirectional"):
                    layer_d["recurrent_activation_quantizer"] = self.choose(name + "_recurrent_activation", name, cls)
                if cls == "Bidirectional" or getattr(layer, "use_bias", False):
                    layer_d["bias_quantizer"] = self.choose(name + "_bias", name, cls)
                act = _activation_name(getattr(layer, "activation", None))
                if cls == "Bidirectional" or act not in ("softmax", "linear", None):
                    layer_d["activation_quantizer"] = self.choose(name + "_activation", name, cls)
                q_dict[name] = layer_d
            elif cls == "Activation":
                act = _activation_name(layer.activation)
                if act == "softmax":
                    continue
                activation = self.choose(name + "_activation", name, cls, is_linear=act == "linear")
                if activation:
                    q_dict[name] = activation
            elif cls in self.limit or any(re.match(pattern, name) for pattern in self.limit):
                q_dict[name] = {}
        return q_dict


class AutoQKeras:
    """Performs autoquantization in Keras model (QKeras' signature; the search is HGQ training).

    Args:
        model: the Keras model to quantize, compiled (its optimizer and loss are used).
        metrics: list (or dict per output) of metrics; the first one is the score metric.
        custom_objects: custom objects used to rebuild the model.
        goal: {'type': 'bits' | 'energy', 'params': {...}} or a ForgivingFactor (default: bits,
            delta_p = delta_n = 8 %, rate 2, 8-bit reference).
        output_dir: directory for the Pareto-front checkpoints (made unique with ``overwrite``).
        mode: 'random', 'bayesian' or 'hyperband' (validated; the search is the same).
        custom_tuner: not supported (a keras_tuner class; there are no trials).
        transfer_weights: start from the model's weights instead of fresh ones.
        frozen_layers: with ``learning_rate_optimizer``, layers whose weights are copied from the model.
        activation_bits: bits for float activations that no candidate covers (``model_quantize``).
        limit: per layer class or layer-name pattern, [kernel, bias, activation] bounds in bits
            or lists of candidate names.
        tune_filters, tune_filters_exceptions: validated; widths are kept (see module doc).
        learning_rate_optimizer: kept for the signature; the model's learning rate is used.
        layer_indexes: only the layers at these indexes are quantized.
        quantization_config: {'kernel': {quantizer: bits}, 'bias': ..., 'activation': ...,
            'linear': ...} (default `default_quantization_config`).
        overwrite: make ``output_dir`` unique instead of reusing it.
        head_name: the output whose metric and size make the score (multi-output models).
        score_metric: a logged metric to maximise instead of the forgiving-factor score.
        **tuner_kwargs: keras_tuner arguments (``max_trials``, ``seed``, ...), accepted; only
            ``seed`` is used.
    """

    def __init__(
        self,
        model: keras.Model,
        metrics: Any = None,
        custom_objects: dict | None = None,
        goal: Any = None,
        output_dir: str = "result",
        mode: str = "random",
        custom_tuner: Any = None,
        transfer_weights: bool = False,
        frozen_layers: list | None = None,
        activation_bits: int = 4,
        limit: dict | None = None,
        tune_filters: str = "none",
        tune_filters_exceptions: str | None = None,
        learning_rate_optimizer: bool = False,
        layer_indexes: Any = None,
        quantization_config: dict | None = None,
        overwrite: bool = True,
        head_name: str | None = None,
        score_metric: str | None = None,
        **tuner_kwargs: Any,
    ):
        if mode not in MODES:
            raise ValueError(
                f"AutoQKeras: mode={mode!r} is not accepted; accepted values: {', '.join(repr(m) for m in MODES)}"
            )
        if custom_tuner is not None:
            raise NotImplementedError(
                "AutoQKeras: custom_tuner is not supported: the search is one HGQ training run "
                "(trainable bitwidths), not keras_tuner trials; accepted: custom_tuner=None"
            )
        unknown = sorted(set(tuner_kwargs) - set(TUNER_ARGUMENTS))
        if unknown:
            raise TypeError(
                f"AutoQKeras got unexpected arguments {unknown}; accepted keras_tuner arguments: "
                f"{', '.join(TUNER_ARGUMENTS)}"
            )
        if getattr(model, "optimizer", None) is None or getattr(model, "loss", None) is None:
            raise ValueError(
                "AutoQKeras: compile the model first: its optimizer and loss train the search (as in QKeras)"
            )
        self.model = model
        self.metrics = metrics if metrics else ["acc"]
        self.custom_objects = custom_objects if custom_objects else {}
        self.target = _target(goal)
        self.transfer_weights = transfer_weights
        self.frozen_layers = frozen_layers if frozen_layers else []
        self.activation_bits = activation_bits
        self.learning_rate_optimizer = learning_rate_optimizer
        self.overwrite = overwrite
        self.head_name = head_name
        self.score_metric = score_metric
        self.tuner_kwargs = tuner_kwargs
        self.seed = tuner_kwargs.get("seed", None)
        self.output_dir = _unique_dir(output_dir, overwrite)
        self.reference_size = self.target.get_reference(model)
        self._start = _StartModel(
            model, limit, quantization_config, tune_filters, tune_filters_exceptions, layer_indexes
        )
        self.limit = self._start.limit
        print("Limit configuration:" + json.dumps(self.limit))
        self.q_dict = self._start.quantizer_dict()
        if self.seed is not None:
            keras.utils.set_random_seed(int(self.seed))
        self.q_model = self._build()
        self.reference_ebops = self._reference_ebops()
        self.start_ebops = model_ebops(self.q_model)
        self.front: ParetoFront | None = None
        self.fit_history: keras.callbacks.History | None = None
        self.learning_rate = _learning_rate(model.optimizer)

    # ------------------------------------------------------------------ the start model
    @property
    def _reference_bits(self) -> int:
        return int(self.target.ref_bits if isinstance(self.target, ForgivingFactorBits) else self.target.reference_bits)

    @property
    def _input_bits(self) -> float:
        return float(
            self.target.input_bits if isinstance(self.target, ForgivingFactorBits) else self.target.reference_bits
        )

    def _build(self) -> keras.Model:
        """The start model: the searched layers quantized, in HGQ mode where all their quantizers
        are fixed point, else in QKeras mode."""
        objects = _custom_objects(self.custom_objects)
        top = quantized_model_config(self.model, self.q_dict, self.activation_bits, objects)
        before = {layer.name: layer.__class__.__name__ for layer in self.model.layers}
        self.layer_modes: dict[str, str] = {}
        for entry in top["config"]["layers"]:
            cfg = entry["config"]
            if entry["class_name"] == before.get(cfg["name"]):
                continue
            cls = objects[entry["class_name"]]
            try:
                with _quantization_scope(default_input_bits=self._input_bits):
                    cls.from_config({**copy.deepcopy(cfg), "mode": "hgq"})
                mode = "hgq"
            except Exception as exc:  # Keras wraps the layer's NotImplementedError in a TypeError
                if not _caused_by(exc, NotImplementedError):
                    raise
                mode = "qkeras"
            cfg["mode"] = mode
            self.layer_modes[cfg["name"]] = mode
        with _quantization_scope(default_input_bits=self._input_bits):
            q_model = keras.saving.deserialize_keras_object(top, custom_objects=objects)
        if self.transfer_weights:
            transfer_layer_weights(self.model, q_model)
        if self.learning_rate_optimizer:
            for layer_name in self.frozen_layers:
                o_weights = self.model.get_layer(layer_name).get_weights()
                layer = q_model.get_layer(layer_name)
                weights = layer.get_weights()
                if all(o.shape == w.shape for o, w in zip(o_weights, weights)):
                    layer.set_weights(o_weights + weights[len(o_weights) :])
        reinitialize_bitwidths(q_model)
        jitter_bitwidths(q_model, seed=int(self.seed or 0))
        return q_model

    def _reference_ebops(self) -> float:
        """EBOPs of the model with its searched layers at the reference width, times stress."""
        per_layer = uniform_layer_ebops(self.model, self._reference_bits)
        return float(sum(per_layer.values())) * float(getattr(self.target, "stress", 1.0))

    # ------------------------------------------------------------------ the goal
    def beta_for(self, ebops: float) -> float:
        """The EBOPs weight (loss units per EBOP) at ``ebops``: the EBOPs derivative of
        ``-log(1 + delta)``, delta measured in EBOPs against the reference (see module doc)."""
        if ebops <= 0 or self.reference_ebops <= 0:
            return 0.0
        t = self.target
        ratio = math.log(self.reference_ebops / ebops) / math.log(float(t.rate))
        d = float(t.delta_p if ebops < self.reference_ebops else t.delta_n)
        return d / (math.log(float(t.rate)) * ebops * max(1.0 + d * ratio, 0.05))

    def _names(self, has_validation: bool) -> tuple[str, str, str, str]:
        """(train metric, monitored metric, trial log name, monitored score log name); the training
        score is logged as the last without 'val_'."""
        metrics = self.metrics
        if isinstance(metrics, dict):
            metric = metrics[self.head_name] if self.head_name else next(iter(metrics.values()))
            metric = metric[0] if isinstance(metric, (list, tuple)) else metric
        else:
            metric = metrics[0]
        name = _metric_name(metric)
        prefix = self.head_name + "_" if self.head_name else ""
        train = prefix + name
        val = "val_" if has_validation else ""
        return train, val + train, prefix + "trial", val + prefix + "score"

    # ------------------------------------------------------------------ search
    def fit(self, *fit_args: Any, **fit_kwargs: Any) -> None:
        """HGQ training of the start model (arguments as ``keras.Model.fit``); keeps the Pareto front."""
        bound = inspect.signature(keras.Model.fit).bind(None, *fit_args, **fit_kwargs)
        kwargs = {k: v for k, v in bound.arguments.items() if k != "self"}
        kwargs.update(kwargs.pop("kwargs", {}))
        epochs = kwargs.get("epochs", None)
        callbacks = list(kwargs.get("callbacks", None) or [])
        has_validation = kwargs.get("validation_data") is not None or (kwargs.get("validation_split") or 0) > 0
        train, monitor, trial_name, score_name = self._names(has_validation)
        self._use_score = self.score_metric in (None, "score", "val_score", score_name)
        objective = monitor if self._use_score else self.score_metric
        self._objective = objective
        self.score_name = score_name
        if has_validation and not any(isinstance(c, keras.callbacks.EarlyStopping) for c in callbacks):
            patience = min(20, (epochs if epochs is not None else 10) // 5)
            callbacks.append(keras.callbacks.EarlyStopping("val_loss", patience=patience))
        self.q_model.compile(
            optimizer=_fresh_optimizer(self.model.optimizer), loss=self.model.loss, metrics=self.metrics
        )
        self.front = ParetoFront(
            os.path.join(self.output_dir, "pareto"), metrics=(objective, trial_name), sides=(1, -1)
        )
        own = [
            BetaScheduler(lambda epoch: self.beta_for(model_ebops(self.q_model))),
            FreeEBOPs(),
            _GoalLogger(self, train, monitor, trial_name, score_name, has_validation),
            self.front,
        ]
        kwargs["callbacks"] = own + callbacks
        print(
            f"AutoQKeras (HGQ search): {len(self.q_dict)} layers searched, start EBOPs {self.start_ebops:,.0f}, "
            f"reference EBOPs {self.reference_ebops:,.0f}"
        )
        self.fit_history = self.q_model.fit(**kwargs)

    def _record_score(self, record: dict) -> float:
        if self._use_score:
            return self.target.score(record[self._objective], record[self.front.metrics[1]])
        return record[self._objective]

    def history(self, number_of_trials: int = -1) -> dict:
        """Per epoch (the HGQ run has no trials): the score, the metric (and its val_ version) and
        the trial size, as QKeras' per-trial lists."""
        if self.fit_history is None:
            return {}
        h = self.fit_history.history
        train, monitor, trial_name, score_name = self._names("val_loss" in h)
        result = {"score": list(h.get(score_name, []))}
        for key in (train, monitor):
            if key in h:
                result[key] = list(h[key])
        result["trial_size"] = list(h.get(trial_name, []))
        return result

    @staticmethod
    def get_best_lr(qmodel: keras.Model) -> float:
        """Extracts best lr of model."""
        return _learning_rate(qmodel.optimizer)

    def get_best_model(self) -> keras.Model:
        """The trained Pareto-front checkpoint with the best score, compiled like the model."""
        if self.front is None or not self.front.records:
            raise ValueError("AutoQKeras.get_best_model: call fit first (no Pareto-front checkpoint yet)")
        best = max(self.front.records, key=lambda r: (self._record_score(r), -r["epoch"]))
        self.best_record = {**best, "score": self._record_score(best)}
        q_model = keras.saving.load_model(
            best["path"], custom_objects=_custom_objects(self.custom_objects), compile=False
        )
        q_model.compile(optimizer=_fresh_optimizer(self.model.optimizer), loss=self.model.loss, metrics=self.metrics)
        self.learning_rate = _learning_rate(q_model.optimizer)
        return q_model

    def get_learning_rate(self) -> float:
        return self.learning_rate


class _GoalLogger(keras.callbacks.Callback):
    """Puts the goal's trial size and the score ``metric * (1 + delta)`` in the logs (QKeras'
    'trial' and 'score' metrics)."""

    def __init__(
        self, auto: AutoQKeras, train: str, monitor: str, trial_name: str, score_name: str, has_validation: bool
    ):
        super().__init__()
        self.auto, self.train, self.monitor = auto, train, monitor
        self.trial_name, self.score_name, self.has_validation = trial_name, score_name, has_validation

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is None:
            return
        target = self.auto.target
        trial = float(target.get_trial(self.model))
        logs[self.trial_name] = trial
        if self.train in logs:
            logs[self.score_name.removeprefix("val_")] = target.score(float(logs[self.train]), trial)
        if self.has_validation:
            logs["val_" + self.trial_name] = trial
            if self.monitor in logs:
                logs[self.score_name] = target.score(float(logs[self.monitor]), trial)


class AutoQKerasScheduler:
    """Performs autoquantization one layer/group at a time (QKeras' signature).

    The blocks (regular expressions over layer names) select the layers to quantize, with
    their limits as in QKeras; they are searched together in one HGQ run (see module doc).
    Arguments as `AutoQKeras`, plus ``blocks``, ``schedule_block`` ('sequential' or 'cost')
    and ``debug`` (print the blocks only).
    """

    def __init__(
        self,
        model: keras.Model,
        metrics: Any = None,
        custom_objects: dict | None = None,
        goal: Any = None,
        output_dir: str = "result",
        mode: str = "random",
        transfer_weights: bool = False,
        activation_bits: int = 4,
        limit: dict | None = None,
        tune_filters: str = "none",
        tune_filters_exceptions: str | None = None,
        layer_indexes: Any = None,
        learning_rate_optimizer: bool = False,
        blocks: list | None = None,
        schedule_block: str = "sequential",
        quantization_config: dict | None = None,
        overwrite: bool = True,
        debug: bool = False,
        head_name: str | None = None,
        **tuner_kwargs: Any,
    ):
        if schedule_block not in ("sequential", "cost"):
            raise ValueError(
                f"AutoQKerasScheduler: schedule_block={schedule_block!r} is not accepted; accepted "
                "values: 'sequential', 'cost'"
            )
        if not blocks:
            raise ValueError("AutoQKerasScheduler: blocks is empty; accepted: a list of layer-name patterns")
        self.target = _target(goal)
        self.model = model
        self.metrics = metrics if metrics else []
        self.custom_objects = custom_objects if custom_objects else {}
        self.mode = mode
        self.transfer_weights = transfer_weights
        self.activation_bits = activation_bits
        self.limit = limit if limit is not None else {}
        self.tune_filters = tune_filters
        self.tune_filters_exceptions = tune_filters_exceptions
        self.layer_indexes = layer_indexes
        self.learning_rate_optimizer = learning_rate_optimizer
        self.blocks = blocks
        self.schedule_block = schedule_block
        self.quantization_config = quantization_config
        self.tuner_kwargs = tuner_kwargs
        self.debug = debug
        self.head_name = head_name
        self.autoqk: AutoQKeras | None = None
        self.learning_rate = _learning_rate(model.optimizer)
        self.overwrite = overwrite
        self.output_dir = _unique_dir(output_dir, overwrite)
        self.next_block = self.get_next_block(overwrite)
        self.history: list = []
        if self.next_block > 0:
            self.model = keras.saving.load_model(
                self._block_path(self.next_block - 1), custom_objects=_custom_objects(self.custom_objects)
            )
            print("Load model completed")

    def _block_path(self, i: int) -> str:
        return os.path.join(self.output_dir, f"model_block_{i}.keras")

    def get_next_block(self, overwrite: bool) -> int:
        """Get the next block id to be worked on."""
        if overwrite:
            return 0
        try:
            with open(os.path.join(self.output_dir, "scheduler.json")) as f:
                return int(json.load(f)["next_block"])
        except (OSError, ValueError, KeyError):
            return 0

    def get_limit(self, model: keras.Model, pattern: str) -> dict:
        """Apply patterned group to limit to obtain new limit set (QKeras' rule)."""
        limit = self.limit
        new_limit = {}
        new_pattern = collections.defaultdict(list)
        for layer_name in self.grouped_patterns[pattern]:
            layer = model.get_layer(layer_name)
            target_quantizers = limit.get(layer.__class__.__name__, -1)
            for limit_pattern in limit:
                if re.match(limit_pattern, layer_name):
                    target_quantizers = limit[limit_pattern]
                    new_pattern[limit_pattern].append(layer_name)
                    layer_name = limit_pattern
                    break
            if target_quantizers != -1:
                new_limit[layer_name] = target_quantizers
        for key in new_pattern:
            new_key = "^" + "(" + "|".join(new_pattern[key]) + ")" + "$"
            new_limit[new_key] = new_limit[key]
            if new_key != key:
                del new_limit[key]
        return new_limit

    def compute_block_costs(self, patterns: list, model: keras.Model) -> None:
        """Computes costs for each block (the goal's reference size per layer)."""
        self.reference_size = self.target.get_reference(model)
        self.model_size = self.target.get_reference_stats()
        groups = {pattern: [] for pattern in patterns}
        for layer_id, layer in enumerate(model.layers):
            if self.layer_indexes is not None and layer_id not in self.layer_indexes:
                continue
            for pattern in groups:
                if re.match(pattern, layer.name):
                    groups[pattern].append(layer.name)
        self.grouped_patterns = groups
        self.costs = []
        for pattern in patterns:
            total = sum(
                self.model_size[name]["total"] for name in self.grouped_patterns[pattern] if name in self.model_size
            )
            self.costs.append((pattern, total))
        if self.schedule_block == "cost":
            self.costs = sorted(self.costs, key=lambda cost_tuple: -cost_tuple[1])

    def retrieve_max_block(self):
        yield from self.costs

    def fit(self, *fit_args: Any, **fit_kwargs: Any) -> None:
        """One HGQ search over all blocks (arguments as ``keras.Model.fit``)."""
        self.history = []
        self.compute_block_costs(self.blocks, self.model)
        limit: dict = {}
        for i, (pattern, cost) in enumerate(self.retrieve_max_block()):
            print("... block cost: {:.0f} / {:.0f}".format(cost, self.reference_size))
            block_limit = self.get_limit(self.model, pattern)
            if not block_limit:
                raise ValueError(
                    f"AutoQKerasScheduler: block {pattern!r} matches no layer that the limit covers "
                    f"(layers: {self.grouped_patterns[pattern]})"
                )
            print("Pattern {} is : {}".format(i, block_limit))
            limit.update(block_limit)
        if self.debug:
            return
        n_blocks = len(self.costs)
        if self.next_block >= n_blocks:
            self.best_model = self.model
            return
        self.autoqk = AutoQKeras(
            self.model,
            self.metrics,
            custom_objects=self.custom_objects,
            goal=self.target,
            output_dir=os.path.join(self.output_dir, "0"),
            mode=self.mode,
            transfer_weights=self.transfer_weights,
            activation_bits=self.activation_bits,
            limit=limit,
            tune_filters=self.tune_filters,
            tune_filters_exceptions=self.tune_filters_exceptions,
            layer_indexes=self.layer_indexes,
            learning_rate_optimizer=self.learning_rate_optimizer,
            quantization_config=self.quantization_config,
            overwrite=self.overwrite,
            head_name=self.head_name,
            **self.tuner_kwargs,
        )
        self.autoqk.fit(*fit_args, **fit_kwargs)
        self.history.append(self.autoqk.history())
        model = self.autoqk.get_best_model()
        self.learning_rate = _learning_rate(model.optimizer)
        os.makedirs(self.output_dir, exist_ok=True)
        model.save(self._block_path(n_blocks - 1))
        self.next_block = n_blocks
        with open(os.path.join(self.output_dir, "scheduler.json"), "w") as f:
            f.write(json.dumps({"next_block": self.next_block}))
        self.best_model = model

    def get_history(self) -> list:
        """Returns the history of the model search."""
        return self.history

    def get_best_model(self) -> keras.Model | None:
        """Returns the best model (None before fit, as in QKeras)."""
        if not self.autoqk:
            return None
        self.autoqk.target.get_trial(self.best_model)
        self.autoqk.target.print_stats()
        print_qmodel_summary(self.best_model)
        return self.best_model

    def get_learning_rate(self) -> float:
        return self.learning_rate


__all__ = ["AutoQKeras", "AutoQKerasScheduler", "Q_LAYERS", "REGISTERED_LAYERS", "SEQUENCE_LAYERS"]
