"""HGQ on sklearn's digits: EBOPs fall, accuracy holds, bitwidths become heterogeneous."""

import keras
import numpy as np

from hgq_compat import QActivation, QDense, quantization_config
from hgq_compat.datasets import load_digits_split
from hgq_compat.training import FreeEBOPs, model_ebops
from tests.conftest import to_np


def digits_mlp(mode: str = "hgq", beta: float = 1e-5, hidden: int = 32) -> keras.Model:
    """A QKeras-style MLP for 8x8 digits: 64 -> hidden -> 10."""
    with quantization_config(mode=mode, beta=beta):
        return keras.Sequential(
            [
                keras.Input((64,)),
                QActivation("quantized_bits(8,0,keep_negative=False)", name="input_q"),
                QDense(
                    hidden,
                    kernel_quantizer="quantized_bits(8,0,alpha=1)",
                    bias_quantizer="quantized_bits(8,2,alpha=1)",
                    activation="quantized_relu(8,3)",
                    name="dense1",
                ),
                QDense(
                    10,
                    kernel_quantizer="quantized_bits(8,0,alpha=1)",
                    bias_quantizer="quantized_bits(8,2,alpha=1)",
                    name="dense2",
                ),
                keras.layers.Activation("softmax", name="softmax"),
            ]
        )


def test_hgq_mlp_on_digits():
    x_train, y_train, x_test, y_test = load_digits_split(0)
    model = digits_mlp("hgq", beta=3e-6)
    model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    ebops_start = model_ebops(model)
    history = model.fit(x_train, y_train, epochs=8, batch_size=32, verbose=0, callbacks=[FreeEBOPs()])
    ebops = history.history["ebops"]
    assert len(ebops) == 8 and ebops[-1] == model_ebops(model)
    assert ebops[-1] < 0.8 * ebops_start, (ebops_start, ebops)
    assert ebops[-1] < ebops[0]
    acc = model.evaluate(x_test, y_test, verbose=0)[1]
    assert acc > 0.85
    kernel_bits = to_np(model.get_layer("dense1").kernel_quantizer_internal.bits())
    input_bits = to_np(model.get_layer("input_q").output_quantizer.bits())
    hidden_f = to_np(model.get_layer("dense1").output_quantizer.f)
    assert kernel_bits.shape == (64, 32)
    assert len(np.unique(kernel_bits)) >= 3 and kernel_bits.std() > 0.3
    assert input_bits.shape == (64,) and len(np.unique(input_bits)) >= 2
    assert hidden_f.shape == (32,) and hidden_f.std() > 0.01  # per-element activation bitwidths move apart


def test_jitter_bitwidths_keeps_outputs_and_spreads_crossings():
    from hgq_compat.training import jitter_bitwidths

    x_train, _, x_test, _ = load_digits_split(0)
    model = digits_mlp("hgq", beta=3e-6)
    y0, e0 = model.predict(x_test, verbose=0), model_ebops(model)
    jitter_bitwidths(model, amount=0.45, seed=1)
    np.testing.assert_array_equal(model.predict(x_test, verbose=0), y0)
    assert model_ebops(model) == e0
    f = to_np(model.get_layer("dense1").kernel_quantizer_internal.f)
    assert np.all(np.abs(f - 7) <= 0.45) and f.std() > 0.2  # 7 fractional bits (8 with the sign), spread
    import pytest

    with pytest.raises(ValueError, match=r"amount=0.5 is not accepted; accepted values: 0 <= amount < 0.5"):
        jitter_bitwidths(model, amount=0.5)
