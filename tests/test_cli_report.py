"""`hgq-compat report`: per-layer bits, pruning and EBOPs of a saved model, as a table or JSON, and
bitwidth plots; the totals equal `model_ebops`."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from hgq_compat import QActivation, QDense, model_ebops
from hgq_compat.cli import main
from hgq_compat.legacy import convert_qkeras_model

PUBLISHED = Path(__file__).parent / "fixtures" / "published"


@pytest.fixture(scope="module")
def saved_hgq(tmp_path_factory):
    keras.utils.set_random_seed(3)
    inp = keras.Input((6,))
    x = QActivation("quantized_bits(8,2,alpha=1)", name="q_in", mode="hgq")(inp)
    x = QDense(
        5,
        kernel_quantizer="quantized_bits(6,0,alpha=1)",
        bias_quantizer="quantized_bits(6,0,alpha=1)",
        name="fc1",
        mode="hgq",
    )(x)
    x = QActivation("quantized_relu(6,2)", name="relu1", mode="hgq")(x)
    model = keras.Model(inp, QDense(3, kernel_quantizer="quantized_bits(4,0,alpha=1)", name="fc2", mode="hgq")(x))
    model.predict(np.random.default_rng(0).normal(size=(64, 6)).astype("float32"), verbose=0)
    path = tmp_path_factory.mktemp("report") / "model.keras"
    model.save(path)
    return path, model_ebops(keras.saving.load_model(path))


def test_table(saved_hgq, capsys):
    path, ebops = saved_hgq
    assert main(["report", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith(f"{path}: {ebops:,.0f} EBOPs, 53 weights (")
    rows = [line for line in out.splitlines() if line.startswith("| ")]
    assert [r.split("|")[1].strip() for r in rows[1:]] == ["q_in", "fc1", "relu1", "fc2", "total"]
    assert float(rows[-1].split("|")[-2]) == pytest.approx(ebops, abs=0.05)


def test_json_totals_equal_model_ebops(saved_hgq, capsys):
    path, ebops = saved_hgq
    assert main(["report", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["totals"]["ebops"] == ebops
    assert sum(layer["ebops"] for layer in report["layers"]) == pytest.approx(ebops, rel=1e-12)
    assert report["totals"]["n_weights"] == 6 * 5 + 5 + 5 * 3 + 3
    fc1 = next(layer for layer in report["layers"] if layer["name"] == "fc1")
    assert fc1["weights"]["kernel"]["bits_max"] <= 7 and fc1["weights"]["kernel"]["n"] == 30


def test_plots_written_atomically(saved_hgq, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path, _ = saved_hgq
    out = tmp_path / "plots"
    assert main(["report", str(path), "--plots", str(out)]) == 0
    pngs = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert "bitwidth_histograms.png" in pngs and len(pngs) >= 3
    assert all((out / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert main(["report", str(path), "--plots", str(out)]) == 1  # not empty: refused without --force
    assert "--force" in capsys.readouterr().err
    assert main(["report", str(path), "--plots", str(out), "--force"]) == 0


def test_qkeras_json_with_weights(capsys):
    model_json = PUBLISHED / "qkeras_3layer.json"
    weights = PUBLISHED / "qkeras_3layer_weights.h5"
    assert main(["report", str(model_json), "--weights", str(weights), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["totals"]["ebops"] == model_ebops(convert_qkeras_model(model_json, weights))
    assert report["totals"]["n_weights"] == 16 * 64 + 64 + 64 * 32 + 32 + 32 * 32 + 32 + 32 * 5 + 5


def test_errors_name_the_file(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing.keras")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("hgq-compat report: error:") and "missing.keras: model file does not exist" in err
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not a model")
    assert main(["report", str(junk)]) == 1
    assert "junk.h5: not a model file; accepted: .keras" in capsys.readouterr().err
