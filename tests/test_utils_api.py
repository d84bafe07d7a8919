"""qkeras.utils / qkeras.quantizers helpers against real QKeras 0.9.0 goldens: get_weight_scale,
print_model_sparsity, quantized_model_dump."""

from __future__ import annotations

import os

import keras
import numpy as np
import pytest

import hgq_compat
from hgq_compat.quantizers import get_weight_scale
from hgq_compat.utils import print_model_sparsity, quantized_model_dump
from tests import golden


def _case(cid: str) -> dict:
    return next(c for c in golden.load("api")[0] if c["id"] == cid)


@pytest.mark.parametrize("i", range(8))
def test_get_weight_scale(i):
    case = _case(f"get_weight_scale/{i}")
    x = golden.array("api", _case("get_weight_scale/input")["x"])
    q = getattr(hgq_compat, case["ctor"])(**case["kwargs"])
    assert get_weight_scale(q) == case["before_call"]
    q(keras.ops.convert_to_tensor(x))
    ref = golden.array("api", case["scale"])
    np.testing.assert_array_equal(np.asarray(get_weight_scale(q), dtype=np.float32), ref)


def _small_model(case: dict) -> keras.Model:
    m = keras.Sequential(
        [
            keras.Input(shape=(5,), name="inp"),
            hgq_compat.QDense(4, kernel_quantizer="quantized_bits(4,0,1,alpha=1)", name="fc1"),
            hgq_compat.QActivation("quantized_relu(4,2)", name="act"),
            keras.layers.Dense(3, name="plain"),
            keras.layers.Activation("linear", name="lin"),
        ],
        name="sparse",
    )
    m.set_weights([golden.array("api", k) for k in case["weights"]])
    return m


def test_print_model_sparsity(capsys):
    case = _case("print_model_sparsity")
    print_model_sparsity(_small_model(case))
    assert capsys.readouterr().out == case["stdout"]


def test_quantized_model_dump(tmp_path, capsys):
    case = _case("quantized_model_dump")
    x = golden.array("api", case["x"])
    quantized_model_dump(
        _small_model(case), x, output_dir=str(tmp_path / "dump"), layers_to_dump=case["layers_to_dump"]
    )
    files = sorted(os.listdir(tmp_path / "dump"))
    assert files == sorted(case["files"])
    for name, key in case["files"].items():
        got = np.fromfile(tmp_path / "dump" / name, dtype=np.float32)
        ref = golden.array("api", key)
        if name == "act.bin":  # a quantizer output: exact
            np.testing.assert_array_equal(got, ref)
        else:  # QDense output: float32 accumulation
            np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-6)
    assert "writing the layer output tensor to" in capsys.readouterr().out


def test_print_qmodel_summary(capsys):
    from hgq_compat.autoqkeras.utils import print_qmodel_summary

    case = _case("print_qmodel_summary")
    m = keras.Sequential(
        [
            keras.Input(shape=(6, 6, 2), name="inp"),
            hgq_compat.QConv2D(
                3,
                3,
                kernel_quantizer="quantized_bits(4,0,1)",
                bias_quantizer="quantized_bits(4,0,1)",
                activation="quantized_relu(4,2)",
                name="conv",
            ),
            hgq_compat.QBatchNormalization(name="qbn"),
            keras.layers.BatchNormalization(name="bn"),
            hgq_compat.QActivation("quantized_relu(6,2)", name="act"),
            hgq_compat.QDepthwiseConv2D(2, depthwise_quantizer="quantized_bits(6,2,1,alpha=1)", name="dw"),
            keras.layers.Flatten(name="flat"),
            hgq_compat.QDense(4, kernel_quantizer=hgq_compat.quantized_bits(6, 0, 1, alpha=1), name="fc"),
            hgq_compat.QDense(
                2,
                kernel_quantizer="quantized_po2(4,1)",
                bias_quantizer="quantized_bits(4,1)",
                activation="quantized_bits(8,3,alpha=1)",
                name="out",
            ),
        ],
        name="summary",
    )
    qbn = m.get_layer("qbn")
    qbn.moving_mean.assign(np.array([0.5, -0.25, 0.0], dtype=np.float32))
    print_qmodel_summary(m)
    assert capsys.readouterr().out == case["stdout"]


@pytest.mark.parametrize("i", range(4))
def test_update_qnoise_factor(i):
    case = _case(f"update_qnoise_factor/{i}")
    x = golden.array("api", _case("update_qnoise_factor/input")["x"])
    q = getattr(hgq_compat, case["ctor"])(**case["kwargs"])
    q.update_qnoise_factor(case["qnoise_factor"])
    y = keras.ops.convert_to_numpy(q(keras.ops.convert_to_tensor(x)))
    np.testing.assert_allclose(y, golden.array("api", case["output"]), rtol=1e-6, atol=1e-7)
