"""Atomic file writes: write to a temporary file in the target's directory, then `os.replace`."""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """Yield a temporary path next to ``path`` (same suffix); on success it replaces ``path``.

    A reader never sees a half-written ``path``; on error the temporary file is removed and
    ``path`` is left as it was. The parent directory must exist.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(path)
    suffix = ".weights.h5" if name.endswith(".weights.h5") else os.path.splitext(name)[1]  # Keras checks suffixes
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=directory)
    os.close(fd)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[str]:
    """Yield an empty temporary folder next to ``path``; on success it replaces ``path``.

    An existing ``path`` is moved aside and deleted only after the new folder is in place, so an
    error or an interrupt (KeyboardInterrupt included) leaves the previous folder intact and no
    partial folder behind. The parent directory must exist.
    """
    import shutil

    path = os.path.abspath(os.fspath(path))
    parent, name = os.path.split(path)
    tmp = tempfile.mkdtemp(prefix=f".{name}.partial-", dir=parent)
    try:
        yield tmp
        old = None
        if os.path.lexists(path):
            old = tempfile.mkdtemp(prefix=f".{name}.old-", dir=parent)
            os.replace(path, os.path.join(old, name))
        try:
            os.replace(tmp, path)
        except BaseException:
            if old is not None:  # put the previous folder back
                os.replace(os.path.join(old, name), path)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def check_output_dir(
    path: str | os.PathLike,
    force: bool,
    error: type[Exception] = ValueError,
    force_hint: str = "pass --force to replace it",
    other_hint: str = "",
) -> None:
    """Raise ``error`` naming ``path`` unless `atomic_dir` may write it: it is a folder (or
    absent) that is empty unless ``force``, and its parent exists and is writable. ``other_hint``
    (e.g. 'choose another --out') is offered as the alternative."""
    path = os.path.abspath(os.fspath(path))
    parent = os.path.dirname(path)
    if os.path.lexists(path) and not os.path.isdir(path):
        raise error(f"{path}: exists and is not a folder" + (f"; {other_hint}" if other_hint else ""))
    if os.path.isdir(path) and os.listdir(path) and not force:
        raise error(f"{path}: folder is not empty; {force_hint}" + (f", or {other_hint}" if other_hint else ""))
    if not os.path.isdir(parent):
        raise error(f"{path}: the parent folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise error(f"{path}: the parent folder {parent} is not writable")
