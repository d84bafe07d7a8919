"""hgq_compat.report: per-layer bits, pruning, EBOPs; totals equal model_ebops."""

import json

import keras
import numpy as np
import pytest

from hgq_compat import QActivation, QConv2D, QDense, QSimpleRNN, quantization_config
from hgq_compat.report import (
    activation_bits_array,
    format_report,
    layer_report,
    model_report,
    save_report_json,
    weight_bits_array,
)
from hgq_compat.training import layer_ebops, model_ebops
from tests.training.conftest import tiny_model


def _hand_model():
    """4 inputs (6 bits) -> HGQ QDense(3) whose weights and bitwidths are set by hand."""
    with quantization_config(mode="hgq"):
        model = keras.Sequential(
            [
                keras.Input((4,)),
                QActivation("quantized_bits(6,0,keep_negative=False)", name="in_q"),
                QDense(
                    3,
                    kernel_quantizer="quantized_bits(8,0,alpha=1)",
                    bias_quantizer="quantized_bits(8,2,alpha=1)",
                    activation="quantized_relu(5,2)",
                    name="dense",
                ),
            ]
        )
    dense = model.get_layer("dense")
    kernel = np.array([[0.5, -0.25, 0.75], [0.001, 0.125, -0.5], [0.25, 0.5, 0.0], [-0.75, 0.375, 0.625]], "float32")
    dense.kernel.assign(kernel)
    dense.bias.assign(np.array([0.5, 0.0, -1.25], "float32"))
    f = np.full((4, 3), 7.0, "float32")  # k=1, i=0: 8 bits
    f[0, 1] = -1.0  # 1 + 0 - 1 = 0 bits: pruned
    f[3, 2] = 3.0  # 4 bits; 0.625 -> 0.625 (still non-zero)
    dense.kernel_quantizer_internal.assign_bitwidths(fractional=f)
    return model, dense


def test_pruned_fractions_and_bits_by_hand():
    model, dense = _hand_model()
    row = {r["name"]: r for r in layer_report(model)}["dense"]
    # pruned kernel elements: [0,1] (0 bits), [1,0] (0.001 rounds to 0 at 2^-7), [2,2] (exactly 0)
    k = row["weights"]["kernel"]
    assert k["shape"] == [4, 3] and k["n"] == 12 and k["quantized"] is True
    assert k["pruned"] == 3 and k["pruned_fraction"] == 3 / 12
    assert (k["bits_min"], k["bits_mean"], k["bits_max"]) == (0.0, (10 * 8 + 0 + 4) / 12, 8.0)
    b = row["weights"]["bias"]  # k=1, i=2, f=5: 8 bits; one zero
    assert (b["n"], b["pruned"], b["bits_min"], b["bits_mean"], b["bits_max"]) == (3, 1, 8.0, 8.0, 8.0)
    assert row["n_weights"] == 15 and row["pruned_weights"] == 4 and row["pruned_fraction"] == 4 / 15
    assert row["input"] == {"bits_min": 6.0, "bits_mean": 6.0, "bits_max": 6.0}
    assert row["output"] == {"bits_min": 5.0, "bits_mean": 5.0, "bits_max": 5.0}  # quantized_relu(5,2): unsigned
    assert (row["class"], row["mode"]) == ("QDense", "hgq")
    # EBOPs by hand: 6 input bits x effective kernel bits (0 where pruned) + bias bits (0 where 0)
    eff = np.full((4, 3), 8.0)
    eff[0, 1] = eff[1, 0] = eff[2, 2] = 0.0
    eff[3, 2] = 4.0
    assert row["ebops"] == pytest.approx(6 * eff.sum() + 2 * 8, rel=1e-6)
    np.testing.assert_array_equal(weight_bits_array(dense, "kernel")[0], [8, 0, 8])
    assert activation_bits_array(dense, "output").shape == (3,)
    assert activation_bits_array(model.get_layer("in_q"), "input") is None


