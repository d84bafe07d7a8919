"""QKeras utilities: model_quantize, clone_model, load_qmodel, sparsity, print_qstats, QNoiseScheduler."""

import os

import keras
import numpy as np
import pytest

import hgq_compat as hq
from hgq_compat import callbacks, estimate, utils
from tests.conftest import to_np


def _float_model():
    inp = keras.Input((8,))
    x = keras.layers.Dense(6, activation="relu", name="d1")(inp)
    x = keras.layers.Activation("relu", name="act")(x)
    out = keras.layers.Dense(3, name="d2")(x)
    return keras.Model(inp, out)


QCONFIG = {
    "QDense": {"kernel_quantizer": "quantized_bits(4,0,1)", "bias_quantizer": "quantized_bits(4)"},
    "QActivation": {"relu": "quantized_relu(4)"},
}


def test_model_quantize_replaces_layers_and_transfers_weights():
    model = _float_model()
    qmodel = utils.model_quantize(model, QCONFIG, 6, transfer_weights=True)
    assert [type(l).__name__ for l in qmodel.layers[1:]] == ["QDense", "QActivation", "QDense"]
    assert str(qmodel.get_layer("d1")._activation_quantizer) == "quantized_relu(6,0)"
    assert str(qmodel.get_layer("act").quantizer) == "quantized_relu(4,0)"
    for a, b in zip(model.get_weights(), qmodel.get_weights()):
        np.testing.assert_array_equal(a, b)
    x = np.random.default_rng(0).normal(size=(16, 8)).astype(np.float32)
    k1 = to_np(qmodel.get_layer("d1").quantized_weight("kernel"))
    h = (
        np.clip(np.round(np.maximum(x @ k1 + to_np(qmodel.get_layer("d1").quantized_weight("bias")), 0) * 64), 0, 63)
        / 64
    )
    h = np.clip(np.round(h * 16), 0, 15) / 16
    ref = h @ to_np(qmodel.get_layer("d2").quantized_weight("kernel")) + to_np(
        qmodel.get_layer("d2").quantized_weight("bias")
    )
    np.testing.assert_allclose(to_np(qmodel(x)), ref, rtol=1e-5, atol=1e-6)


def _conv_bn_model():
    inp = keras.Input((6, 6, 2))
    x = keras.layers.Conv2D(3, 3, use_bias=False, name="c1")(inp)
    x = keras.layers.BatchNormalization(name="bn1")(x)
    x = keras.layers.Activation("relu", name="act")(x)
    x = keras.layers.DepthwiseConv2D(2, name="dw")(x)
    x = keras.layers.BatchNormalization(name="bn2")(x)
    return keras.Model(inp, keras.layers.Conv2D(2, 1, name="c2")(x))


def test_model_quantize_folds_batchnorms_as_qkeras_master():
    model = _conv_bn_model()
    before = [w.copy() for w in model.get_weights()]
    config = {
        "QConv2D": {"kernel_quantizer": "quantized_bits(4,0,1)", "bias_quantizer": "quantized_bits(4)"},
        "QDepthwiseConv2D": {"depthwise_quantizer": "quantized_bits(3,0,1)", "bias_quantizer": "quantized_bits(3)"},
        "QConv2DBatchnorm": {
            "kernel_quantizer": "quantized_bits(6,0,1)",
            "bias_quantizer": "quantized_bits(8,3)",
            "folding_mode": "batch_stats_folding",
            "ema_freeze_delay": 5,
        },
    }
    q = utils.model_quantize(model, config, 4, transfer_weights=True, enable_bn_folding=True)
    assert [type(l).__name__ for l in q.layers[1:]] == [
        "QConv2DBatchnorm",
        "Activation",
        "QDepthwiseConv2DBatchnorm",
        "QConv2D",
    ]
    c1, dw = q.get_layer("c1"), q.get_layer("dw")
    assert [str(x) for x in c1.quantizers] == ["quantized_bits(6,0,1,alpha='auto_po2')", "quantized_bits(8,3,0)"]
    assert (c1.use_bias, c1.folding_mode, c1.ema_freeze_delay) == (True, "batch_stats_folding", 5)
    # no QDepthwiseConv2DBatchnorm entry: the unfolded class's quantizers, QKeras' defaults for the folding
    assert [str(x) for x in dw.quantizers] == ["quantized_bits(3,0,1,alpha='auto_po2')", "quantized_bits(3,0,0)"]
    assert (dw.folding_mode, dw.ema_freeze_delay) == ("ema_stats_folding", None)
    assert str(q.get_layer("c2").quantizers[0]).startswith("quantized_bits(4,0,1")
    # as QKeras, weights are not transferred once batch norms were folded (the folded layers start fresh)
    np.testing.assert_array_equal(to_np(c1.moving_variance), np.ones(3, np.float32))
    for a, b in zip(before, model.get_weights()):  # the float model is left alone
        np.testing.assert_array_equal(a, b)
    # nothing to fold: plain quantized layers, weights transferred
    plain = utils.model_quantize(_float_model(), QCONFIG, 4, transfer_weights=True, enable_bn_folding=True)
    assert [type(l).__name__ for l in plain.layers[1:]] == ["QDense", "QActivation", "QDense"]


