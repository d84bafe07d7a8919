"""EBOPs of QDense and QConv2D against hand counts."""

import keras
import numpy as np
import pytest

import hgq_compat as hq
from hgq_compat.training import layer_ebops, model_ebops
from tests.conftest import to_np


def _dense_model(mode):
    return keras.Sequential(
        [
            keras.Input((4,)),
            hq.QActivation("quantized_relu(4,1)", mode=mode, name="act"),
            hq.QDense(
                3,
                kernel_quantizer="quantized_bits(6,0,alpha=1)",
                bias_quantizer="quantized_bits(5,2,alpha=1)",
                mode=mode,
                name="dense",
            ),
        ]
    )


KERNEL = np.array([[0.5, -0.25, 0.0], [0.125, 0.0, 0.75], [-0.5, 0.25, 0.375], [0.0625, -0.125, 0.5]], np.float32)
BIAS = np.array([0.5, -1.0, 0.25], np.float32)


def test_qdense_ebops_uniform_bits():
    model = _dense_model("qkeras")
    model.get_layer("dense").set_weights([KERNEL, BIAS])
    # 4-bit inputs x 6-bit weights, 10 non-zero weights: 4*6*10 = 240; bias 3 x 5 bits = 15
    assert model_ebops(model) == 255.0


def test_qdense_ebops_per_element_bits():
    model = _dense_model("hgq")
    dense = model.get_layer("dense")
    dense.set_weights([KERNEL, BIAS] + dense.get_weights()[2:])
    act_q = model.get_layer("act").output_quantizer
    act_q.assign_bitwidths(fractional=[1, 2, 3, 0])  # k=0, i=1: bits 2, 3, 4, 1
    kq = dense.kernel_quantizer_internal
    f_kernel = np.array([[3, 1, 2], [0, 4, 5], [2, 2, 1], [4, 0, 6]], np.float32)
    kq.assign_bitwidths(integer=0, fractional=f_kernel)  # k=1, i=0: bits 1 + f
    dense.bias_quantizer_internal.assign_bitwidths(integer=2, fractional=[2, 1, 0])  # bits 5, 4, 3
    wq = to_np(dense.quantized_weight("kernel"))
    in_bits = [2, 3, 4, 1]
    expected = 0.0
    for j in range(4):
        for n in range(3):
            if wq[j, n] != 0:
                expected += in_bits[j] * (1 + f_kernel[j, n])
    bq = to_np(dense.quantized_weight("bias"))
    np.testing.assert_array_equal(bq, [0.5, -1.0, 0.0])  # 0.25 with f=0 rounds to 0
    expected += 5 + 4  # the zero bias is free
    assert layer_ebops(model)["dense"] == expected
    # the zero weights and a weight pruned to 0 bits cost nothing
    assert (wq == 0).sum() >= 3


@pytest.mark.parametrize("padding, pairs", [("valid", 9 * 4), ("same", 7 * 7)])
def test_qconv2d_ebops(padding, pairs):
    model = keras.Sequential(
        [
            keras.Input((4, 4, 1)),
            hq.QActivation("quantized_relu(3,0)"),
            hq.QConv2D(
                2,
                (2, 2),
                padding=padding,
                kernel_quantizer="quantized_bits(4,0,alpha=1)",
                bias_quantizer="quantized_bits(6,2,alpha=1)",
                name="conv",
            ),
        ]
    )
    kernel = np.full((2, 2, 1, 2), 0.25, np.float32)
    kernel[0, 0, 0, 1] = 0.0  # one zero weight in filter 1
    model.get_layer("conv").set_weights([kernel, np.array([0.5, 0.25], np.float32)])
    positions = 9 if padding == "valid" else 16
    # filter 0: every (output position, kernel offset) pair inside the input costs 3 x 4 bits;
    # filter 1: same, minus the pairs using the zero weight at offset (0, 0)
    pairs_00 = positions  # offset (0,0) is inside the input for every output position
    expected = 3 * 4 * pairs + 3 * 4 * (pairs - pairs_00) + 6 * 2 * positions
    assert model_ebops(model) == expected


def test_unquantized_input_counts_default_bits():
    model = keras.Sequential(
        [
            keras.Input((2,)),
            hq.QDense(1, kernel_quantizer="quantized_bits(4,0,alpha=1)", use_bias=False, default_input_bits=10),
        ]
    )
    model.layers[0].set_weights([np.array([[0.5], [0.25]], np.float32)])
    assert model_ebops(model) == 2 * 10 * 4


def test_bits_flow_through_flatten_and_pooling():
    model = keras.Sequential(
        [
            keras.Input((4, 4, 2)),
            hq.QActivation("quantized_relu(5,1)"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.1),
            hq.QDense(1, kernel_quantizer="quantized_bits(3,0,alpha=1)", use_bias=False, name="d"),
        ]
    )
    model.get_layer("d").set_weights([np.full((8, 1), 0.25, np.float32)])
    assert model_ebops(model) == 8 * 5 * 3
