"""The demo pipeline: convert the shipped QKeras model, check it, fine-tune with HGQ under a beta
schedule, keep the Pareto front, pick a point, synthesize it through hls4ml's C simulation and
write a report folder (markdown summary, JSON, PNG plots, .keras models, hls4ml project).

Everything is written in a temporary sibling folder that replaces ``out`` only at the end, so an
interrupted run leaves the previous report as it was.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable

import numpy as np

MODEL_FILE = "qkeras_digits.h5"
N_VAL = 337
"""Validation samples (from the training part of `load_digits_split`), used to pick checkpoints;
the QKeras model never trained on them."""
ACCURACY_SLACK = 0.005
"""A checkpoint qualifies if its validation accuracy is at most this much (0.5 point) below the
QKeras model's; the cheapest qualifying one (fewest EBOPs) is chosen."""


class DemoError(Exception):
    """A bad demo argument or output folder, with a message naming it."""


@dataclass
class DemoSettings:
    epochs: int = 150
    beta_start: float = 2e-6  # loss units per EBOP
    beta_end: float = 5e-5
    learning_rate: float = 2e-3  # decays to 1% of itself over the run (cosine)
    batch_size: int = 32
    n_random: int = 10_000  # random inputs for the C-simulation check, on top of the test set
    seed: int = 0

    def fine_tune_settings(self) -> Any:
        """The `hgq_compat.training.FineTuneSettings` of the HGQ fine-tuning: absolute betas ramped over
        all epochs, every field given so that a change of `fine_tune`'s defaults leaves the demo as it is."""
        from ..training import FineTuneSettings

        return FineTuneSettings(
            epochs=self.epochs,
            beta_start=self.beta_start,
            beta_end=self.beta_end,
            ramp_fraction=1.0,
            learning_rate=self.learning_rate,
            learning_rate_floor=0.01,
            batch_size=self.batch_size,
            jitter=0.45,
            seed=self.seed,
            jit_compile="auto",  # Keras' choice, as when the README's figures were recorded
        )

    @classmethod
    def quick(cls) -> "DemoSettings":
        return cls(epochs=12, beta_start=5e-6, beta_end=1e-4, learning_rate=2e-3, n_random=1_000)


def shipped_model_path() -> Path:
    """The QKeras 0.9.0 ``.h5`` model shipped with the package."""
    return Path(str(resources.files("hgq_compat.demo") / "data" / MODEL_FILE))


def _metadata() -> dict[str, Any]:
    return json.loads((shipped_model_path().with_suffix(".json")).read_text())


def _accuracy(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(model.predict(x, verbose=0, batch_size=1024), -1) == y))


class _Progress:
    """One line per epoch: beta, losses, validation accuracy and EBOPs."""

    def __init__(self, epochs: int, say: Callable[[str], None]):
        import keras

        outer = self

        class Callback(keras.callbacks.Callback):
            def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
                logs = logs or {}
                outer.say(
                    f"  epoch {epoch + 1:3d}/{outer.epochs}  beta {logs.get('beta', 0):.2e}  "
                    f"loss {logs.get('loss', float('nan')):.4f}  val_accuracy {logs.get('val_accuracy', 0):.4f}  "
                    f"EBOPs {logs.get('ebops', 0):>9,.0f}"
                )

        self.epochs, self.say, self.callback = epochs, say, Callback()


