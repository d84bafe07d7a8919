"""hgq_compat.codebook.weight_compression against real QKeras 0.9.0 (weights with exactly 2**bits distinct
values per slice, so k-means is deterministic): index and codebook tables equal."""

from __future__ import annotations

import numpy as np
import pytest

import hgq_compat
from hgq_compat.codebook import weight_compression
from tests import golden


def _cases() -> list[dict]:
    return [c for c in golden.load("api")[0] if c["id"].startswith("weight_compression/")]


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c["id"])
def test_weight_compression_matches_qkeras(case):
    w = golden.array("api", case["weights"])
    q = hgq_compat.get_quantizer(case["quantizer"]) if case["quantizer"] else None
    idx, cb = weight_compression(w, case["bits"], axis=case["axis"], quantizer=q)
    assert idx.shape == w.shape and cb.shape == (3, 2 ** case["bits"])
    np.testing.assert_array_equal(idx.astype(np.float32), golden.array("api", case["index_table"]))
    np.testing.assert_array_equal(cb.astype(np.float32), golden.array("api", case["codebook_table"]))


def test_weight_compression_refuses_more_than_8_bits():
    with pytest.raises(ValueError, match="at most 8"):
        weight_compression(np.zeros((2, 4), np.float32), 9)