def test_totals_equal_model_ebops():
    model, _ = _hand_model()
    rep = model_report(model)
    assert rep["totals"]["ebops"] == model_ebops(model)
    assert {r["name"]: r["ebops"] for r in rep["layers"] if r["name"] in layer_ebops(model)} == layer_ebops(model)
    assert rep["totals"]["n_weights"] == 15 and rep["totals"]["pruned_weights"] == 4
    assert rep["totals"]["weight_bits_mean"] == pytest.approx((84 + 24) / 15)
    assert [r["name"] for r in rep["layers"]] == ["in_q", "dense"]
    assert rep["layers"][0]["ebops"] == 0.0 and rep["layers"][0]["pruned_fraction"] is None


def test_qkeras_mode_conv_and_rnn():
    with quantization_config(mode="qkeras"):
        conv = keras.Sequential(
            [
                keras.Input((6, 6, 2)),
                QActivation("quantized_bits(8,0,keep_negative=False)", name="in_q"),
                QConv2D(
                    3,
                    3,
                    kernel_quantizer="quantized_bits(4,0,alpha=1)",
                    bias_quantizer="quantized_bits(6,2)",
                    activation="quantized_relu(4,1)",
                    name="conv",
                ),
                keras.layers.Flatten(),
                QDense(2, kernel_quantizer="quantized_bits(5,0,alpha=1)", name="dense"),
            ]
        )
        rnn = keras.Sequential(
            [
                keras.Input((5, 3)),
                QSimpleRNN(
                    4,
                    kernel_quantizer="quantized_bits(6,0,alpha=1)",
                    recurrent_quantizer="quantized_bits(6,0,alpha=1)",
                    bias_quantizer="quantized_bits(6,0,alpha=1)",
                    state_quantizer="quantized_bits(7,0,alpha=1)",
                    name="rnn",
                ),
            ]
        )
    for model in (conv, rnn):
        rep = model_report(model)
        assert rep["totals"]["ebops"] == model_ebops(model) > 0
    rows = {r["name"]: r for r in model_report(conv)["layers"]}
    k = rows["conv"]["weights"]["kernel"]
    assert (k["bits_min"], k["bits_max"], k["shape"]) == (4.0, 4.0, [3, 3, 2, 3])
    wq = np.asarray(keras.ops.convert_to_numpy(conv.get_layer("conv").quantized_weight("kernel")))
    assert k["pruned"] == int(np.sum(wq == 0))
    assert rows["conv"]["input"]["bits_mean"] == 8.0 and rows["conv"]["output"]["bits_mean"] == 4.0
    assert rows["dense"]["input"]["bits_mean"] == 4.0  # through Flatten
    assert rows["dense"]["weights"]["bias"]["quantized"] is False
    [rrow] = model_report(rnn)["layers"]  # the cell is folded into its layer
    assert rrow["name"] == "rnn" and list(rrow["weights"]) == ["kernel", "recurrent_kernel", "bias"]
    assert rrow["state"] == {"bits_min": 7.0, "bits_mean": 7.0, "bits_max": 7.0}


def test_format_and_json(tmp_path):
    model = tiny_model("hgq")
    rep = model_report(model)
    text = format_report(rep)
    lines = text.splitlines()
    assert lines[0].split("|")[1].strip() == "layer" and "kernel bits" in lines[0] and "EBOPs" in lines[0]
    assert len({len(line) for line in lines}) == 1  # aligned
    assert len(lines) == 2 + 3 + 1  # header, rule, in_q d1 d2, total
    assert lines[-1].startswith("| total") and f"{model_ebops(model):.1f}" in lines[-1]
    assert "| d1 " in text and "6/6.00/6" in text
    assert format_report(rep["layers"]).count("\n") == len(lines) - 2  # no totals row for a layer list
    save_report_json(rep, tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text()) == rep
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
