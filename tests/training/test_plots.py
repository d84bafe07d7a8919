"""hgq_compat.plots: valid, non-trivial PNGs; a clear ImportError without matplotlib."""

import struct
import sys

import numpy as np
import pytest

from hgq_compat.plots import plot_bitwidth_histograms, plot_bitwidth_maps, plot_pareto
from tests.training.conftest import tiny_model

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(path):
    data = open(path, "rb").read()
    assert data[:8] == PNG_MAGIC and data[12:16] == b"IHDR", path
    assert len(data) > 5000, (path, len(data))  # more than a blank image
    return struct.unpack(">II", data[16:24])


RECORDS = [
    {"epoch": 1, "val_accuracy": 0.62, "ebops": 900.0},
    {"epoch": 3, "val_accuracy": 0.8, "ebops": 4000.0},
    {"epoch": 4, "val_accuracy": 0.91, "ebops": 12000.0},
]


def test_plots(tmp_path):
    pytest.importorskip("matplotlib")
    model = tiny_model("hgq")
    q = model.get_layer("d1").kernel_quantizer_internal
    q.assign_bitwidths(fractional=np.random.default_rng(0).integers(-1, 7, q.f.shape))  # some 0-bit elements

    w, h = png_size(plot_pareto(RECORDS, tmp_path / "pareto.png"))
    assert w >= 300 and h >= 200
    maps = plot_bitwidth_maps(model, tmp_path / "maps")
    assert [p.rsplit("/", 1)[-1] for p in maps] == ["in_q.png", "d1.png", "d2.png"]
    for p in maps:
        png_size(p)
    png_size(plot_bitwidth_histograms(model, tmp_path / "hist.png"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hist.png", "maps", "pareto.png"]  # no temporary files


def test_plot_pareto_from_csv(tmp_path):
    pytest.importorskip("matplotlib")
    (tmp_path / "pareto.csv").write_text(
        "epoch,val_accuracy,ebops,filename\n1,0.5,100.0,a.keras\n2,0.7,400.0,b.keras\n"
    )
    png_size(plot_pareto(tmp_path, tmp_path / "p.png"))
    png_size(plot_pareto(tmp_path / "pareto.csv", tmp_path / "q.png", metric="val_accuracy"))
    with pytest.raises(ValueError, match="records have no 'accuracy'"):
        plot_pareto(tmp_path, tmp_path / "r.png", metric="accuracy")


def test_missing_matplotlib_message(tmp_path, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r'pip install "hgq-compat\[plot\]"'):
        plot_pareto(RECORDS, tmp_path / "p.png")
    assert not list(tmp_path.iterdir())
