"""Access to the goldens written by tests/fixtures/make_qkeras_goldens.py (real QKeras 0.9.0)."""

from __future__ import annotations

import functools
import json
import pathlib

import numpy as np

GOLDEN_DIR = pathlib.Path(__file__).resolve().parent / "fixtures" / "qkeras_goldens"


@functools.lru_cache(maxsize=None)
def load(name: str) -> tuple[list[dict], dict[str, np.ndarray]]:
    """(cases, arrays) of ``<name>.json`` / ``<name>.npz``; cases that errored in QKeras are kept
    (they carry an 'error' key)."""
    with open(GOLDEN_DIR / f"{name}.json") as fh:
        data = json.load(fh)
    cases = data["cases"] if isinstance(data, dict) and "cases" in data else data
    npz = GOLDEN_DIR / f"{name}.npz"
    arrays = dict(np.load(npz)) if npz.exists() else {}
    return cases, arrays


def cases(name: str, **match) -> list[dict]:
    """Cases of ``name`` without an error whose fields equal ``match``."""
    out = []
    for case in load(name)[0]:
        if case.get("error"):
            continue
        if all(case.get(k) == v for k, v in match.items()):
            out.append(case)
    return out


def array(name: str, key: str) -> np.ndarray:
    return load(name)[1][key]


def layer_case_ids(cls_name: str) -> list[str]:
    return [c["id"] for c in cases("layers", **{"class": cls_name})]
