"""QKeras ``ForgivingFactor``: the accuracy boost (or penalty) of a model smaller (larger) than a reference.

For a trial of size ``trial_size`` against ``reference_size`` (bits, or EBOPs for energy):
``delta = d * log(reference_size / trial_size) / log(rate)`` with ``d = delta_p / 100`` when
the trial is smaller and ``delta_n / 100`` otherwise; AutoQKeras scores a model
``metric * (1 + delta)``.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np


class ForgivingFactor:
    """Base class. Should never be invoked (as QKeras): subclasses define the sizes.

    Args:
        delta_p: accuracy boost (%) per factor ``rate`` of size reduction.
        delta_n: accuracy penalty (%) per factor ``rate`` of size increase.
        rate: the size factor (e.g. 2.0: per halving / doubling).
    """

    def __init__(self, delta_p: float, delta_n: float, rate: float):
        self.delta_p = np.float32(delta_p) / 100.0
        self.delta_n = np.float32(delta_n) / 100.0
        self.rate = np.float32(rate)

    def get_reference(self, model: keras.Model) -> float:
        """Computes reference size of model."""
        raise NotImplementedError("ForgivingFactor is a base class; use ForgivingFactorBits or ForgivingFactorPower")

    def get_trial(self, model: keras.Model) -> float:
        """Computes size of quantization trial."""
        raise NotImplementedError("ForgivingFactor is a base class; use ForgivingFactorBits or ForgivingFactorPower")

    def delta(self) -> Any:
        """QKeras' delta for the last ``get_trial`` against the reference (a numpy scalar)."""
        return self.delta_for(self.trial_size)

    def delta_for(self, trial_size: float) -> Any:
        """The delta of a trial of ``trial_size`` against the reference (QKeras' formula)."""
        ratio = np.log(self.reference_size / trial_size) / np.log(self.rate)
        return np.where(trial_size < self.reference_size, self.delta_p * ratio, self.delta_n * ratio)

    def score(self, metric: float, trial_size: float) -> float:
        """AutoQKeras' score of a model: ``metric * (1 + delta)`` (higher is better)."""
        return float(metric * (1.0 + self.delta_for(trial_size)))
