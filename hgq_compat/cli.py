"""The ``hgq-compat`` command line."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from typing import Iterator, Sequence

from . import __version__


def _demo(args: argparse.Namespace) -> int:
    """Convert the shipped QKeras model, fine-tune it with HGQ, synthesize it, write the report folder."""
    from .demo import DemoError, run_demo
    from .demo.pipeline import DemoSettings

    settings = DemoSettings.quick() if args.quick else DemoSettings()
    if args.epochs is not None:
        settings.epochs = args.epochs
    settings.seed = args.seed
    try:
        summary = run_demo(args.out, settings, force=args.force, synth=not args.no_synth)
    except DemoError as exc:
        print(f"hgq-compat demo: error: {exc}", file=sys.stderr)
        return 1
    return 0 if summary["exact"] in (True, None) else 1


def _report(args: argparse.Namespace) -> int:
    """Print per-layer bits, pruning and EBOPs of a model (table or JSON); optionally write bitwidth plots."""
    from ._atomic import atomic_dir, check_output_dir
    from .legacy import LegacyConversionError
    from .loading import load_model
    from .report import format_report, model_report

    def fail(message: str) -> int:
        print(f"hgq-compat report: error: {message}", file=sys.stderr)
        return 1

    if args.plots is not None:
        try:
            check_output_dir(args.plots, args.force, ValueError, other_hint="choose another --plots folder")
        except ValueError as exc:
            return fail(str(exc))
        try:
            from .plots import plot_bitwidth_histograms, plot_bitwidth_maps
        except ImportError as exc:
            return fail(f"--plots needs matplotlib ({exc}); install the plot extra: pip install 'hgq-compat[plot]'")
    try:
        model = load_model(args.model, args.weights)
    except (OSError, ValueError, LegacyConversionError, NotImplementedError) as exc:
        return fail(str(exc))
    report = model_report(model)
    if args.json:
        import json

        print(json.dumps(report, indent=2, allow_nan=False))
    else:
        t = report["totals"]
        pruned = "-" if t["pruned_fraction"] is None else f"{100 * t['pruned_fraction']:.1f}%"
        bits = "-" if t["weight_bits_mean"] is None else f"{t['weight_bits_mean']:.2f}"
        print(
            f"{args.model}: {t['ebops']:,.0f} EBOPs, {t['n_weights']:,} weights ({pruned} pruned), "
            f"{bits} mean bits per quantized weight"
        )
        print("bits columns: min/mean/max bits per element")
        print(format_report(report))
    if args.plots is not None:
        with atomic_dir(args.plots) as tmp:
            written = [plot_bitwidth_histograms(model, os.path.join(tmp, "bitwidth_histograms.png"))]
            written += plot_bitwidth_maps(model, os.path.join(tmp, "bitwidth_maps"))
        print(f"plots: {len(written)} PNG file(s) in {args.plots}", file=sys.stderr if args.json else sys.stdout)
    return 0


def _synth(args: argparse.Namespace) -> int:
    """Write the hls4ml project, compile the C simulation, compare it with Keras, print the table."""
    from hls4ml_plugin.synth import SynthError, load_model, synthesize

    from .legacy.command import CommandError, check_data_problem, load_check_data
    from .legacy.reader import LegacyConversionError

    try:
        x = load_check_data(args.check_data)[0] if args.check_data else None
        model = load_model(args.model)
        if x is not None and len(model.inputs) == 1:
            problem = check_data_problem(x, tuple(model.inputs[0].shape[1:]))
            if problem is not None:
                raise CommandError(f"{args.check_data}: check data {problem}")
        report = synthesize(
            model,
            args.output,
            backend=args.backend,
            io_type=args.io_type,
            check_data=x,
            n_random=args.n_random,
            force=args.force,
            input_precision=args.input_precision,
            allow_inexact=args.allow_inexact,
            fold_batchnorm=args.fold_bn,
        )
    except (SynthError, CommandError, LegacyConversionError) as exc:  # these name the file already
        print(f"hgq-compat synth: error: {exc}", file=sys.stderr)
        return 1
    except (NotImplementedError, ValueError) as exc:  # these name the layer
        print(f"hgq-compat synth: error: {args.model}: {exc}", file=sys.stderr)
        return 1
    print(report.format())
    if report.inexact:  # opted in: the report gives the measured difference
        return 0
    return 0 if report.exact else 1


def _migrate(args: argparse.Namespace) -> int:
    """Rewrite QKeras / Keras 2 scripts and notebooks in place (or print the diff)."""
    from .migrate import run

    return run(args.paths, dry_run=args.dry_run, backup=not args.no_backup)


def _input_precision(text: str) -> object:
    """--input-precision: parsed by hls4ml_plugin.inputs (a regex, never eval)."""
    from hls4ml_plugin.inputs import parse_input_precision

    try:
        return parse_input_precision(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


def _nonnegative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer >= 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hgq-compat",
        description="QKeras on Keras 3 with High Granularity Quantization and a bit-exact hls4ml flow.",
    )
    parser.add_argument("--version", action="version", version=f"hgq-compat {__version__}")
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="also show the backend's start-up log (TensorFlow's C++ messages), hidden by default",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser(
        "demo",
        help="convert a shipped QKeras model, retrain it with HGQ, synthesize it exactly; write a report",
        description="Convert the QKeras digits model shipped with hgq-compat, check it matches QKeras, fine-tune it "
        "in HGQ mode under a beta schedule, keep the Pareto front (accuracy vs EBOPs), synthesize the "
        "chosen point through hls4ml's C simulation and check it equals Keras bit for bit. Writes a "
        "report folder (README.md, JSON, PNG plots, .keras models, hls4ml project). Offline.",
    )
    demo.add_argument("--out", default="hgq-compat-demo", metavar="DIR", help="report folder (default hgq-compat-demo)")
    demo.add_argument(
        "--epochs", type=_positive_int, default=None, help="HGQ fine-tuning epochs (default 150; 12 with --quick)"
    )
    demo.add_argument(
        "--seed",
        type=_nonnegative_int,
        default=0,
        help="seed of the HGQ fine-tuning (default 0); the run is deterministic for a given seed",
    )
    demo.add_argument("--quick", action="store_true", help="a short run (about a minute) to try the pipeline")
    demo.add_argument("--force", action="store_true", help="replace DIR if it is not empty")
    demo.add_argument("--no-synth", action="store_true", help="skip the hls4ml C simulation")
    demo.set_defaults(func=_demo)
    from .legacy.command import add_parser as add_convert_parser

    add_convert_parser(sub)
    synth = sub.add_parser(
        "synth",
        help="write an hls4ml project, compile its C simulation (g++) and check it equals Keras bit for bit",
        description="Write the hls4ml project of MODEL (.keras or Keras 3 .h5; a QKeras .h5/.json is converted first), compile the "
        "C simulation, compare it with Keras and print one row per layer: bits of weights and results "
        "(min/mean/max) and EBOPs. The first line says whether the project is exact. Exit status 1 "
        "on any mismatch, on exactness not guaranteed, or on error. Layers that cannot be exact are refused "
        "unless --fold-bn makes them exact (batch norm) or --allow-inexact accepts an approximation (the "
        "first line then says INEXACT with the measured difference, exit status 0).",
    )
    synth.add_argument("model", metavar="MODEL", help="model file: .keras, Keras 3 .h5, or QKeras .h5 / .json")
    synth.add_argument("-o", "--output", required=True, metavar="PROJECT_DIR", help="hls4ml project folder")
    synth.add_argument("--backend", choices=("Vitis", "Vivado"), default="Vitis", help="hls4ml backend (default Vitis)")
    synth.add_argument(
        "--io-type",
        choices=("io_parallel", "io_stream"),
        default="io_parallel",
        help="hls4ml io_type (default io_parallel)",
    )
    synth.add_argument(
        "--check-data",
        metavar="X.npy",
        help="model inputs (.npy, or .npz with key 'x') to compare on; default: random inputs",
    )
    synth.add_argument(
        "--n-random",
        type=_positive_int,
        default=10_000,
        help="number of random inputs when no --check-data is given (default 10000)",
    )
    synth.add_argument("--force", action="store_true", help="replace PROJECT_DIR if it is not empty")
    synth.add_argument(
        "--input-precision",
        type=_input_precision,
        metavar="TYPE",
        help="fixed-point type the hardware receives, e.g. 'fixed<16,6>' (hls4ml's default, = "
        "fixed<16,6,TRN,WRAP>) or 'fixed<16,6,RND_CONV,SAT>': the inputs are quantized to it on "
        "entry, in hls4ml and in the Keras reference; without it, a first layer that takes "
        "floats gets hls4ml's default input type fixed<16,6>",
    )
    synth.add_argument(
        "--fold-bn",
        action="store_true",
        help="fold every BatchNormalization that follows a linear QConv2D / QDepthwiseConv2D / QDense "
        "into it first (QConv2DBatchnorm / QDepthwiseConv2DBatchnorm / QDenseBatchnorm, as "
        "hgq_compat.utils.convert_to_folded_model): exact in hls4ml; the report gives how much "
        "folding changed the Keras outputs (max abs diff, argmax agreement) and the C simulation "
        "is compared with the folded model",
    )
    synth.add_argument(
        "--allow-inexact",
        action="store_true",
        help="export layers that hls4ml can only approximate instead of refusing them, as hls4ml "
        "does (float batch normalization; alpha='auto' kernels as integer codes with the scale "
        "applied after the product, ApplyAlpha; quantized_ulaw and other float weights at 24 "
        "significant bits; QConv2DTranspose beyond the dense-matrix limit); the "
        "first line then says INEXACT with the measured max abs difference, the fraction of "
        "outputs differing and the same per output",
    )
    synth.set_defaults(func=_synth)
    report = sub.add_parser(
        "report",
        help="per-layer bits of weights and activations, pruning and EBOPs of a model (table or JSON)",
        description="Load MODEL (.keras or Keras 3 .h5 as saved; a QKeras .h5 / .json + weights / qkeras-v3 .keras "
        "is converted first) and print one row per quantized layer: weights, pruned fraction (weights "
        "that quantize to 0), min/mean/max bits of each weight and of the input and output, and EBOPs "
        "(effective bit-operations); the total row equals hgq_compat.model_ebops. --json prints the same "
        "numbers as JSON; --plots DIR writes bitwidth maps and histograms (PNG, needs the plot extra).",
    )
    report.add_argument("model", metavar="MODEL", help="model file: .keras, Keras 3 .h5, or QKeras .h5 / .json")
    report.add_argument("--weights", metavar="WEIGHTS.h5", default=None, help="weights of a QKeras model .json")
    report.add_argument("--json", action="store_true", help="print JSON instead of the table")
    report.add_argument(
        "--plots",
        metavar="DIR",
        default=None,
        help="also write bitwidth maps and histograms (PNG) into DIR (written atomically)",
    )
    report.add_argument("--force", action="store_true", help="replace the --plots folder if it is not empty")
    report.set_defaults(func=_report)
    migrate = sub.add_parser(
        "migrate",
        help="rewrite QKeras / Keras 2 scripts and notebooks for hgq_compat on Keras 3 (in place)",
        description="Rewrite Python files and notebooks (.ipynb code cells) in place: qkeras imports become hgq_compat, "
        "tensorflow.keras / tf.keras become keras, optimizer lr= becomes learning_rate= (decay= an "
        "InverseTimeDecay schedule), K.eval(x) becomes keras.ops.convert_to_numpy(x), t.get_shape() "
        "becomes t.shape. Comments and formatting are kept. What cannot be rewritten mechanically "
        "(tfmot pruning, fit_generator, sessions, tf.compat.v1, Keras 2 names Keras 3 lacks, ...) is "
        "reported as FILE:LINE on stderr. Each changed file is first copied to FILE.bak (FILE.bak.1, ... "
        "when taken). Exit status 1 if anything was reported or could not be parsed (such a file is left "
        "untouched), else 0.",
    )
    migrate.add_argument("paths", nargs="+", metavar="PATH", help="files (.py, .ipynb) or folders (searched for both)")
    migrate.add_argument("--dry-run", action="store_true", help="print a unified diff and change nothing")
    migrate.add_argument("--no-backup", action="store_true", help="do not write FILE.bak copies")
    migrate.set_defaults(func=_migrate)
    return parser


class Terminated(BaseException):
    """Raised by the SIGTERM handler, so that a terminated command unwinds like an interrupted one:
    temporary files and folders are removed and outputs are left as they were."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated(signum)


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """SIGTERM raises `Terminated` inside (main thread only; elsewhere signals cannot be set)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; exit status 0 (success), 1 (error, mismatch), 2 (bad arguments), 130
    (SIGINT) or 143 (SIGTERM). An interrupted command prints one line and leaves no output."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out of the tables
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--verbose" in argv:  # accepted anywhere on the line (start-up output is decided before parsing)
        argv = ["--verbose"] + [a for a in argv if a != "--verbose"]
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    target = getattr(args, "output", None) or getattr(args, "out", None)
    left = f"; {target} was left as it was" if target else ""
    try:
        with _sigterm_unwinds():
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"\nhgq-compat {args.command}: interrupted{left}", file=sys.stderr)
        return 130
    except Terminated:
        print(f"\nhgq-compat {args.command}: terminated{left}", file=sys.stderr)
        return 143


if __name__ == "__main__":
    sys.exit(main())
