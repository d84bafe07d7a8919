#!/usr/bin/env python
"""Run every benchmark and write JSON results, the markdown report and RESULTS.md.

Usage::

    python benchmarks/run_all.py                 # everything (a few hours on 2 cores); rewrites RESULTS.md
    python benchmarks/run_all.py --quick         # a few minutes: smaller everything
    python benchmarks/run_all.py --no-venvs      # hgq-compat only (no HGQ2 / QKeras 0.9.0)

Parts (each also runs alone, see its module): `throughput.py` (training samples/s and ratios),
`memory.py` (peak training memory), `migration.py` (the migration workflow: best uniform
QKeras-mode model fine-tuned in HGQ mode, four tasks over seeds), `synthesis.py` (hls4ml
conversion, compile time, mismatches, including the migration's seed-0 models). Output (default
``benchmarks/results/full`` or ``benchmarks/results/quick``): one JSON per part, ``summary.json``,
``report.md``; a full run (not ``--quick``, nothing skipped, default output) also writes
``benchmarks/RESULTS.md`` from the same data.

``--quick``: TensorFlow only; HGQ2 / QKeras 0.9.0 only if their venvs already exist (no pip);
migration on digits only with two bitwidths and a few epochs; synthesis of one model.
A comparison that cannot run fails loudly: without network access the venvs cannot be created and
the run stops with the pip error (``--no-venvs`` measures hgq-compat alone, and the report says so).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

TARGETS = {
    "hgq_speedup_vs_hgq2_normalized": (">=", 1.2),
    "hgq_overhead_vs_float": ("<=", 1.5),
    "qkeras_mode_speedup_vs_qkeras090_normalized": (">=", 1.0),
}
PARTS = ("throughput", "memory", "migration", "synthesis")


def main(argv: list[str] | None = None) -> int:
    from common import BENCH_DIR, machine, write_json

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="minutes instead of an hour; smaller everything")
    p.add_argument("--out", default=None, help="output directory")
    p.add_argument("--no-venvs", action="store_true", help="skip HGQ2 and QKeras 0.9.0 (no venvs)")
    p.add_argument("--offline", action="store_true", help="use existing venvs and caches only, never pip install")
    p.add_argument(
        "--backends",
        default=None,
        help="throughput backends (default: tensorflow, + jax if installed; --quick: tensorflow)",
    )
    p.add_argument("--tasks", default=None, help="migration tasks (default: all four; --quick: digits_mlp,digits_cnn)")
    p.add_argument("--seeds", default=None, help="migration seeds (default 0,1,2; --quick: 0)")
    p.add_argument("--skip", default="", help="comma list of parts to skip: " + ", ".join(PARTS))
    p.add_argument("--rounds", type=int, default=None, help="throughput rounds")
    args = p.parse_args(argv)
    out = Path(args.out) if args.out else BENCH_DIR / "results" / ("quick" if args.quick else "full")
    out.mkdir(parents=True, exist_ok=True)
    skip = {s for s in args.skip.split(",") if s}
    offline = args.offline or args.quick
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    report: dict[str, Any] = {"machine": machine(), "quick": args.quick, "argv": sys.argv[1:] if argv is None else argv}

    if "throughput" not in skip:
        import throughput

        t = time.perf_counter()
        backends = (
            args.backends.split(",")
            if args.backends
            else (["tensorflow"] if args.quick else throughput.default_backends())
        )
        rounds = args.rounds or (3 if args.quick else 15)
        res = throughput.run(
            backends, ["jet_mlp", "digits_cnn"], rounds, 8 if args.quick else 16, not args.no_venvs, offline
        )
        throughput.print_summary(res)
        write_json(out / "throughput.json", res)
        report["throughput"] = res
        timings["throughput"] = time.perf_counter() - t

    if "memory" not in skip:
        import memory

        t = time.perf_counter()
        archs = ["jet_mlp"] if args.quick else None
        res = memory.run(
            [1024] if args.quick else [1024, 8192], 4 if args.quick else 8, not args.no_venvs, offline, archs
        )
        res["machine"] = machine()
        print(memory.markdown(res))
        write_json(out / "memory.json", res)
        report["memory"] = res
        timings["memory"] = time.perf_counter() - t

    trained: list[tuple[str, Path, str]] = []
    if "migration" not in skip:
        import migration

        t = time.perf_counter()
        tasks = args.tasks.split(",") if args.tasks else (["digits_mlp", "digits_cnn"] if args.quick else None)
        seeds = [int(v) for v in (args.seeds or ("0" if args.quick else "0,1,2")).split(",")]
        res = migration.run(tasks, seeds, jobs=2, quick=args.quick, models_dir=out / "models")
        res["machine"] = machine()
        write_json(out / "migration.json", res)
        report["migration"] = res
        timings["migration"] = time.perf_counter() - t
        trained = migration.trained_models(res, out / "models", seed=seeds[0])

    if "synthesis" not in skip:
        import synthesis

        t = time.perf_counter()
        res = synthesis.run(args.quick, trained[:2] if args.quick else trained)
        res.setdefault("machine", machine())
        write_json(out / "synthesis.json", res)
        report["synthesis"] = res
        timings["synthesis"] = time.perf_counter() - t

    # parts skipped in this invocation but measured by an earlier one into the same directory
    import json

    for part in PARTS:
        path = out / f"{part}.json"
        if part in skip and part not in report and path.exists():
            earlier = json.loads(path.read_text())
            commit = (earlier.get("machine") or {}).get("git_commit")
            if commit != report["machine"].get("git_commit"):
                raise SystemExit(
                    f"run_all: {path} was measured at commit {commit}, not at this commit "
                    f"{report['machine'].get('git_commit')}: a report is made from one commit; "
                    f"rerun {part} (or use another --out)"
                )
            report[part] = earlier
            report.setdefault("merged", []).append(part)
            print(f"[run_all] {part}: using the earlier results in {path}")
    timings["total"] = time.perf_counter() - t0
    report["timings_s"] = timings
    report["targets"] = evaluate_targets(report)
    write_json(out / "summary.json", {k: report[k] for k in ("machine", "quick", "argv", "timings_s", "targets")})
    text = markdown(report)
    (out / "report.md").write_text(text)
    if not args.quick and not skip and not args.out and not args.no_venvs:
        (BENCH_DIR / "RESULTS.md").write_text(results_md(text))
        print(f"wrote {BENCH_DIR / 'RESULTS.md'}")
    print(
        f"\nwrote {out}/report.md; total {timings['total']:.0f} s "
        + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items() if k != "total")
    )
    for line in report["targets"]:
        print(f"target {line['target']}: measured {line['measured']} -> {line['status']}")
    return 0


# ============================================================================ targets and report


def _fmt(v: Any, digits: int = 2) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def evaluate_targets(report: dict) -> list[dict]:
    rows = []
    tp = report.get("throughput")
    if tp:
        for backend, per_arch in tp["ratios"].items():
            for arch, ratios in per_arch.items():
                for name, (op, goal) in TARGETS.items():
                    if name in ratios:
                        v = ratios[name]["wall"]
                        ok = v >= goal if op == ">=" else v <= goal
                        rows.append(
                            {
                                "target": f"{name} {op} {goal} ({backend}, {arch})",
                                "measured": round(v, 2),
                                "status": "met" if ok else "NOT met",
                            }
                        )
    mem = report.get("memory")
    if mem:
        for key, r in mem["results"].items():
            v = r["ratios"]["hgq_vs_float"]
            rows.append(
                {
                    "target": f"HGQ-mode training memory / float <= 2 ({key.replace('/', ', batch ')})",
                    "measured": round(v, 2),
                    "status": "met" if v <= 2 else "NOT met",
                }
            )
    mig = report.get("migration")
    if mig:
        for task, sm in mig["summary"].items():
            rows.append(
                {
                    "target": f"migration: >= 5x fewer EBOPs at >= -0.5 test points, mean of {len(sm['seeds'])} seeds "
                    f"({task})",
                    "measured": f"{sm['reduction_mean']:.1f}x, {sm['accuracy_change_mean']:+.2f}",
                    "status": "met" if sm["target_met"] else "NOT met",
                }
            )
    syn = report.get("synthesis")
    if syn:
        rows.append(
            {
                "target": "hls4ml C simulation mismatches == 0",
                "measured": syn["total_mismatches"],
                "status": "met" if syn["total_mismatches"] == 0 else "NOT met",
            }
        )
    return rows


VARIANT_NAMES = {
    "float": "float Keras",
    "qkeras": "QKeras mode",
    "hgq": "HGQ mode",
    "hgq_xla": "HGQ mode, jit_compile=True",
    "hgq2": "HGQ2",
    "float_hgq2venv": "float Keras (HGQ2 venv)",
    "qkeras_legacy": "QKeras 0.9.0",
    "float_tfkeras": "float tf-keras",
    "float_baseline": "float (baseline src)",
    "qkeras_baseline": "QKeras mode (baseline src)",
    "hgq_baseline": "HGQ mode (baseline src)",
}


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [
        f"# Benchmark report ({'quick' if report['quick'] else 'full'} run)",
        "",
        f"Machine: {m.get('cpu', '?')}, {m.get('cpu_count')} cores, {m.get('memory_gib', '?')} GiB, "
        f"{m.get('platform')}; Python {m.get('python')}; load average at start {m.get('load_average')}. "
        f"Versions: "
        + ", ".join(f"{k} {v}" for k, v in m.get("versions", {}).items() if v)
        + f"; hgq-compat commit {m.get('git_commit', '?')}.",
        "",
        "Command: `python benchmarks/run_all.py "
        + " ".join(report.get("argv") or [])
        + "`"
        + (
            f" (with the {', '.join(report['merged'])} results of an earlier run into the same directory)"
            if report.get("merged")
            else ""
        ),
        "",
    ]
    tp = report.get("throughput")
    if tp:
        c = tp["config"]
        lines += [
            "## Training throughput",
            "",
            f"Samples/s after warm-up: best of {c['rounds']} interleaved rounds of one epoch of "
            f"{c['steps']} batches (batch "
            + ", ".join(f"{b} for {a}" for a, b in c["batch"].items())
            + "); other load only adds time, so the best round "
            "is the least disturbed one. Ratios: of the best rounds, wall clock; in brackets the median "
            "over rounds of the per-round ratio, then the ratio of best CPU times.",
            "",
        ]
        for backend, per_arch in tp["results"].items():
            variants = [v for v in VARIANT_NAMES if any(v in r for r in per_arch.values())]
            lines += [
                f"### {backend}",
                "",
                "| model | " + " | ".join(VARIANT_NAMES[v] for v in variants) + " |",
                "|---|" + "---:|" * len(variants),
            ]
            for arch, r in per_arch.items():
                lines.append(
                    f"| {arch} | "
                    + " | ".join(f"{r[v]['samples_per_s']:.0f}" if v in r else "-" for v in variants)
                    + " |"
                )
            lines += [
                "",
                "| ratio | " + " | ".join(per_arch) + " | meaning |",
                "|---|" + "---:|" * len(per_arch) + "---|",
            ]
            names = []
            for arch in per_arch:
                for name in tp["ratios"].get(backend, {}).get(arch, {}):
                    if name not in names:
                        names.append(name)
            for name in names:
                cells, meaning = [], ""
                for arch in per_arch:
                    v = tp["ratios"].get(backend, {}).get(arch, {}).get(name)
                    cells.append(f"{v['wall']:.2f} ({v['wall_paired_median']:.2f}; {v['cpu']:.2f})" if v else "-")
                    meaning = v["meaning"] if v else meaning
                lines.append(f"| {name} | " + " | ".join(cells) + f" | {meaning} |")
            lines.append("")
        for s in tp.get("skipped", []):
            lines.append(f"- SKIPPED: {s}")
        lines.append("")
    mem = report.get("memory")
    if mem:
        import memory

        lines += ["## Peak training memory", "", memory.markdown(mem)]
    mig = report.get("migration")
    if mig:
        import migration

        lines += ["## The migration workflow: EBOPs at equal accuracy", "", migration.describe(mig), ""]
        lines += [migration.markdown(mig["summary"]), migration.details(mig), ""]
    syn = report.get("synthesis")
    if syn:
        lines += [
            "## hls4ml synthesis (C simulation)",
            "",
            "| model | EBOPs | convert (s) | compile (s) | inputs | outputs | mismatches |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in syn["models"]:
            lines.append(
                f"| {r['model']} | {r['ebops']:.0f} | {r['convert_s']:.1f} | {r['compile_s']:.1f} | "
                f"{r['inputs']} | {r['outputs']} | {r['mismatches']} |"
            )
        lines.append("")
    lines += ["## Targets", "", "| target | measured | status |", "|---|---:|---|"]
    for t in report["targets"]:
        lines.append(f"| {t['target']} | {_fmt(t['measured'])} | {t['status']} |")
    lines += ["", "Time of this invocation: " + ", ".join(f"{k} {v:.0f} s" for k, v in report["timings_s"].items()), ""]
    return "\n".join(lines)


def results_md(report_text: str) -> str:
    """RESULTS.md: the report of a full run, under a title that says where it comes from."""
    body = report_text.split("\n", 1)[1]
    return (
        "# Benchmark results\n\n"
        "Written by `python benchmarks/run_all.py` (a full run, nothing skipped) from the JSON files in "
        "[`results/full/`](results/full/); nothing here is typed by hand. The targets and what each "
        "shortfall comes from: [README.md](README.md#targets).\n" + body
    )


if __name__ == "__main__":
    sys.exit(main())
