"""hls4ml plugin of hgq-compat.

hls4ml loads it through the ``hls4ml.backends`` entry point during ``import hls4ml`` and
calls `register`. Registration is idempotent, checks the hls4ml version it supports and
reports its own failures loudly (hls4ml only prints plugin exceptions).
"""

from __future__ import annotations

import logging
import sys
from importlib import metadata
from typing import Any

SUPPORTED_HLS4ML = ((1, 3), (1, 4))
"""Supported hls4ml versions: >= 1.3, < 1.4."""

logger = logging.getLogger("hls4ml_plugin")

_registered = False


class PluginError(RuntimeError):
    """The plugin could not register with hls4ml."""


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def check_hls4ml_version(version: str | None = None) -> str:
    """Return the installed hls4ml version; raise PluginError outside the supported range."""
    if version is None:
        try:
            version = metadata.version("hls4ml")
        except metadata.PackageNotFoundError as exc:
            raise PluginError("hls4ml is not installed; install hgq-compat's dependency hls4ml>=1.3,<1.4") from exc
    low, high = SUPPORTED_HLS4ML
    if not low <= _version_tuple(version) < high:
        raise PluginError(
            f"hls4ml {version} is not supported by hgq-compat's hls4ml_plugin; "
            f"supported: >= {'.'.join(map(str, low))}, < {'.'.join(map(str, high))}"
        )
    return version


def is_registered() -> bool:
    return _registered


def register(register_backend: Any = None, register_writer: Any = None) -> None:
    """Entry point called by hls4ml. Safe to call more than once."""
    global _registered
    if _registered:
        return
    try:
        version = check_hls4ml_version()
    except Exception as exc:  # hls4ml would only print a one-line warning: say it loudly
        message = f"hgq-compat hls4ml plugin failed to register: {exc}"
        logger.error(message)
        print(f"ERROR: {message}", file=sys.stderr)
        raise
    _registered = True
    logger.debug("hgq-compat hls4ml plugin registered with hls4ml %s", version)


__all__ = ["PluginError", "check_hls4ml_version", "is_registered", "register", "SUPPORTED_HLS4ML"]
