"""Beta schedules: the EBOPs weight ``beta`` as a function of the epoch.

A schedule is built from ``(epoch, beta)`` points (epochs 0-based, as Keras passes them to
callbacks; beta in loss units per EBOP) and called with an epoch::

    schedule = LogSchedule([(0, 1e-7), (20, 1e-5), (40, 1e-5)])
    schedule(10)  # 1e-6: geometric interpolation between the points

Before the first point the first beta holds, after the last point the last beta holds.
"""

from __future__ import annotations

import bisect
import math
from typing import Sequence

INTERPOLATIONS = ("constant", "linear", "log")


def _is_number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


class BetaSchedule:
    """Beta (EBOPs weight) as a function of the epoch, through ``(epoch, beta)`` points.

    Args:
        points: ``[(epoch, beta), ...]`` with epochs (0-based, >= 0) strictly increasing and
            betas >= 0 (> 0 for ``interpolation='log'``).
        interpolation: between two points, 'constant' (the beta of the last point reached:
            piecewise constant), 'linear' (linear in beta) or 'log' (linear in log(beta), i.e.
            geometric).

    Raises:
        ValueError: naming the first bad entry and what is accepted.
    """

    interpolation = "constant"

    def __init__(self, points: Sequence[tuple[float, float]], interpolation: str | None = None):
        if interpolation is not None:
            self.interpolation = interpolation
        name = type(self).__name__
        if self.interpolation not in INTERPOLATIONS:
            raise ValueError(
                f"{name}: interpolation={self.interpolation!r} is not accepted; "
                f"accepted values: {', '.join(repr(i) for i in INTERPOLATIONS)}"
            )
        log = self.interpolation == "log"
        accepted = "accepted: a non-empty list of (epoch, beta) pairs with epochs >= 0 and strictly increasing, " + (
            "betas > 0 (log interpolation)" if log else "betas >= 0"
        )
        try:
            entries = list(points)
        except TypeError:
            raise ValueError(f"{name}: points={points!r} is not a list of (epoch, beta) pairs; {accepted}") from None
        if not entries:
            raise ValueError(f"{name}: points is empty; {accepted}")
        epochs: list[float] = []
        betas: list[float] = []
        for n, entry in enumerate(entries):
            where = f"{name}: entry {n} {entry!r}"
            if not isinstance(entry, (tuple, list)) or len(entry) != 2:
                raise ValueError(f"{where} is not an (epoch, beta) pair; {accepted}")
            epoch, beta = entry
            if not _is_number(epoch) or epoch < 0:
                raise ValueError(f"{where}: epoch {epoch!r} is not a number >= 0; {accepted}")
            if epochs and epoch <= epochs[-1]:
                raise ValueError(
                    f"{where}: epoch {epoch!r} is not greater than the previous epoch {entries[n - 1][0]!r}; {accepted}"
                )
            if not _is_number(beta) or beta < 0 or (log and beta == 0):
                raise ValueError(f"{where}: beta {beta!r} is not a number {'> 0' if log else '>= 0'}; {accepted}")
            epochs.append(float(epoch))
            betas.append(float(beta))
        self.epochs = tuple(epochs)
        self.betas = tuple(betas)

    @property
    def points(self) -> list[tuple[float, float]]:
        """The ``(epoch, beta)`` points."""
        return list(zip(self.epochs, self.betas))

    def __call__(self, epoch: float) -> float:
        """Beta (loss units per EBOP) at ``epoch`` (0-based)."""
        j = bisect.bisect_right(self.epochs, epoch)  # number of points at or before epoch
        if j == 0:
            return self.betas[0]
        if j == len(self.epochs) or self.interpolation == "constant":
            return self.betas[j - 1]
        e0, e1 = self.epochs[j - 1], self.epochs[j]
        b0, b1 = self.betas[j - 1], self.betas[j]
        t = (epoch - e0) / (e1 - e0)
        if self.interpolation == "linear":
            return b0 + t * (b1 - b0)
        return math.exp(math.log(b0) + t * (math.log(b1) - math.log(b0)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.points!r}, interpolation={self.interpolation!r})"

    def get_config(self) -> dict:
        return {"points": [list(p) for p in self.points], "interpolation": self.interpolation}


class PieceWiseSchedule(BetaSchedule):
    """Piecewise-constant beta: from each ``(epoch, beta)`` point on, that beta.

    ``PieceWiseSchedule([(0, 0.0), (5, 1e-6), (10, 1e-5)])`` gives 0 for epochs 0-4, 1e-6 for
    5-9 and 1e-5 from 10 on.
    """

    interpolation = "constant"

    def __init__(self, points: Sequence[tuple[float, float]]):
        super().__init__(points)


class LinearSchedule(BetaSchedule):
    """Beta linear between ``(epoch, beta)`` points (betas >= 0), constant outside them."""

    interpolation = "linear"

    def __init__(self, points: Sequence[tuple[float, float]]):
        super().__init__(points)


class LogSchedule(BetaSchedule):
    """Beta geometric (linear in log(beta)) between ``(epoch, beta)`` points (betas > 0),
    constant outside them: the usual HGQ ramp, e.g. ``LogSchedule([(0, 1e-7), (30, 1e-5)])``."""

    interpolation = "log"

    def __init__(self, points: Sequence[tuple[float, float]]):
        super().__init__(points)


__all__ = ["BetaSchedule", "LinearSchedule", "LogSchedule", "PieceWiseSchedule"]
