"""Mixed precision: under a global 'mixed_float16' / 'mixed_bfloat16' policy, hgq_compat layers and
quantizers compute in float32 by themselves (outputs exactly those of the float32 model, on the
fixed-point grid) while plain Keras layers keep the mixed policy; a mixed policy passed explicitly to
a quantized layer is refused."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from hgq_compat import QLSTM, QActivation, QConv1D, QDense, quantized_bits
from tests.conftest import to_np

POLICIES = ["mixed_float16", "mixed_bfloat16"]


@pytest.fixture
def restore_policy():
    yield
    keras.mixed_precision.set_dtype_policy("float32")


def _model(mode: str = "qkeras") -> keras.Model:
    inp = keras.Input((6, 4))
    h = keras.layers.Dense(4, name="plain")(inp)  # exact in float16 and bfloat16 on the inputs below
    h = QActivation("quantized_bits(16,6,alpha=1)", mode=mode)(h)
    h = QConv1D(
        3, 2, kernel_quantizer="quantized_bits(12,2,alpha=1)", bias_quantizer="quantized_bits(12,2,alpha=1)", mode=mode
    )(h)
    h = QLSTM(
        3,
        kernel_quantizer="quantized_bits(10,1,alpha=1)",
        recurrent_quantizer="quantized_bits(10,1,alpha=1)",
        bias_quantizer="quantized_bits(10,1,alpha=1)",
        state_quantizer="quantized_bits(14,3,alpha=1)",
        activation="quantized_tanh(10)",
        recurrent_activation="hard_sigmoid",
        mode=mode,
    )(h)
    h = QDense(
        5, kernel_quantizer="quantized_bits(12,2,alpha=1)", bias_quantizer="quantized_bits(12,2,alpha=1)", mode=mode
    )(h)
    return keras.Model(inp, QActivation("quantized_bits(16,5,alpha=1)", mode=mode)(h))


def _data(n: int = 512):
    rng = np.random.default_rng(7)
    x = rng.integers(-4, 5, (n, 6, 4)).astype(np.float32) / 2  # 1 fractional bit, |x| <= 2
    w = rng.integers(-4, 5, (4, 4)).astype(np.float32) / 4  # sums of 4 products: 3 fractional bits, |.| <= 8
    return x, w


@pytest.mark.parametrize("mode", ["qkeras", "hgq"])
@pytest.mark.parametrize("policy", POLICIES)
def test_quantized_layers_compute_in_float32_under_a_mixed_policy(policy, mode, restore_policy):
    x, w = _data()
    keras.utils.set_random_seed(5)
    reference = _model(mode)
    reference.get_layer("plain").set_weights([w, np.zeros(4, np.float32)])
    want = reference.predict(x, verbose=0)
    keras.mixed_precision.set_dtype_policy(policy)
    mixed = _model(mode)
    mixed.set_weights(reference.get_weights())
    assert mixed.get_layer("plain").compute_dtype == policy.split("_")[1]
    for layer in mixed.layers[2:]:
        assert layer.compute_dtype == "float32", layer.name
    got = mixed.predict(x, verbose=0)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, want)
    assert np.array_equal(got * 2**10, np.round(got * 2**10))  # quantized_bits(16,5): step 2^-10
    assert len(np.unique(got)) > 100


@pytest.mark.parametrize("policy", POLICIES)
def test_round_trip_under_a_mixed_policy(policy, restore_policy, tmp_path):
    x, w = _data(64)
    keras.mixed_precision.set_dtype_policy(policy)
    model = _model()
    model.get_layer("plain").set_weights([w, np.zeros(4, np.float32)])
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    assert again.layers[-1].compute_dtype == "float32"
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("policy", POLICIES)
def test_hgq_training_under_a_mixed_policy(policy, restore_policy):
    """fit() with the mixed policy (mixed_float16 wraps the optimizer in a loss scale optimizer):
    finite losses, bitwidths move, outputs stay on the output quantizer's grid."""
    x, w = _data(256)
    y = np.tanh(x.sum(axis=(1, 2)))[:, None].repeat(5, axis=1).astype(np.float32)
    keras.mixed_precision.set_dtype_policy(policy)
    keras.utils.set_random_seed(2)
    model = _model("hgq")
    model.get_layer("plain").set_weights([w, np.zeros(4, np.float32)])
    f_before = to_np(model.layers[-1].output_quantizer.f).copy()
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    history = model.fit(x, y, batch_size=64, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert not np.array_equal(to_np(model.layers[-1].output_quantizer.f), f_before)
    f = np.round(to_np(model.layers[-1].output_quantizer.f)).max()
    out = model.predict(x, verbose=0)
    assert out.dtype == np.float32 and np.array_equal(out * 2.0**f, np.round(out * 2.0**f))


@pytest.mark.parametrize("policy", POLICIES)
def test_explicit_mixed_dtype_is_refused(policy):
    with pytest.raises(ValueError, match=f"QDense: dtype='{policy}' computes in .*float16.*accepted: dtype=None"):
        QDense(3, kernel_quantizer="quantized_bits(8,0,alpha=1)", dtype=policy)
    with pytest.raises(ValueError, match=f"QActivation: dtype='{policy}'"):
        QActivation("quantized_bits(8,0)", dtype=policy)
    assert QDense(3, dtype="float32").compute_dtype == "float32"


def test_quantizer_functions_return_float32_on_half_inputs():
    x = np.random.default_rng(1).normal(size=200).astype(np.float16)
    q = quantized_bits(12, 2, alpha=1)
    for dtype in ("float16", "bfloat16"):
        got = to_np(q(keras.ops.cast(x, dtype)))
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, to_np(q(to_np(keras.ops.cast(keras.ops.cast(x, dtype), "float32")))))