def run_demo(
    out: str | os.PathLike = "hgq-compat-demo",
    settings: DemoSettings | None = None,
    force: bool = False,
    synth: bool = True,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the whole demo and write the report folder ``out``. Returns the summary numbers
    (also in ``out/summary.json``)."""
    import keras

    from .._atomic import atomic_dir, check_output_dir
    from ..datasets import load_digits_split
    from ..legacy.converter import convert_qkeras_model
    from ..report import format_report, model_report, save_report_json
    from ..training import enable_determinism, fine_tune, model_ebops, select_pareto_point

    settings = settings or DemoSettings()
    out = Path(out).absolute()
    check_output_dir(out, force, DemoError, force_hint="pass --force to replace it", other_hint="choose another --out")
    t_start = time.perf_counter()
    meta = _metadata()
    enable_determinism(settings.seed)
    x_train, y_train, x_test, y_test = load_digits_split(0)
    x_val, y_val, x_fit, y_fit = x_train[:N_VAL], y_train[:N_VAL], x_train[N_VAL:], y_train[N_VAL:]

    with atomic_dir(out) as tmp_name:
        tmp = Path(tmp_name)
        # 1. the QKeras model, converted: same numbers as QKeras
        say(f"[1/5] converting the QKeras model {shipped_model_path().name} (QKeras {meta['versions']['qkeras']})")
        original = convert_qkeras_model(shipped_model_path())
        reference = np.load(shipped_model_path().with_name("qkeras_digits_test_logits.npz"))["logits"]
        logits = np.asarray(original.predict(x_test, verbose=0))
        max_diff = float(np.max(np.abs(logits - reference)))
        acc_original = _accuracy(original, x_test, y_test)
        val_original = _accuracy(original, x_val, y_val)
        ebops_original = model_ebops(original)
        say(
            f"      test accuracy {acc_original:.4f} (QKeras: {meta['qkeras_test_accuracy']:.4f}), largest logit "
            f"difference from QKeras {max_diff:g}, EBOPs {ebops_original:,.0f}"
        )
        if abs(acc_original - meta["qkeras_test_accuracy"]) > 1e-9:
            raise RuntimeError(
                f"the converted model's accuracy {acc_original} differs from QKeras's "
                f"{meta['qkeras_test_accuracy']}: conversion is broken"
            )
        original.save(tmp / "qkeras_converted.keras")
        report_original = model_report(original)

        # 2. HGQ fine-tuning under a beta schedule, keeping the Pareto front
        say(
            f"[2/5] HGQ fine-tuning: {settings.epochs} epochs, beta {settings.beta_start:g} -> {settings.beta_end:g} "
            "(log schedule), learning rate decaying (cosine), per-element bitwidths"
        )
        model = convert_qkeras_model(shipped_model_path(), hgq=True)
        progress = _Progress(settings.epochs, say)
        t0 = time.perf_counter()
        result = fine_tune(
            model,
            x_fit,
            y_fit,
            (x_val, y_val),
            tmp / "checkpoints",
            settings.fine_tune_settings(),
            callbacks=[progress.callback],
        )
        train_seconds = time.perf_counter() - t0

        # 3. pick the cheapest Pareto point within half a point of the original's validation accuracy
        chosen = select_pareto_point(result.front, tolerance=ACCURACY_SLACK, reference=val_original)
        say(
            f"[3/5] Pareto front: {len(result.front)} checkpoints; chose epoch {chosen['epoch'] + 1} "
            f"(val_accuracy {chosen['val_accuracy']:.4f}, EBOPs {chosen['ebops']:,.0f})"
        )
        hgq = keras.saving.load_model(chosen["path"], compile=False)
        hgq.save(tmp / "hgq_chosen.keras")
        acc_hgq = _accuracy(hgq, x_test, y_test)
        ebops_hgq = model_ebops(hgq)
        report_hgq = model_report(hgq)
        save_report_json(report_hgq, tmp / "hgq_layers.json")
        (tmp / "hgq_layers.txt").write_text(format_report(report_hgq) + "\n")

        # 4. hls4ml: C simulation of the chosen point against Keras
        synth_report = None
        if synth:
            from hls4ml_plugin.synth import random_inputs, synthesize

            say("[4/5] hls4ml: writing the project and compiling the C simulation (g++)")
            x_check = np.concatenate([x_test, random_inputs((64,), settings.n_random, settings.seed)])
            synth_report = synthesize(hgq, tmp / "hls4ml_prj", backend="Vitis", check_data=x_check)
            say(f"      {synth_report.status_line()}")
        else:
            say("[4/5] hls4ml synthesis skipped")

        # 5. plots and the summary
        say("[5/5] writing plots and the summary")
        plots = _plots(result.front, hgq, tmp, ebops_original, val_original, say)
        summary = {
            "qkeras": {
                "test_accuracy": acc_original,
                "val_accuracy": val_original,
                "ebops": ebops_original,
                "pruned_fraction": report_original["totals"]["pruned_fraction"],
                "weight_bits_mean": report_original["totals"]["weight_bits_mean"],
                "qkeras_test_accuracy": meta["qkeras_test_accuracy"],
                "max_logit_difference": max_diff,
            },
            "hgq": {
                "test_accuracy": acc_hgq,
                "val_accuracy": chosen["val_accuracy"],
                "ebops": ebops_hgq,
                "epoch": chosen["epoch"] + 1,
                "pruned_fraction": report_hgq["totals"]["pruned_fraction"],
                "weight_bits_mean": report_hgq["totals"]["weight_bits_mean"],
            },
            "ebops_reduction": ebops_original / ebops_hgq if ebops_hgq else float("inf"),
            "accuracy_change_points": 100 * (acc_hgq - acc_original),
            "pareto_points": len(result.front),
            "mismatches": None if synth_report is None else synth_report.mismatches,
            "checked_inputs": None if synth_report is None else synth_report.n_inputs,
            "exact": None if synth_report is None else synth_report.exact,
            "settings": settings.__dict__,
            "train_seconds": train_seconds,
            "total_seconds": None,
            "plots": plots,
            "history": result.history,
        }
        summary["total_seconds"] = time.perf_counter() - t_start
        (tmp / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
        (tmp / "README.md").write_text(_markdown(summary, report_hgq, synth_report, out))
    say("")
    say(_headline(summary))
    say(f"report: {out / 'README.md'}")
    return summary


def _plots(
    records: list[dict], model: Any, tmp: Path, ebops_original: float, val_original: float, say: Callable[[str], None]
) -> list[str]:
    try:
        from ..plots import plot_bitwidth_histograms, plot_bitwidth_maps, plot_pareto
    except ImportError as exc:  # pragma: no cover - depends on the environment
        say(f"      plots skipped: {exc}")
        return []
    try:
        paths = [
            plot_pareto(
                records,
                tmp / "pareto.png",
                metric="val_accuracy",
                title=f"HGQ Pareto front (QKeras: {val_original:.4f} at {ebops_original:,.0f} EBOPs)",
            ),
            plot_bitwidth_histograms(model, tmp / "bitwidth_histograms.png"),
        ]
        paths += plot_bitwidth_maps(model, tmp / "bitwidth_maps")
    except ImportError as exc:
        say(f"      plots skipped: {exc}")
        return []
    return [str(Path(p).relative_to(tmp)) for p in paths]


def _headline(s: dict) -> str:
    q, h = s["qkeras"], s["hgq"]
    exact = (
        "not synthesized"
        if s["exact"] is None
        else f"{s['mismatches']} mismatches in {s['checked_inputs']:,} C-simulation inputs"
    )
    return (
        f"QKeras {q['test_accuracy']:.4f} accuracy at {q['ebops']:,.0f} EBOPs -> HGQ {h['test_accuracy']:.4f} at "
        f"{h['ebops']:,.0f} EBOPs: {s['ebops_reduction']:.1f}x fewer EBOPs, "
        f"{s['accuracy_change_points']:+.2f} accuracy points, {exact}"
    )


def _markdown(s: dict, report_hgq: dict, synth_report: Any, out: Path) -> str:
    from ..report import format_report

    q, h = s["qkeras"], s["hgq"]
    pct = lambda v: "-" if v is None else f"{100 * v:.1f}%"  # noqa: E731
    lines = [
        "# hgq-compat demo report",
        "",
        _headline(s),
        "",
        "| | QKeras original (converted) | HGQ fine-tuned |",
        "|---|---|---|",
        f"| test accuracy (449 digits) | {q['test_accuracy']:.4f} | {h['test_accuracy']:.4f} |",
        f"| validation accuracy (337 digits) | {q['val_accuracy']:.4f} | {h['val_accuracy']:.4f} |",
        f"| EBOPs | {q['ebops']:,.0f} | {h['ebops']:,.0f} |",
        f"| EBOPs reduction | 1x | {s['ebops_reduction']:.2f}x |",
        f"| pruned weights | {pct(q['pruned_fraction'])} | {pct(h['pruned_fraction'])} |",
        f"| mean weight bits | {q['weight_bits_mean']:.2f} | {h['weight_bits_mean']:.2f} |",
        f"| hls4ml C simulation vs Keras | | {'-' if s['exact'] is None else str(s['mismatches']) + ' mismatches'} |",
        "",
        f"The converted model equals QKeras 0.9.0: largest logit difference {q['max_logit_difference']:g}, test "
        f"accuracy {q['test_accuracy']:.4f} (QKeras: {q['qkeras_test_accuracy']:.4f}).",
        f"HGQ fine-tuning ran {s['settings']['epochs']} epochs with beta {s['settings']['beta_start']:g} -> "
        f"{s['settings']['beta_end']:g} (log schedule, learning rate decaying by a cosine to 1%) in {s['train_seconds']:.0f} s; the Pareto front kept "
        f"{s['pareto_points']} checkpoints (`checkpoints/pareto.csv`). The chosen one (epoch {h['epoch']}) is the one "
        "with the fewest EBOPs whose validation accuracy is at most 0.5 point below the original's.",
        "",
    ]
    if synth_report is not None:
        lines += ["## hls4ml", "", "```", synth_report.format(), "```", ""]
    lines += ["## Bits per layer (HGQ model)", "", "```", format_report(report_hgq), "```", ""]
    if s["plots"]:
        lines += ["## Plots", ""] + [f"![{p}]({p})" for p in s["plots"]] + [""]
    lines += [
        "## Files",
        "",
        "- `qkeras_converted.keras`: the QKeras model as an hgq_compat model (QKeras mode)",
        "- `hgq_chosen.keras`: the chosen HGQ model; `checkpoints/`: every Pareto checkpoint",
        "- `hls4ml_prj/`: the hls4ml project of the chosen model (run its `build_prj.tcl` with Vitis HLS)",
        "- `summary.json`, `hgq_layers.json`, `hgq_layers.txt`: the numbers above",
        "",
        f"Reproduce: `hgq-compat demo --out {out.name} --epochs {s['settings']['epochs']} --force`",
        "",
    ]
    return "\n".join(lines)
