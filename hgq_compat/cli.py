"""The ``hgq-compat`` command line."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from . import __version__


def _demo(args: argparse.Namespace) -> int:
    """Train a small HGQ model on sklearn's digits and print accuracy and EBOPs."""
    from .demo_smoke import run_smoke

    return run_smoke(epochs=args.epochs)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hgq-compat",
        description="QKeras on Keras 3 with High Granularity Quantization and a bit-exact hls4ml flow.",
    )
    parser.add_argument("--version", action="version", version=f"hgq-compat {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="train a small HGQ model on sklearn digits (offline); print accuracy and EBOPs")
    demo.add_argument("--epochs", type=_positive_int, default=20, help="training epochs (default 20)")
    demo.set_defaults(func=_demo)
    from .legacy.command import add_parser as add_convert_parser

    add_convert_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
