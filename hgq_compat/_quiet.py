"""Quiet start-up for the ``hgq-compat`` command: TensorFlow writes C++ log lines to the process's
stderr when it loads ("All log messages before absl::InitializeLog()...", oneDNN and CPU-feature
notices), before and regardless of ``TF_CPP_MIN_LOG_LEVEL``. The command loads the backend with
stderr held aside and drops those lines unless ``--verbose`` is given; if loading fails, what was
held is written out before the error. Library imports (``import hgq_compat``) are never affected."""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Sequence

COMMAND = "hgq-compat"


def wanted(argv: Sequence[str], orig_argv: Sequence[str] = ()) -> bool:
    """True when this process is the ``hgq-compat`` command (the installed script, or
    ``python -m hgq_compat.cli``; ``orig_argv`` is ``sys.orig_argv``) run without ``--verbose``."""
    if not argv or "--verbose" in argv[1:]:
        return False
    name = os.path.basename(str(argv[0]))
    if name in (COMMAND, COMMAND + ".exe", COMMAND + "-script.py"):
        return True
    orig = list(orig_argv)
    return any(a == "-m" and i + 1 < len(orig) and orig[i + 1] == "hgq_compat.cli" for i, a in enumerate(orig))


def load_backend_quietly() -> None:
    """Import Keras and initialise its backend (TensorFlow's devices included) with stderr
    (file descriptor 2) redirected to a temporary file, then restore it."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    held = tempfile.TemporaryFile()
    os.dup2(held.fileno(), 2)
    try:
        import keras

        keras.ops.convert_to_numpy(keras.ops.add(keras.ops.ones((1,)), 1.0))  # device start-up logs happen here
    except BaseException:
        os.dup2(saved, 2)
        held.seek(0)
        sys.stderr.buffer.write(held.read())
        sys.stderr.flush()
        raise
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        held.close()
