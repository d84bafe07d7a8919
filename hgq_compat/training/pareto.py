"""Pareto front of (metric, EBOPs) during training: keep the checkpoints nothing beats.

`ParetoFront` is a Keras callback; `pareto_front`, `load_pareto_front` and
`select_pareto_point` work on plain numbers and records, without a model.

A point is kept when no kept point is at least as good in every metric (ties: the earlier
point wins); kept points that the new one is at least as good as are dropped, with their
checkpoints.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import os
import string
import warnings
from typing import Any, Callable, Sequence

import keras

from .._atomic import atomic_path, write_text_atomic
from .model import model_ebops

CSV_NAME = "pareto.csv"


def _check_sides(sides: Sequence[int], n: int, where: str) -> tuple[int, ...]:
    sides = tuple(sides)
    if len(sides) != n or any(s not in (1, -1) or isinstance(s, bool) for s in sides):
        raise ValueError(
            f"{where}: sides={sides!r} is not accepted; accepted values: one of 1 (higher is better) "
            f"or -1 (lower is better) per metric ({n} metrics)"
        )
    return sides


def weakly_dominates(a: Sequence[float], b: Sequence[float], sides: Sequence[int]) -> bool:
    """True if point ``a`` is at least as good as ``b`` in every metric (``sides``: 1 where
    higher is better, -1 where lower is better)."""
    return all(s * x >= s * y for x, y, s in zip(a, b, sides))


def update_front(
    front: Sequence[Sequence[float]], point: Sequence[float], sides: Sequence[int]
) -> tuple[bool, list[int]]:
    """One step of the front: (accepted, indices of ``front`` that ``point`` makes dominated).

    ``point`` is rejected when some point of ``front`` is at least as good in every metric
    (so equal points keep the earlier one); otherwise it is accepted and every point of
    ``front`` it is at least as good as is to be dropped.
    """
    if any(weakly_dominates(q, point, sides) for q in front):
        return False, []
    return True, [n for n, q in enumerate(front) if weakly_dominates(point, q, sides)]


def pareto_front(points: Sequence[Sequence[float]], sides: Sequence[int] = (1, -1)) -> list[int]:
    """Indices (in order) of the points `ParetoFront` keeps when given ``points`` in order.

    These are the points no other point strictly dominates, an earlier copy of an equal point
    winning. Points with a NaN are skipped.
    """
    if not points:
        return []
    sides = _check_sides(sides, len(points[0]), "pareto_front")
    kept: list[int] = []
    for n, p in enumerate(points):
        p = [float(x) for x in p]
        if any(math.isnan(x) for x in p):
            continue
        accepted, drop = update_front([points[k] for k in kept], p, sides)
        if accepted:
            kept = [k for j, k in enumerate(kept) if j not in drop] + [n]
    return kept


def _default_fname_format(metrics: Sequence[str]) -> str:
    parts = [f"{m}={{{m}:.0f}}" if m == "ebops" else f"{m}={{{m}:.4f}}" for m in metrics]
    return "-".join(["epoch={epoch}"] + parts) + ".keras"


class ParetoFront(keras.callbacks.Callback):
    """Saves the model whenever its (metric, EBOPs) point joins the Pareto front.

    At each epoch end the point ``[logs[m] for m in metrics]`` is compared with the kept
    points: if none of them is at least as good in every metric, the model is saved (``.keras``,
    written atomically) under ``path``, the checkpoints of points it now dominates are
    deleted, and ``path/pareto.csv`` (columns ``epoch``, the metrics, ``filename``) is
    rewritten atomically with the kept points.

    Args:
        path: directory for the checkpoints and the CSV (created if needed).
        metrics: names of the logged values to compare; 'ebops' (EBOPs of the model) is
            computed with `model_ebops` and put into the logs if no `FreeEBOPs` put it there.
        sides: per metric, 1 if higher is better (accuracy) or -1 if lower is (loss, EBOPs).
        fname_format: checkpoint file name template, formatted with ``epoch`` (0-based, as
            Keras passes it to callbacks and as ``History`` indexes it) and the metric values;
            must end in '.keras'. Default ``'epoch={epoch}-val_accuracy={val_accuracy:.4f}-ebops={ebops:.0f}.keras'``
            for the default metrics.
        csv_name: name of the CSV file in ``path``.
        enable_if: optional ``logs -> bool``; epochs where it is false are not considered
            (e.g. ``lambda logs: logs['val_accuracy'] > 0.5``).
        resume: start from the front recorded in ``path/csv_name`` (if present) instead of an
            empty one.
        verbose: 1 prints a line per saved checkpoint.

    Attributes:
        records: the kept points, in epoch order: dicts with ``epoch``, each metric,
            ``filename`` (relative to ``path``) and ``path`` (full path).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        metrics: Sequence[str] = ("val_accuracy", "ebops"),
        sides: Sequence[int] = (1, -1),
        fname_format: str | None = None,
        csv_name: str = CSV_NAME,
        enable_if: Callable[[dict], bool] | None = None,
        resume: bool = False,
        verbose: int = 0,
    ):
        super().__init__()
        if isinstance(metrics, str):
            metrics = (metrics,)
        self.metrics = tuple(metrics)
        if (
            not self.metrics
            or len(set(self.metrics)) != len(self.metrics)
            or not all(isinstance(m, str) and m.isidentifier() for m in self.metrics)
            or "epoch" in self.metrics
            or "filename" in self.metrics
            or "path" in self.metrics
        ):
            raise ValueError(
                f"ParetoFront: metrics={metrics!r} is not accepted; accepted values: distinct log names "
                "(Python identifiers such as 'val_accuracy', 'ebops'; not 'epoch', 'filename', 'path')"
            )
        self.sides = _check_sides(sides, len(self.metrics), "ParetoFront")
        self.path = os.fspath(path)
        self.fname_format = fname_format if fname_format is not None else _default_fname_format(self.metrics)
        self._check_fname_format()
        if os.sep in csv_name or (os.altsep and os.altsep in csv_name) or not csv_name.endswith(".csv"):
            raise ValueError(
                f"ParetoFront: csv_name={csv_name!r} is not accepted; accepted values: a file name "
                "ending in '.csv', without directories"
            )
        self.csv_name = csv_name
        self.enable_if = enable_if
        self.resume = bool(resume)
        self.verbose = verbose
        self.records: list[dict] = []

    def _check_fname_format(self) -> None:
        fmt = self.fname_format
        accepted = (
            "accepted values: a file name (no directories) ending in '.keras', with fields among "
            f"{{epoch}} and {', '.join('{' + m + '}' for m in self.metrics)}"
        )
        if not isinstance(fmt, str) or not fmt.endswith(".keras") or os.sep in fmt or (os.altsep and os.altsep in fmt):
            raise ValueError(f"ParetoFront: fname_format={fmt!r} is not accepted; {accepted}")
        allowed = {"epoch", *self.metrics}
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(fmt) if f is not None]
            bad = [f for f in fields if f not in allowed]
            if bad:
                raise KeyError(bad[0])
            fmt.format(epoch=0, **{m: 0.0 for m in self.metrics})
        except (KeyError, ValueError, IndexError, AttributeError) as e:
            raise ValueError(
                f"ParetoFront: fname_format={fmt!r} does not format ({type(e).__name__}: {e}); {accepted}"
            ) from None

    @property
    def csv_path(self) -> str:
        return os.path.join(self.path, self.csv_name)

    # ------------------------------------------------------------------ callback
    def on_train_begin(self, logs: dict | None = None) -> None:
        os.makedirs(self.path, exist_ok=True)
        if self.resume and not self.records and os.path.exists(self.csv_path):
            records = load_pareto_front(self.csv_path)
            missing = [m for m in self.metrics if records and m not in records[0]]
            if missing:
                raise ValueError(f"ParetoFront(resume=True): {self.csv_path} has no column(s) {missing}")
            self.records = [
                {
                    "epoch": r["epoch"],
                    **{m: r[m] for m in self.metrics},
                    "filename": r["filename"],
                    "path": os.path.join(self.path, r["filename"]),
                }
                for r in records
            ]

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is None:
            logs = {}
        if "ebops" in self.metrics and "ebops" not in logs:
            logs["ebops"] = model_ebops(self.model)
        missing = [m for m in self.metrics if m not in logs]
        if missing:
            hint = " (pass validation_data to fit)" if any(m.startswith("val_") for m in missing) else ""
            raise ValueError(f"ParetoFront: metric(s) {missing} not in the logs{hint}; logged: {sorted(logs)}")
        if self.enable_if is not None and not self.enable_if(logs):
            return
        self.consider(epoch, {m: float(logs[m]) for m in self.metrics})

    # ------------------------------------------------------------------ the front
    def consider(self, epoch: int, values: dict[str, float]) -> bool:
        """Add the point of ``epoch`` with metric ``values`` if it is not dominated: save the
        model, drop dominated checkpoints, rewrite the CSV. Returns whether it was kept."""
        point = [float(values[m]) for m in self.metrics]
        if any(math.isnan(x) for x in point):
            warnings.warn(
                f"ParetoFront: epoch {epoch} has a NaN metric {dict(zip(self.metrics, point))}; skipped", stacklevel=2
            )
            return False
        front = [[r[m] for m in self.metrics] for r in self.records]
        accepted, drop = update_front(front, point, self.sides)
        if not accepted:
            return False
        dropped = [r for n, r in enumerate(self.records) if n in drop]
        kept = [r for n, r in enumerate(self.records) if n not in drop]
        filename = self._unique_filename(
            self.fname_format.format(epoch=epoch, **dict(zip(self.metrics, point))), {r["filename"] for r in kept}
        )
        os.makedirs(self.path, exist_ok=True)
        full = os.path.join(self.path, filename)
        with atomic_path(full) as tmp:
            self.model.save(tmp)
        record = {"epoch": int(epoch), **dict(zip(self.metrics, point)), "filename": filename, "path": full}
        self.records = kept + [record]
        self._write_csv()
        for r in dropped:
            if r["filename"] != filename:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(os.path.join(self.path, r["filename"]))
        if self.verbose:
            print(
                f"\nEpoch {epoch + 1}: ParetoFront saved {full} "
                f"({len(self.records)} point(s) kept, {len(dropped)} dropped)"
            )
        return True

    @staticmethod
    def _unique_filename(name: str, taken: set[str]) -> str:
        stem, n = name[: -len(".keras")], 1
        while name in taken:
            name, n = f"{stem}-{n}.keras", n + 1
        return name

    def _write_csv(self) -> None:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["epoch", *self.metrics, "filename"])
        for r in self.records:
            writer.writerow([r["epoch"], *(repr(r[m]) for m in self.metrics), r["filename"]])
        write_text_atomic(self.csv_path, buf.getvalue())


