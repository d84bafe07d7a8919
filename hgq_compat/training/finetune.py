"""The migration workflow's second half: a trained QKeras-mode model fine-tuned in HGQ mode.

`to_hgq` copies a model into HGQ mode with the same outputs; `fine_tune` trains it under a
logarithmic beta schedule with a cosine-decaying learning rate and keeps the Pareto front of
(validation accuracy, EBOPs); `select_pareto_point(front, reference=...)` then picks the cheapest
checkpoint that stays within a tolerance of the original model's validation accuracy.

The default beta range is relative to the model's EBOPs when fine-tuning starts: the EBOPs term of
the loss starts at `FineTuneSettings.ebops_loss_start` loss units and its weight grows to
`ebops_loss_end` units per the model's starting EBOPs, so one setting serves models of any size.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import keras
import numpy as np
from keras.src.models.functional import Functional  # the class of functional keras.Model instances

from ..core.values import value_copy
from .callbacks import BetaScheduler, FreeEBOPs
from .model import jitter_bitwidths, model_ebops, reinitialize_bitwidths
from .pareto import ParetoFront
from .schedules import LogSchedule


@dataclass
class FineTuneSettings:
    """How `fine_tune` trains.

    Attributes:
        epochs: training epochs.
        ebops_loss_start: beta at the first epoch times the starting EBOPs (loss units).
        ebops_loss_end: beta at the end of the ramp (and after it) times the starting EBOPs (loss units).
        beta_start, beta_end: absolute betas (loss units per EBOP); when given they replace the
            relative ``ebops_loss_*`` pair.
        ramp_fraction: beta grows (log schedule) over this fraction of the epochs, then stays at
            its last value while the learning rate decays further (the network recovers accuracy
            at fixed pressure).
        learning_rate: Adam's initial rate; it decays by a cosine to ``learning_rate_floor`` of itself.
        batch_size: samples per step.
        jitter: `jitter_bitwidths` amount (bits) applied before training (0 leaves them).
        seed: seed of the jitter.
        jit_compile: None (default): compile the training step with XLA on TensorFlow and JAX
            (TensorFlow trains HGQ-mode models about 1.2x faster with it on CPU, see
            benchmarks/RESULTS.md; Keras alone uses XLA on JAX only); True / False / 'auto': given
            to ``model.compile`` as is ('auto' is Keras' own choice). Keras compiles without XLA
            on TensorFlow while op determinism is on (`enable_determinism`).
    """

    epochs: int = 150
    ebops_loss_start: float = 0.3
    ebops_loss_end: float = 2.0
    beta_start: float | None = None
    beta_end: float | None = None
    ramp_fraction: float = 0.5
    learning_rate: float = 2e-3
    learning_rate_floor: float = 0.01
    batch_size: int = 32
    jitter: float = 0.45
    seed: int = 0
    jit_compile: bool | str | None = None

    def compile_jit(self) -> bool | str:
        """The ``jit_compile`` argument of ``model.compile`` (see the class doc)."""
        if self.jit_compile is None:
            return keras.backend.backend() in ("tensorflow", "jax")
        if self.jit_compile in (True, False, "auto"):
            return self.jit_compile
        raise ValueError(
            f"FineTuneSettings: jit_compile={self.jit_compile!r} is not accepted; accepted values: None "
            "(XLA on TensorFlow and JAX), True, False, 'auto' (Keras' choice)"
        )

    def betas(self, ebops: float) -> tuple[float, float]:
        """(first, last) beta in loss units per EBOP for a model of ``ebops`` EBOPs."""
        if (self.beta_start is None) != (self.beta_end is None):
            raise ValueError(
                "FineTuneSettings: give both beta_start and beta_end (absolute, loss units per EBOP) or "
                f"neither (relative: ebops_loss_start/end); got beta_start={self.beta_start!r}, "
                f"beta_end={self.beta_end!r}"
            )
        if self.beta_start is not None:
            return float(self.beta_start), float(self.beta_end)
        if not ebops > 0:
            raise ValueError(
                f"fine_tune: the model has {ebops!r} EBOPs; a relative beta needs a model with quantized "
                "multiplications (or give beta_start/beta_end)"
            )
        return self.ebops_loss_start / ebops, self.ebops_loss_end / ebops


@dataclass
class FineTuneResult:
    """What `fine_tune` returns: the Pareto front's records (one per kept checkpoint: epoch,
    val_accuracy, ebops, path), the Keras history and the betas used."""

    front: list[dict]
    history: dict[str, list[float]]
    beta: tuple[float, float]
    settings: dict = field(default_factory=dict)


def to_hgq(model: keras.Model) -> keras.Model:
    """A copy of ``model`` with every quantized layer in HGQ mode (trainable per-element bitwidths,
    started from the QKeras quantizers' bits), same weights, same outputs. ``model`` is unchanged.

    Raises:
        NotImplementedError: ``model`` is a subclassed model (no config to rebuild it from).
    """
    if not isinstance(model, (keras.Sequential, Functional)):
        raise NotImplementedError(
            f"to_hgq: {type(model).__name__} is a subclassed model; only Sequential and functional models can "
            "be rebuilt in HGQ mode (build the subclass under quantization_config(mode='hgq') instead)"
        )
    config = model.get_config()
    _set_mode(config, "hgq")
    clone = model.__class__.from_config(config)
    for source, target in _matching_variables(model.weights, clone.weights):
        target.assign(value_copy(source))  # never the variable: a shared JAX buffer (see value_copy)
    reinitialize_bitwidths(clone)
    return clone


def _matching_variables(sources: list, targets: list) -> list[tuple[Any, Any]]:
    """Pairs (source, target) of the same variable in two builds of one model. Paths differ by the
    outer scope they were built in ('tiny/d1/kernel' vs 'd1/kernel'), so one must end the other."""
    pairs = []
    for v in sources:
        hits = [
            t
            for t in targets
            if (v.path == t.path or v.path.endswith("/" + t.path) or t.path.endswith("/" + v.path))
            and tuple(t.shape) == tuple(v.shape)
        ]
        if len(hits) != 1:
            raise NotImplementedError(
                f"to_hgq: the weight {v.path!r} {tuple(v.shape)} has {len(hits)} counterparts in the HGQ-mode "
                "model; accepted models have each weight once, under the same layer names"
            )
        pairs.append((v, hits[0]))
    return pairs


def _set_mode(config: Any, mode: str) -> None:
    """Set ``mode`` in every layer config that has one (nested configs included)."""
    if isinstance(config, dict):
        if "mode" in config and config["mode"] in ("qkeras", "hgq"):
            config["mode"] = mode
        for value in config.values():
            _set_mode(value, mode)
    elif isinstance(config, list):
        for value in config:
            _set_mode(value, mode)


def fine_tune(
    model: keras.Model,
    x: Any,
    y: Any,
    validation_data: tuple[Any, Any],
    checkpoints: str | os.PathLike,
    settings: FineTuneSettings | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    loss: Any = None,
) -> FineTuneResult:
    """Fine-tune an HGQ-mode ``model`` (see `to_hgq`) for fewer EBOPs.

    Compiles ``model`` with Adam (cosine-decaying learning rate) and sparse categorical
    cross-entropy on logits (or ``loss``), sets beta by a log schedule from the first to the last
    beta of ``settings`` and keeps every checkpoint on the (validation accuracy, EBOPs) Pareto
    front under ``checkpoints`` (`ParetoFront`; ``pareto.csv`` lists them).

    Returns:
        `FineTuneResult`; pick a point with ``select_pareto_point(result.front, reference=...)``.
    """
    settings = settings or FineTuneSettings()
    if isinstance(settings.epochs, bool) or not isinstance(settings.epochs, int) or settings.epochs < 1:
        raise ValueError(f"fine_tune: epochs={settings.epochs!r} is not accepted; accepted values: an integer >= 1")
    if not 0 < settings.ramp_fraction <= 1:
        raise ValueError(
            f"fine_tune: ramp_fraction={settings.ramp_fraction!r} is not accepted; accepted values: 0 < x <= 1"
        )
    beta = settings.betas(model_ebops(model))  # every check before the model is touched
    jit_compile = settings.compile_jit()
    if settings.jitter:
        jitter_bitwidths(model, amount=settings.jitter, seed=settings.seed)
    steps = settings.epochs * -(-_n_samples(x) // settings.batch_size)
    learning_rate = keras.optimizers.schedules.CosineDecay(
        settings.learning_rate, steps, alpha=settings.learning_rate_floor
    )
    model.compile(
        keras.optimizers.Adam(learning_rate),
        loss or keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=jit_compile,
    )
    ramp_end = max(round((settings.epochs - 1) * settings.ramp_fraction), 1)
    schedule = LogSchedule([(0, beta[0]), (ramp_end, beta[1])])
    front = ParetoFront(os.fspath(checkpoints), metrics=("val_accuracy", "ebops"), sides=(1, -1))
    history = model.fit(
        x,
        y,
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        verbose=0,
        validation_data=validation_data,
        callbacks=[BetaScheduler(schedule), FreeEBOPs(), front, *callbacks],
    )
    return FineTuneResult(
        front=list(front.records),
        history={k: [float(v) for v in vals] for k, vals in history.history.items()},
        beta=beta,
        settings=asdict(settings),
    )


def _n_samples(x: Any) -> int:
    if isinstance(x, dict):
        x = next(iter(x.values()))
    if isinstance(x, (list, tuple)):
        x = x[0]
    return int(np.shape(x)[0])


__all__ = ["FineTuneResult", "FineTuneSettings", "fine_tune", "to_hgq"]
