"""Softmax: the float softmaxes of a QKeras-style classifier, swapped for QSoftmax by
`hgq_compat.swap_softmax`, convert to an hls4ml C simulation equal to Keras bit for bit.

One io_parallel model (Vivado and Vitis) has four softmax heads: a QDense(activation='softmax')
and a keras Softmax layer (both swapped, 'stable'), a 'latency' QSoftmax and a QSoftmax over
axis 1 of a (4, 3) tensor (hls4ml's multidimensional softmax). A one-head model runs with
io_stream (Vivado). 3 compiles.
"""

from __future__ import annotations

import keras
import pytest

import hls4ml_plugin
from hgq_compat import QActivation, QDense, QSoftmax, swap_softmax

from .conftest import assert_bit_exact, compile_all, random_inputs

W = dict(kernel_quantizer="quantized_bits(6,0,alpha=1)", bias_quantizer="quantized_bits(6,0,alpha=1)")
Q8 = "quantized_bits(8,3,alpha=1)"
LATENCY = dict(implementation="latency", input_bits=(8, 3), exp_bits=(14, 5), inv_bits=(10, 1))


def float_softmax_classifier() -> keras.Model:
    inp = keras.Input((12,))
    x = QActivation(Q8, name="in_q")(inp)
    h = QDense(16, activation="quantized_relu(6,2)", name="hidden", **W)(x)
    heads = [
        QDense(10, activation="softmax", name="logits", **W)(h),
        keras.layers.Softmax(name="sm_layer")(QDense(6, activation=Q8, name="d6", **W)(h)),
        QSoftmax(name="lat", **LATENCY)(QDense(5, activation=Q8, name="d5", **W)(h)),
        keras.layers.Flatten()(
            QSoftmax(axis=1, name="multi")(keras.layers.Reshape((4, 3))(QDense(12, activation=Q8, name="d12", **W)(h)))
        ),
    ]
    return keras.Model(inp, keras.layers.Concatenate()(heads))


@pytest.fixture(scope="module")
def swapped(tmp_path_factory):
    keras.utils.set_random_seed(11)
    model = float_softmax_classifier()
    x = random_inputs((12,), n=2000, seed=4)
    new, report = swap_softmax(model, x)
    stream_in = keras.Input((12,))
    s = QDense(10, activation=Q8, name="d10", **W)(QActivation(Q8, name="in_q")(stream_in))
    stream = keras.Model(stream_in, QSoftmax(name="sm")(s))
    out = tmp_path_factory.mktemp("softmax")
    hls = compile_all({"swapped": new}, out)
    hm_stream = hls4ml_plugin.convert(stream, out / "stream", backend="Vivado", io_type="io_stream")
    return model, new, report, hls, stream, hm_stream


def test_swapped_classifier_bit_exact(swapped):
    model, new, report, hls, _, _ = swapped
    assert sorted(report.swapped) == ["logits_softmax", "sm_layer"]
    assert 0 < report.max_abs_change < 0.05 and report.argmax_agreement > 0.95
    x = random_inputs((12,), seed=5)
    for (name, backend), (hm, seconds) in hls.items():
        nodes = {n.name: n for n in hm.graph.values() if n.class_name == "Softmax"}
        assert set(nodes) == {"logits_softmax", "sm_layer", "lat", "multi"}
        for node_name, node in nodes.items():
            layer = new.get_layer(node_name)
            assert node.get_attr("implementation") == layer.implementation
            assert int(node.get_attr("inv_table_size")) == 2 ** int(layer.sum_spec.bits)
            assert int(node.get_attr("exp_table_size")) == 2 ** int(layer.input_spec_q.bits)
            prec = node.get_attr("exp_table_t").precision
            assert (prec.width, prec.integer, prec.signed) == (
                int(layer.exp_spec.bits),
                int(layer.exp_spec.integer),
                False,
            )
        assert nodes["multi"].get_attr("n_inner") == 3 and nodes["multi"].get_attr("axis") == 1
        assert_bit_exact(new, hm, x, f"{name}/{backend} ({seconds:.0f} s compile)")


def test_softmax_io_stream_bit_exact(swapped):
    _, _, _, _, stream, hm = swapped
    assert_bit_exact(stream, hm, random_inputs((12,), seed=6), "QSoftmax io_stream/Vivado")