# ---------------------------------------------------------------------- records
def load_pareto_front(path: str | os.PathLike) -> list[dict]:
    """The kept points written by `ParetoFront`.

    Args:
        path: the CSV file, or the callback's directory (reads its ``pareto.csv``).

    Returns:
        One dict per point, in epoch order: ``epoch`` (int), each metric (float),
        ``filename`` and ``path`` (the checkpoint's path: the CSV's directory joined with
        ``filename``; load it with ``keras.saving.load_model``).
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, CSV_NAME)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no Pareto front CSV at {path}")
    directory = os.path.dirname(path)  # paths as given, like ParetoFront.records
    records = []
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or "epoch" not in reader.fieldnames or "filename" not in reader.fieldnames:
            raise ValueError(
                f"{path} is not a ParetoFront CSV (columns: epoch, <metrics>, filename); "
                f"found columns {reader.fieldnames}"
            )
        for row in reader:
            record: dict[str, Any] = {"epoch": int(row["epoch"])}
            for key, value in row.items():
                if key not in ("epoch", "filename"):
                    record[key] = float(value)
            record["filename"] = row["filename"]
            record["path"] = os.path.join(directory, row["filename"])
            records.append(record)
    return records


def select_pareto_point(
    records: Sequence[dict] | str | os.PathLike,
    metric: str = "val_accuracy",
    tolerance: float = 0.0,
    side: int = 1,
    cost: str = "ebops",
    reference: float | None = None,
) -> dict:
    """The cheapest point whose ``metric`` is within ``tolerance`` of the best one (or of ``reference``).

    Args:
        records: `ParetoFront.records`, the result of `load_pareto_front`, or a path for it.
        metric: the quality metric (e.g. 'val_accuracy').
        tolerance: how much worse than the best ``metric`` is acceptable, in the metric's
            units (0.01 = one accuracy point); 0 picks the cheapest of the best points.
        side: 1 if higher ``metric`` is better, -1 if lower is.
        cost: the cost to minimise among the acceptable points, 'ebops' by default (EBOPs).
        reference: measure ``tolerance`` from this value (e.g. the original model's validation
            accuracy) instead of the best point's; if no point is within it, the best point is chosen.

    Returns:
        The chosen record (ties in cost: the earlier epoch).
    """
    if isinstance(records, (str, os.PathLike)):
        records = load_pareto_front(records)
    records = list(records)
    if not records:
        raise ValueError("select_pareto_point: no records (the Pareto front is empty)")
    if side not in (1, -1) or isinstance(side, bool):
        raise ValueError(
            f"select_pareto_point: side={side!r} is not accepted; accepted values: 1 (higher is better), "
            "-1 (lower is better)"
        )
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not tolerance >= 0:
        raise ValueError(
            f"select_pareto_point: tolerance={tolerance!r} is not accepted; accepted values: a number >= 0"
        )
    for key in (metric, cost):
        if key not in records[0]:
            raise ValueError(f"select_pareto_point: records have no {key!r}; keys: {sorted(records[0])}")
    if reference is not None and (
        isinstance(reference, bool) or not isinstance(reference, (int, float)) or not math.isfinite(reference)
    ):
        raise ValueError(f"select_pareto_point: reference={reference!r} is not accepted; accepted values: a number")
    best = max(side * r[metric] for r in records)
    target = best if reference is None else side * reference
    slack = 1e-12 * max(1.0, abs(target))  # so that 0.94 is within 0.01 of 0.95
    ok = [r for r in records if side * r[metric] >= target - tolerance - slack]
    if not ok:  # nothing within tolerance of the reference: the best point
        ok = [r for r in records if side * r[metric] >= best]
    return min(ok, key=lambda r: (r[cost], r["epoch"]))


__all__ = [
    "ParetoFront",
    "load_pareto_front",
    "pareto_front",
    "select_pareto_point",
    "update_front",
    "weakly_dominates",
]
