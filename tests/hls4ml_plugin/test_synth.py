"""`hgq-compat synth` and `hls4ml_plugin.synth.synthesize`: project, exactness line, table, atomicity."""

from __future__ import annotations

import json
import re
from pathlib import Path

import keras
import numpy as np
import pytest

from hgq_compat import QActivation, QDense, quantization_config
from hgq_compat.cli import main
from hgq_compat.legacy import LegacyConversionError
from hgq_compat.training import layer_ebops, model_ebops
from hls4ml_plugin.synth import SynthError, load_model, random_inputs, synthesize

FIXTURE = Path(__file__).resolve().parents[2] / "hgq_compat" / "demo" / "data" / "qkeras_digits.h5"


def small_hgq_model() -> keras.Model:
    with quantization_config(mode="hgq"):
        inp = keras.Input((12,))
        x = QActivation("quantized_bits(8,3,alpha=1)", name="in_q")(inp)
        x = QDense(
            8,
            kernel_quantizer="quantized_bits(6,0,alpha=1)",
            bias_quantizer="quantized_bits(6,2,alpha=1)",
            activation="quantized_relu(6,2)",
            name="d1",
        )(x)
        x = QDense(
            4, kernel_quantizer="quantized_bits(6,0,alpha=1)", bias_quantizer="quantized_bits(6,2,alpha=1)", name="d2"
        )(x)
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
    assert (
        first
        == f"EXACT: the C simulation equals Keras bit for bit on {len(x)} inputs ({len(x) * 10} outputs, check data)"
    )
    from hgq_compat import convert_qkeras_model

    total = model_ebops(convert_qkeras_model(FIXTURE))  # the uniform 8-bit QKeras MLP
    assert "dense1" in printed and f"total EBOPs: {total:,.0f}" in printed and total > 400_000
    # a second run refuses the non-empty folder and leaves it intact
    before = sorted(p.name for p in out.iterdir())
    rc = main(["synth", str(FIXTURE), "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 1 and f"{out}: folder is not empty; pass --force" in err
    assert sorted(p.name for p in out.iterdir()) == before


def test_failed_synth_leaves_nothing(tmp_path):
    inp = keras.Input((4,))
    model = keras.Model(inp, QDense(3, kernel_quantizer="quantized_bits(4,0,alpha=1)", name="float_in")(inp))
    config = {"Model": {"Precision": "fixed<32,16,TRN,SAT>", "ReuseFactor": 1, "Strategy": "Latency"}}
    with pytest.raises(ValueError, match=r"model input .* feeds \['float_in'\] directly.*width 32 is outside"):
        synthesize(model, tmp_path / "prj", n_random=10, hls_config=config)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "name, message",
    [
        ("missing.keras", "model file does not exist"),
        ("model.onnx", r"model.onnx: not a model file; accepted: .keras \(hgq_compat, Keras 3 or qkeras-v3\), .h5"),
    ],
)
def test_load_model_errors(tmp_path, name, message):
    path = tmp_path / name
    if name.endswith(".onnx"):
        path.write_bytes(b"x")
    with pytest.raises((SynthError, LegacyConversionError), match=message):
        load_model(path)


def test_bad_arguments(tmp_path):
    model = small_hgq_model()
    with pytest.raises(SynthError, match="backend='Quartus' is not accepted; accepted: 'Vivado', 'Vitis'"):
        synthesize(model, tmp_path / "p", backend="Quartus")
    with pytest.raises(
        SynthError, match=r"check data has shape \(5, 3\) but the model expects inputs of shape \(n, 12\)"
    ):
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


# ------------------------------------------------------------------ declared input precision


@pytest.mark.parametrize(
    "text, parsed",
    [
        ("fixed<16,6>", "fixed<16,6,TRN,WRAP>"),  # hls4ml's default: ap_fixed's default modes
        ("ap_fixed<16, 6, AP_RND_CONV, AP_SAT>", "fixed<16,6,RND_CONV,SAT>"),
        ("fixed<16,6>,RND_CONV,SAT", "fixed<16,6,RND_CONV,SAT>"),
        ("ufixed<8,0,SAT>", "ufixed<8,0,TRN,SAT>"),
        ("FIXED<8,-2,SAT_SYM,RND>", "fixed<8,-2,RND,SAT_SYM>"),
    ],
)
def test_input_precision_parser(text, parsed):
    from hls4ml_plugin.inputs import parse_input_precision

    assert str(parse_input_precision(text)) == parsed


@pytest.mark.parametrize(
    "text, why",
    [
        ("fixed<16>", "not of the accepted form"),
        ("int<8>", "not of the accepted form"),
        ("__import__('os').system('true')", "not of the accepted form"),
        ("fixed<16,6,RND_ZERO>", "mode RND_ZERO is not supported"),
        ("fixed<16,6,RND,RND_CONV>", "more than one rounding or overflow mode"),
        ("fixed<16,6,RND>,SAT", "modes given both inside and after the brackets"),
        ("fixed<25,6,RND,SAT>", "width 25 is outside 1..24"),
        ("fixed<33,6>", "width 33 is outside 1..32"),
        ("ufixed<25,6>", "width 25 is outside 1..24"),
        ("fixed<0,0>", "width 0 is outside 1..32"),
        ("fixed<8,40>", "integer bits 40 outside -32..32"),
        ("fixed<1,1,SAT_SYM>", "a signed 1-bit SAT_SYM type holds only 0"),
        (16, "type int, not a string"),
    ],
)
def test_input_precision_parser_errors(text, why):
    from hls4ml_plugin.inputs import parse_input_precision

    with pytest.raises(
        ValueError,
        match=re.escape(f"input_precision={text!r} is not accepted ({why}")
        + r".*\); "
        + re.escape("accepted: '[ap_]fixed<W,I[,ROUND[,OVERFLOW]]>'"),
    ):
        parse_input_precision(text)


def test_cli_rejects_bad_input_precision(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["synth", str(FIXTURE), "-o", str(tmp_path / "p"), "--input-precision", "fixed<16,6,SAT,WRAP>"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --input-precision: input_precision='fixed<16,6,SAT,WRAP>' is not accepted" in err
    assert "accepted: '[ap_]fixed<W,I[,ROUND[,OVERFLOW]]>'" in err and list(tmp_path.iterdir()) == []


def test_input_quantizer_is_exact_for_every_float32():
    """The Keras input quantizer equals the mathematical definition (float64) for every mode,
    including values whose codes exceed float32's 24-bit significand (WRAP, RND)."""
    from hls4ml_plugin.inputs import InputQuantizer, parse_input_precision

    rng = np.random.default_rng(0)
    x = (rng.normal(0, 1, 20_000) * 10.0 ** rng.integers(-6, 9, 20_000)).astype(np.float32)
    x = np.concatenate([x, np.float32([16383.999, (2.0**24 - 1) / 2**10, -(2.0**30) - 64, 0.0])])
    for text in ("fixed<16,6>", "ufixed<8,0>", "fixed<24,12>", "fixed<8,-2>"):
        for modes in ("TRN,WRAP", "RND,WRAP", "RND_CONV,WRAP", "RND,SAT", "RND_CONV,SAT_SYM"):
            p = parse_input_precision(f"{text[:-1]},{modes}>")
            y = np.asarray(keras.ops.convert_to_numpy(InputQuantizer(p)(x[:, None])))[:, 0]
            np.testing.assert_array_equal(y, p.quantize_np(x), err_msg=str(p))


def test_synth_with_input_precision_first_line_and_consecutive_quantizers(tmp_path):
    """A model starting with its own quantizer, inputs declared fixed<12,5,RND_CONV,SAT>: the
    input quantizer is fused into the input type and the model's QActivation stays a node after
    it (hls4ml's fusion would overwrite the first type: one rounding instead of two). The report
    states the input type; the original model is not modified; on the grid the C simulation
    equals the original model."""
    model = small_hgq_model()
    n_layers, n_weights = len(model.layers), len(model.weights)
    out = tmp_path / "prj"
    report = synthesize(model, out, backend="Vitis", n_random=4000, input_precision="fixed<12,5,RND_CONV,SAT>")
    assert report.exact and report.n_inputs == 4000 and report.input_precision == "fixed<12,5,RND_CONV,SAT>"
    assert report.status_line() == (
        "EXACT: the C simulation equals Keras bit for bit on 4000 inputs (16000 outputs, 4000 random inputs, 2000 "
        "of them on the input type's grid or half a step off it) (inputs quantized to fixed<12,5,RND_CONV,SAT> on "
        "entry)"
    )
    saved = json.loads((out / "hgq_compat_report.json").read_text())
    assert saved["input_precision"] == "fixed<12,5,RND_CONV,SAT>" and saved["status"] == report.status_line()
    assert (out / "hgq_compat_report.txt").read_text().splitlines()[0] == report.status_line()
    assert len(model.layers) == n_layers and len(model.weights) == n_weights
    # near-ties of in_q (f=4) that the input type (f=7) rounds to exact ties first: double rounding
    from hls4ml_plugin import convert, quantize_inputs

    hm = convert(model, tmp_path / "again", backend="Vitis", input_precision="fixed<12,5,RND_CONV,SAT>")
    assert "in_q" in hm.graph  # kept as a node after the fused input quantizer
    rng = np.random.default_rng(7)
    x = rng.integers(-60, 60, (3000, 12)) / 16 + 1 / 32 + rng.choice([2.0**-9, -(2.0**-9), 0.0], (3000, 12))
    x = x.astype(np.float32)
    wrapper = quantize_inputs(model, "fixed<12,5,RND_CONV,SAT>")
    np.testing.assert_array_equal(hm.predict(x).reshape(-1, 4), wrapper.predict(x, verbose=0))
    grid = np.round(x * 128) / 128  # on the input grid: the original model
    np.testing.assert_array_equal(hm.predict(grid).reshape(-1, 4), model.predict(grid, verbose=0))
    inp = keras.Input((12,))  # uniform quantizers only: io_stream refuses the kept node, naming it
    uniform = keras.Model(
        inp,
        QDense(
            4, name="d", kernel_quantizer="quantized_bits(6,0,alpha=1)", bias_quantizer="quantized_bits(6,2,alpha=1)"
        )(QActivation("quantized_bits(8,3,alpha=1)", name="in_q")(inp)),
    )
    with pytest.raises(NotImplementedError, match=r"'in_q': a quantizer right after another quantizer.*io_stream"):
        convert(uniform, tmp_path / "stream", io_type="io_stream", input_precision="fixed<12,5>", compile=False)


def test_cli_synth_float_bias_model_with_input_precision_is_not_guaranteed(tmp_path, capsys):
    """QKeras golden 'qact_object': a float input into a QDense with an unquantized float32 bias.
    No --input-precision: the input takes hls4ml's default type fixed<16,6> (as hls4ml does), which
    the report states. The bias is an exact constant, but its accumulator needs 34 bits:
    the first line says EXACTNESS NOT GUARANTEED (0 mismatches measured) and names the layer."""
    path = Path(__file__).resolve().parents[1] / "fixtures" / "qkeras_goldens" / "models" / "qact_object.h5"
    rc = main(["synth", str(path), "-o", str(tmp_path / "prj"), "--n-random", "3000"])
    first = capsys.readouterr().out.splitlines()[0]
    assert rc == 1
    assert first == (
        "EXACTNESS NOT GUARANTEED: 0 mismatches on 3000 inputs (3000 random inputs, 1500 of them on the input type's "
        "grid or half a step off it) (inputs quantized to fixed<16,6,TRN,WRAP> on entry), but 1 warning(s): layer "
        "'fc': the exact accumulator needs 34 bits, more than float32's 24; Keras may round where hls4ml does not, so "
        "the C simulation is not guaranteed to equal Keras bit for bit. Use fewer weight or input bits."
    )
    saved = json.loads((tmp_path / "prj" / "hgq_compat_report.json").read_text())
    assert saved["exact"] is False and saved["mismatches"] == 0 and saved["input_precision"] == "fixed<16,6,TRN,WRAP>"
