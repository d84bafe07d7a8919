"""benchmarks/ablation.py switches off what it says: its variants' trainable bitwidths and EBOPs
losses (never a timing)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import ablation  # noqa: E402


def _bitwidths(model) -> list:
    return [v for v in model.trainable_weights if v.path.split("/")[-1] in ("i", "f")]


def test_ablation_variants_switch_off_what_they_name():
    x = np.random.default_rng(0).normal(size=(8, 16)).astype("float32")
    hgq = ablation._build("jet_mlp", "hgq")
    frozen = ablation._build("jet_mlp", "frozen")
    frozen_act = ablation._build("jet_mlp", "frozen_act")
    no_ebops = ablation._build("jet_mlp", "no_ebops")
    assert len(_bitwidths(hgq)) == 24  # (4 layers x (kernel, bias) + 3 activations + the input) x (i, f)
    assert _bitwidths(frozen) == []
    assert len(_bitwidths(frozen_act)) == 16  # the weight quantizers' only
    hgq(x, training=True)
    no_ebops(x, training=True)
    assert len(hgq.losses) == 4 and len(no_ebops.losses) == 0
    assert [len(m.trainable_weights) for m in (ablation._build("jet_mlp", "float"), frozen)] == [8, 8]
    table = ablation.markdown(
        {
            "backend": "tensorflow",
            "rounds": 1,
            "batch": ablation.BATCH,
            "machine": {},
            "results": {a: {"hgq": {"ms_per_step": 2.0, "vs_hgq": 1.0}} for a in ablation.BATCH},
        }
    )
    assert "| HGQ mode | 2.00 | 1.00 | 2.00 | 1.00 |" in table