def test_model_quantize_refuses_a_folded_layer_without_quantizers():
    config = {"QConv2D": {"kernel_quantizer": "quantized_bits(4,0,1)", "bias_quantizer": "quantized_bits(4)"}}
    with pytest.raises(ValueError, match="'dw'.*QDepthwiseConv2DBatchnorm or QDepthwiseConv2D"):
        utils.model_quantize(_conv_bn_model(), config, 4, enable_bn_folding=True)


def _qmodel():
    return utils.model_quantize(_float_model(), QCONFIG, 6, transfer_weights=True)


def test_clone_model_is_exact():
    model = _qmodel()
    clone = utils.clone_model(model)
    x = np.random.default_rng(1).normal(size=(8, 8)).astype(np.float32)
    np.testing.assert_array_equal(to_np(clone(x)), to_np(model(x)))
    assert clone is not model and clone.layers[1] is not model.layers[1]


def test_quantized_model_from_json_and_load_qmodel(tmp_path):
    model = _qmodel()
    again = utils.quantized_model_from_json(model.to_json())
    assert [type(l).__name__ for l in again.layers] == [type(l).__name__ for l in model.layers]
    path = os.path.join(tmp_path, "m.keras")
    model.save(path)
    loaded = utils.load_qmodel(path)
    x = np.ones((2, 8), np.float32)
    np.testing.assert_array_equal(to_np(loaded(x)), to_np(model(x)))
    with pytest.raises(ValueError, match="not JSON"):
        utils.quantized_model_from_json("{not json")
    with pytest.raises(FileNotFoundError, match="nope.keras: model file does not exist"):
        utils.load_qmodel(os.path.join(tmp_path, "nope.keras"))


def test_sparsity_and_saved_quantized_weights():
    model = _qmodel()
    d1 = model.get_layer("d1")
    kernel = np.array(d1.get_weights()[0])
    kernel[:, :3] = 0.0
    kernel[0, 3] = 1e-3  # tiny next to its channel (auto_po2 scale per output channel): quantizes to 0
    d1.set_weights([kernel, d1.get_weights()[1]])
    total, per_layer = utils.get_model_sparsity(model, per_layer=True)
    d1_q = [w for w in (to_np(d1.quantized_weight("kernel")), to_np(d1.quantized_weight("bias")))]
    expected_d1 = np.mean(np.concatenate([w.ravel() for w in d1_q]) == 0)
    assert dict(per_layer)["d1"] == pytest.approx(expected_d1) and expected_d1 >= 0.5
    np.testing.assert_array_equal(d1.get_weights()[0], kernel)  # sparsity leaves weights alone
    saved = utils.model_save_quantized_weights(model)
    np.testing.assert_array_equal(saved["d1"]["weights"][0], d1_q[0])
    np.testing.assert_array_equal(d1.get_weights()[0], d1_q[0])  # QKeras writes them back


def test_print_qstats_leaves_model_untouched(capsys):
    model = _qmodel()
    before = [w.copy() for w in model.get_weights()]
    estimate.print_qstats(model)
    out = capsys.readouterr().out
    for heading in ("Number of operations in model:", "Weight profiling:", "Weight sparsity:", "Total Sparsity"):
        assert heading in out
    assert "d1_kernel" in out and "(4-bit unit)" in out
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_qnoise_scheduler_schedule_and_effect():
    sched = callbacks.QNoiseScheduler(start=0, finish=2, freq_type="epoch", exponent=1.0)
    assert [sched.calculate_qnoise_factor(t) for t in range(4)] == [0.0, 0.5, 1.0, 1.0]
    with pytest.raises(ValueError, match="freq_type='batch'"):
        callbacks.QNoiseScheduler(0, 1, freq_type="batch")
    model = keras.Sequential([keras.Input((4,)), hq.QDense(2, kernel_quantizer="quantized_bits(2,0,alpha=1)")])
    model.compile("sgd", "mse")
    x = np.ones((4, 4), np.float32)
    model.fit(x, np.zeros((4, 2), np.float32), epochs=2, verbose=0, callbacks=[sched])
    assert model.layers[0].kernel_quantizer.qnoise_factor == 0.5


def test_load_qmodel_reads_its_own_files_in_both_modes_and_formats(tmp_path):
    import hgq_compat as hq
    from hgq_compat.utils import load_qmodel

    x = np.random.default_rng(0).normal(size=(16, 6)).astype("float32")
    for mode in ("qkeras", "hgq"):
        with hq.quantization_config(mode=mode):
            model = keras.Sequential(
                [
                    keras.Input((6,)),
                    hq.QDense(
                        4, kernel_quantizer="quantized_bits(4,0)", bias_quantizer="quantized_bits(4,0)", name="d"
                    ),
                ]
            )
        y = model.predict(x, verbose=0)
        for suffix in (".keras", ".h5"):
            path = tmp_path / f"{mode}{suffix}"
            model.save(path)
            loaded = load_qmodel(path, compile=False)
            assert type(loaded.get_layer("d")).__name__ == "QDense" and loaded.get_layer("d").mode == mode
            np.testing.assert_array_equal(loaded.predict(x, verbose=0), y)
