"""`hgq-compat synth` and `hls4ml_plugin.synth.synthesize`: project, exactness line, table, atomicity."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from hgq_compat import QActivation, QDense, quantization_config
from hgq_compat.cli import main
from hgq_compat.training import layer_ebops, model_ebops
from hls4ml_plugin.synth import SynthError, load_model, random_inputs, synthesize

FIXTURE = Path(__file__).resolve().parents[2] / "hgq_compat" / "demo" / "data" / "qkeras_digits.h5"


def small_hgq_model() -> keras.Model:
    with quantization_config(mode="hgq"):
        inp = keras.Input((12,))
        x = QActivation("quantized_bits(8,3,alpha=1)", name="in_q")(inp)
        x = QDense(8, kernel_quantizer="quantized_bits(6,0,alpha=1)", bias_quantizer="quantized_bits(6,2,alpha=1)",
                   activation="quantized_relu(6,2)", name="d1")(x)
        x = QDense(4, kernel_quantizer="quantized_bits(6,0,alpha=1)", bias_quantizer="quantized_bits(6,2,alpha=1)",
                   name="d2")(x)
    model = keras.Model(inp, x)
    rng = np.random.default_rng(3)
    d1 = model.get_layer("d1")
    d1.kernel_quantizer_internal.assign_bitwidths(fractional=rng.integers(2, 6, d1.kernel.shape))
    d1.output_quantizer.assign_bitwidths(fractional=rng.integers(1, 4, d1.output_quantizer.f.shape))
    return model


def test_synthesize_small_hgq_model(tmp_path):
    model = small_hgq_model()
    out = tmp_path / "prj"
    report = synthesize(model, out, backend="Vivado", n_random=3000)
    assert report.exact and report.mismatches == 0 and report.n_inputs == 3000 and report.n_outputs == 12000
    assert report.status_line().startswith("EXACT: the C simulation equals Keras bit for bit on 3000 inputs")
    rows = {r.name: r for r in report.layers}
    assert list(rows) == ["in_q", "d1", "d2"]
    ebops = layer_ebops(model)
    assert rows["d1"].ebops == pytest.approx(ebops["d1"]) and rows["d2"].ebops == pytest.approx(ebops["d2"])
    assert sum(r.ebops for r in report.layers if r.ebops) == pytest.approx(model_ebops(model))
    kbits = np.asarray(keras.ops.convert_to_numpy(model.get_layer("d1").kernel_quantizer_internal.bits()))
    assert rows["d1"].weight_bits[0] >= 0 and rows["d1"].weight_bits[2] == kbits.max()
    # per-element activation bits reach the HLS quantizer node: 1 sign-free relu bit... 2+1..3 frac bits
    assert rows["d1"].result_bits[0] < rows["d1"].result_bits[2]
    saved = json.loads((out / "hgq_compat_report.json").read_text())
    assert saved["exact"] is True and saved["mismatches"] == 0 and len(saved["layers"]) == 3
    text = (out / "hgq_compat_report.txt").read_text()
    assert text.splitlines()[0] == report.status_line()
    assert (out / "firmware" / "myproject.cpp").exists()
    assert str(out) in (out / "hls4ml_config.yml").read_text()
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]


def test_cli_synth_qkeras_file_with_check_data(tmp_path, capsys):
    from hgq_compat.datasets import load_digits_split

    x = load_digits_split(0)[2]
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "digits_prj"
    rc = main(["synth", str(FIXTURE), "-o", str(out), "--check-data", str(tmp_path / "x.npy")])
    printed = capsys.readouterr().out
    assert rc == 0
    first = printed.splitlines()[0]
    assert first == f"EXACT: the C simulation equals Keras bit for bit on {len(x)} inputs ({len(x) * 10} outputs, check data)"
    assert "dense1" in printed and "410,464" in printed  # uniform 8-bit QKeras MLP: 64*64*64 + ... EBOPs
    # a second run refuses the non-empty folder and leaves it intact
    before = sorted(p.name for p in out.iterdir())
    rc = main(["synth", str(FIXTURE), "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 1 and f"{out}: folder is not empty; pass --force" in err
    assert sorted(p.name for p in out.iterdir()) == before


def test_failed_synth_leaves_nothing(tmp_path):
    inp = keras.Input((4,))
    model = keras.Model(inp, QDense(3, kernel_quantizer="quantized_bits(4,0,alpha=1)", name="float_in")(inp))
    with pytest.raises(ValueError, match="model input .* feeds layer"):
        synthesize(model, tmp_path / "prj", n_random=10)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name, message", [
    ("missing.keras", "model file does not exist"),
    ("model.onnx", "unsupported model file; accepted: .keras"),
])
def test_load_model_errors(tmp_path, name, message):
    path = tmp_path / name
    if name.endswith(".onnx"):
        path.write_bytes(b"x")
    with pytest.raises(SynthError, match=message):
        load_model(path)


def test_bad_arguments(tmp_path):
    model = small_hgq_model()
    with pytest.raises(SynthError, match="backend='Quartus' is not accepted; accepted: 'Vivado', 'Vitis'"):
        synthesize(model, tmp_path / "p", backend="Quartus")
    with pytest.raises(SynthError, match=r"check data has shape \(5, 3\), the model expects \(n, 12\)"):
        synthesize(model, tmp_path / "p", check_data=np.zeros((5, 3)))
    (tmp_path / "file").write_text("x")
    with pytest.raises(SynthError, match="exists and is not a folder"):
        synthesize(model, tmp_path / "file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_random_inputs_cover_ties_and_overflow():
    x = random_inputs((6,), n=1000, seed=1)
    assert x.dtype == np.float32 and x.shape == (1000, 6)
    ties = x[:100] * 64
    assert np.all(ties == np.round(ties)) and np.all(np.abs(ties % 2) == 1)  # odd multiples of 1/64
    assert np.abs(x).max() > 50
