"""Reference vectors from NOTES.md section 1 and behaviour the goldens do not pin down."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

from hgq_compat import quantizers as Q
from hgq_compat.quantizers import QKerasModeQuantizer, get_quantizer
from tests.conftest import to_np

X9 = np.float32([-11, -7, -4, -0.2, 0, 0.3, 1, 4, 10])


def test_notes_reference_vectors():
    x = np.float32([-3, -2, -1, 0, 2.5625, 3.3671875, 1.5625, 1.046875, 0.054688, 6])
    np.testing.assert_array_equal(
        to_np(Q.quantized_relu(6, 2, 0, 0.25)(x)), [-0.75, -0.5, -0.25, 0, 2.5, 3.375, 1.5, 1, 0, 3.875]
    )
    np.testing.assert_array_equal(
        to_np(Q.quantized_tanh(4, symmetric=True)(np.float32([-1, -0.75, -0.5, -0.25, 0, 0.25, 0.5, 0.75]))),
        [-0.875, -0.75, -0.5, -0.25, 0, 0.25, 0.5, 0.75],
    )
    np.testing.assert_array_equal(to_np(Q.ternary(alpha=10, threshold=5)(X9)), [-10, -10, 0, 0, 0, 0, 0, 0, 10])
    np.testing.assert_array_equal(to_np(Q.binary(use_01=True, alpha=5)(X9)), [0, 0, 0, 0, 5, 5, 5, 5, 5])


def test_internal_sigmoid_changes_numbers():
    x = np.float32([-4, -1, 0, 1, 4])
    q = Q.quantized_sigmoid(4)
    hard = to_np(q(x))
    Q.set_internal_sigmoid("smooth")
    try:
        assert Q.get_internal_sigmoid() == "smooth"
        smooth = to_np(q(x))
    finally:
        Q.set_internal_sigmoid("hard")
    np.testing.assert_array_equal(hard, [0, 0, 0.5, 0.9375, 0.9375])
    np.testing.assert_array_equal(smooth, [0, 0.3125, 0.5, 0.6875, 0.9375])


@pytest.mark.parametrize(
    "text",
    [
        "stochastic_binary(alpha='auto_po2')",
        "stochastic_ternary(alpha='auto_po2')",
        "bernoulli(alpha='auto_po2')",
        "binary(use_stochastic_rounding=True)",
        "ternary(alpha='auto',use_stochastic_rounding=1)",
        "quantized_relu(4,1,use_stochastic_rounding=True)",
        "quantized_tanh(4,1)",
        "quantized_po2(4,4,1)",
        "quantized_bits(4,0,0,alpha=1,use_stochastic_rounding=1)",
    ],
)
def test_stochastic_only_when_training(text):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    layer = QKerasModeQuantizer(text)
    a, b = to_np(layer(x, training=False)), to_np(layer(x, training=False))
    np.testing.assert_array_equal(a, b)
    outs = [to_np(layer(x, training=True)) for _ in range(3)]
    assert any(not np.array_equal(outs[0], o) for o in outs[1:]) or not np.array_equal(outs[0], a)


def test_stochastic_ternary_training_values():
    x = np.random.default_rng(1).normal(size=(32, 4)).astype("float32")
    q = Q.stochastic_ternary(alpha="auto_po2")
    y = to_np(q.quantize(ops.convert_to_tensor(x), training=True))
    s = np.broadcast_to(to_np(q.scale), y.shape)
    assert np.all(np.isclose(y, s) | np.isclose(y, -s) | np.isclose(y, 0, atol=1e-7))


def test_hswish_min_and_str():
    q = Q.quantized_hswish(8, 3)
    # QKeras 0.9.0 raises here (calls a non-existent super().call); the intended value is the
    # quantized minimum of the parabola, -3 * 3 / (4 * 6) = -0.375
    assert q.min() == -0.375
    assert str(q) == "quantized_hswish(8,3,0,relu_shift=3,relu_upper_bound=6)"
    assert Q.quantized_hswish(4, 0).min() == -0.375
    cfg = q.get_config()
    assert get_quantizer({"class_name": "quantized_hswish", "config": cfg}).get_config() == cfg


def test_po2_str_raises_like_qkeras_without_max_value():
    with pytest.raises(TypeError):
        str(Q.quantized_po2(4, use_stochastic_rounding=True))


def test_bad_arguments_name_accepted_values():
    with pytest.raises(ValueError, match="accepted values"):
        Q.ternary(alpha="auto_po3")
    with pytest.raises(ValueError, match="accepted values"):
        Q.quantized_po2(4, log2_rounding="ceil")
    with pytest.raises(ValueError, match="accepted values"):
        Q.quantized_relu_po2(4, negative_slope=0.3)


def test_quantizer_layer_serializes():
    layer = QKerasModeQuantizer("ternary(alpha=0.5,threshold=0.25)")
    again = QKerasModeQuantizer.from_config(layer.get_config())
    assert str(again.quantizer) == "ternary(alpha=0.5,threshold=0.25)"
    assert keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(Q.quantized_po2(4, 2))
    ) == Q.quantized_po2(4, 2)


def test_call_accepts_training():
    """``q(x, training=...)``: deterministic quantizers ignore it; stochastic ones sample only when training."""
    import keras

    from hgq_compat import quantized_bits, stochastic_binary

    x = np.array([0.3, -0.7, 0.05, -0.02, 0.9], dtype="float32")
    q = quantized_bits(4, 0, alpha=1)
    expected = np.array([0.25, -0.75, 0.0, 0.0, 0.875], dtype="float32")
    for training in (None, False, True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(q(x, training=training)), expected)
    sb = stochastic_binary(alpha=1)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(sb(x, training=False)), np.sign(x))
    keras.utils.set_random_seed(0)
    draws = np.stack([keras.ops.convert_to_numpy(sb(np.full(200, 0.05, "float32"), training=True)) for _ in range(5)])
    signs = np.round(draws)
    assert set(np.unique(signs)) == {-1.0, 1.0}  # sampled, not the sign (0.05 > 0 everywhere)
    np.testing.assert_allclose(draws, signs, atol=1e-6)  # +-1 up to the straight-through estimator's float32 sum
