"""The bad-input corpus (tests/bad_inputs/, written by make_corpus.py): for every hostile or
broken file, ``hgq-compat convert`` exits with 1 and one error line naming the culprit, leaves
no output, never opens the sentinel file a hostile config points at, and finishes in time."""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import pathlib
import struct
import sys
import time
import zipfile

import pytest

from hgq_compat.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "bad_inputs"
CASES = json.loads((CORPUS / "cases.json").read_text())["cases"]
SECRET = "SENTINEL-8d4e-never-read"
TIME_LIMIT_S = 20.0

IN_ACCESS, IN_OPEN, IN_NONBLOCK = 0x1, 0x20, 0x800


class OpenWatch:
    """Linux inotify watch on one file: did anything (Python, h5py, TensorFlow's C++) open it?"""

    def __init__(self, path: pathlib.Path):
        self.fd = -1
        name = ctypes.util.find_library("c")
        if sys.platform.startswith("linux") and name:
            libc = ctypes.CDLL(name, use_errno=True)
            self.fd = libc.inotify_init1(IN_NONBLOCK)
            if self.fd >= 0 and libc.inotify_add_watch(self.fd, os.fsencode(path), IN_OPEN | IN_ACCESS) < 0:
                os.close(self.fd)
                self.fd = -1

    def opened(self) -> bool:
        """True if the file was opened or read since the last call (events are consumed)."""
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return False
        masks = [struct.unpack_from("iIII", data, off)[1] for off in range(0, len(data), 16)]  # no names: 16 B
        return any(m & (IN_OPEN | IN_ACCESS) for m in masks)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)


@pytest.fixture
def sentinel(tmp_path):
    p = tmp_path / "secret" / "sentinel.txt"
    p.parent.mkdir()
    p.write_text(SECRET + "\n")
    watch = OpenWatch(p)
    if watch.fd < 0:
        pytest.skip("no inotify here: cannot watch the sentinel file")
    yield p, watch
    watch.close()


def _stage(case: dict, tmp_path: pathlib.Path, sentinel: pathlib.Path) -> list[str]:
    """The case's input files, copied with @SENTINEL@ replaced by the sentinel's path."""
    staged = tmp_path / "in"
    staged.mkdir()
    paths = []
    for name in case["files"]:
        src = CORPUS / name if (CORPUS / name).exists() else ROOT / name
        dst = staged / src.name
        marker, path = b"@SENTINEL@", json.dumps(str(sentinel))[1:-1].encode()
        if zipfile.is_zipfile(src):  # replace inside the members, keeping the archive valid
            with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
                for member in zin.namelist():
                    zout.writestr(member, zin.read(member).replace(marker, path))
        else:
            dst.write_bytes(src.read_bytes().replace(marker, path))
        paths.append(str(dst))
    return paths


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_bad_input_is_refused_cleanly(case, tmp_path, capsys, sentinel):
    secret, watch = sentinel
    inputs = _stage(case, tmp_path, secret)
    out = tmp_path / "out"
    out.mkdir()
    t0 = time.perf_counter()
    rc = main(["convert", *inputs, "-o", str(out / "model.keras")])
    seconds = time.perf_counter() - t0
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if line.startswith("hgq-compat convert: error: ")]
    assert rc == 1, captured.err
    assert len(errors) == 1, captured.err
    for needle in case["expect"]:
        assert needle.replace("@SENTINEL@", str(secret)) in errors[0], errors[0]
    assert len(errors[0]) < 1500  # the input is not echoed
    assert "Traceback" not in captured.err
    assert os.listdir(out) == []  # no output, no temporary file
    assert SECRET not in captured.out + captured.err
    assert not watch.opened(), f"{case['name']}: the sentinel file was opened"
    assert seconds < TIME_LIMIT_S, f"{case['name']}: {seconds:.1f} s"
    for path in inputs:  # inputs are left as they were
        assert pathlib.Path(path).exists()


def test_sentinel_watch_sees_a_read(sentinel):
    """The watch works: reading the sentinel is noticed (so the check above is not vacuous)."""
    secret, watch = sentinel
    assert not watch.opened()
    assert secret.read_text().startswith(SECRET)
    assert watch.opened()
