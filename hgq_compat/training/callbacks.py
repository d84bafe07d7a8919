"""Training callbacks: EBOPs in the logs and beta schedules."""

from __future__ import annotations

import math
import numbers
from typing import Callable

import keras

from .model import model_ebops, set_beta
from .schedules import BetaSchedule


class FreeEBOPs(keras.callbacks.Callback):
    """Puts the model's total EBOPs (for the current bitwidths) in the logs as ``ebops``
    at the end of every epoch, so it shows in ``fit`` progress and history."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs["ebops"] = model_ebops(self.model)


class BetaScheduler(keras.callbacks.Callback):
    """Sets the EBOPs weight ``beta`` of every HGQ-mode layer at the start of each epoch.

    Args:
        schedule: a `BetaSchedule` (`PieceWiseSchedule`, `LinearSchedule`, `LogSchedule`) or
            any callable ``epoch -> beta`` (epoch 0-based, as in ``fit``; beta a number >= 0,
            in loss units per EBOP).
        verbose: 1 prints the new beta when it changes.

    The beta of the epoch goes into the logs (and ``History``) as ``beta``. The layers' beta
    are variables, so no recompilation is needed.
    """

    def __init__(self, schedule: BetaSchedule | Callable[[int], float], verbose: int = 0):
        super().__init__()
        if not callable(schedule):
            raise ValueError(
                f"BetaScheduler: schedule={schedule!r} is not accepted; accepted values: a BetaSchedule "
                "(PieceWiseSchedule, LinearSchedule, LogSchedule) or a callable epoch -> beta"
            )
        self.schedule = schedule
        self.verbose = verbose
        self.beta: float | None = None

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        beta = self.schedule(epoch)
        if isinstance(beta, bool) or not isinstance(beta, numbers.Real) or not math.isfinite(beta) or beta < 0:
            raise ValueError(
                f"BetaScheduler: the schedule gave beta={beta!r} at epoch {epoch}; "
                "accepted values: a finite number >= 0"
            )
        beta = float(beta)
        set_beta(self.model, beta)
        if self.verbose and beta != self.beta:
            print(f"\nEpoch {epoch + 1}: BetaScheduler setting beta to {beta:.4g}.")
        self.beta = beta

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None and self.beta is not None:
            logs["beta"] = self.beta
