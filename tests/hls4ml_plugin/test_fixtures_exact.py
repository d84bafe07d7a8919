"""Models saved by real QKeras, converted with `convert_qkeras_model`, synthesize bit for bit.

Fixtures: the QKeras 0.9.0 golden models (tests/fixtures/qkeras_goldens/models) and the published
hls4ml example models (/work/shared/fixtures/qkeras-example-models). A model either converts
and its C simulation equals Keras (and the real-QKeras outputs recorded in the goldens) on
>= 10,000 inputs on Vivado and Vitis, or the export refuses it with a message that names the
layer and the reason. A trailing softmax is removed first, as its refusal message says.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

import hls4ml_plugin
from hgq_compat import convert_qkeras_model
from tests.legacy.helpers import MODELS_DIR, PUBLISHED_DIR, V3_ARCHIVE, arr, model_case, published_case

from .conftest import assert_bit_exact, compile_all, random_inputs


def _load(name: str) -> keras.Model:
    if name == "qkeras-v3_3layer":
        return convert_qkeras_model(V3_ARCHIVE)
    if name.startswith("qkeras_"):
        return convert_qkeras_model(PUBLISHED_DIR / f"{name}.json", weights=PUBLISHED_DIR / f"{name}_weights.h5")
    return convert_qkeras_model(MODELS_DIR / f"{name}.h5")


def _without_softmax(model: keras.Model) -> keras.Model:
    """The documented workaround: export the logits, apply softmax in software."""
    last = model.layers[-1]
    assert isinstance(last, keras.layers.Activation) and last.activation is keras.activations.softmax
    return keras.Model(model.inputs, model.layers[-2].output)


REFUSED = {
    # name: regex of the refusal (it names the layer and says what to change)
    "mlp": r"layer 'softmax'.*in software",
    "qkeras_mnist_dense": r"layer 'activation_3'.*in software",
    "qkeras_3layer": r"model input 'fc1_input' feeds layer\(s\) \['fc1'\] directly.*add an input quantizer",
    "qkeras-v3_3layer": r"model input 'fc1_input' feeds layer\(s\) \['fc1'\] directly.*add an input quantizer",
    "qkeras_mnist_cnn": r"model input 'input_1' feeds layer\(s\) \['q_conv2d'\] directly.*add an input quantizer",
    "cnn": r"model input 'inp' feeds layer\(s\) \['conv1'\] directly",
    "branch": r"layer 'fc_a': bias has no quantizer.*bias_quantizer",
    "convbn": r"layer 'fc': bias has no quantizer.*bias_quantizer",
    "qact_object": r"layer 'fc': bias has no quantizer.*bias_quantizer",
    "rnn": r"layer 'lstm' \(QLSTM\): recurrent layers are not supported",
    "strings": r"layer 'qbn'",
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_fixture_refusals_name_the_layer(tmp_path, name):
    with pytest.raises((NotImplementedError, ValueError), match=REFUSED[name]):
        hls4ml_plugin.convert(_load(name), tmp_path / "prj", compile=False)


def _check(models: dict, inputs: dict, references: dict, tmp_path) -> None:
    compiled = compile_all(models, tmp_path)
    for (name, backend), (hm, seconds) in compiled.items():
        x = inputs[name]
        print(f"{name}/{backend}: compile {seconds:.1f} s")
        assert_bit_exact(models[name], hm, x, f"{name}/{backend}")
        ref_x, ref_y = references[name]  # outputs computed by real QKeras 0.9.0
        y = np.asarray(hm.predict(np.ascontiguousarray(ref_x))).reshape(ref_y.shape)
        np.testing.assert_array_equal(y, ref_y, err_msg=f"{name}/{backend}: C simulation vs real QKeras")


def test_golden_models_bit_exact(tmp_path):
    """mlp (softmax removed: quantized_bits inputs, auto_po2 kernels, quantized_relu) and nested
    (a Sequential inside a functional model, inlined), as saved by QKeras."""
    models = {"mlp": _without_softmax(_load("mlp")), "nested": _load("nested")}
    inputs, references = {}, {}
    for name, model in models.items():
        case = model_case(name)
        x_ref = arr("models", case["input"])
        last = model.layers[-1].name if name == "mlp" else "out_act"
        references[name] = (x_ref, arr("models", case["layer_outputs"][last]))
        inputs[name] = np.concatenate([random_inputs(tuple(case["input_shape"])), x_ref])
    _check(models, inputs, references, tmp_path)


def _digits_as_mnist() -> np.ndarray:
    """sklearn's 8x8 digits scaled to 24x24, padded to 28x28, in [0, 1] (k / 16)."""
    from sklearn.datasets import load_digits

    images = load_digits().images / 16.0
    big = np.kron(images, np.ones((3, 3)))
    return np.pad(big, ((0, 0), (2, 2), (2, 2))).reshape(len(images), 784).astype(np.float32)


@pytest.mark.slow
def test_published_mnist_dense_bit_exact(tmp_path):
    """hls4ml's published QKeras MNIST MLP (softmax removed): quantized_po2 kernels,
    quantized_bits(alpha=None) biases, quantized_relu strings; 784 inputs."""
    model = _without_softmax(_load("qkeras_mnist_dense"))
    case = published_case("qkeras_mnist_dense")
    x_ref = arr("published", case["input"])
    n = case["layer_outputs_samples"]
    y_ref = arr("published", case["layer_outputs"]["q_dense_3"])
    positive = np.abs(random_inputs((784,), n=2000, seed=1))  # images are >= 0
    x = np.concatenate([random_inputs((784,)), positive, _digits_as_mnist(), x_ref])
    _check({"mnist_dense": model}, {"mnist_dense": x}, {"mnist_dense": (x_ref[:n], y_ref)}, tmp_path)


def test_non_fixed_weight_quantizers_give_exact_constants(tmp_path):
    """po2 and alpha-scaled weights are constants: accepted when exact, refused otherwise."""
    from hgq_compat import QActivation, QDense

    def model(kernel_quantizer: str) -> keras.Model:
        inp = keras.Input((4,))
        x = QActivation("quantized_bits(8,3,alpha=1)")(inp)
        return keras.Model(inp, QDense(3, name="d", kernel_quantizer=kernel_quantizer,
                                       bias_quantizer="quantized_bits(6,2,alpha=1)")(x))

    for quantizer in ("quantized_po2(4,1)", "quantized_bits(6,0,alpha=0.5)", "ternary(alpha=0.25, threshold=0.1)"):
        m = model(quantizer)
        hm = hls4ml_plugin.convert(m, tmp_path / quantizer[:8], compile=False)
        kernel = np.asarray(m.get_layer("d").quantized_weight("kernel"))
        np.testing.assert_array_equal(hm.graph["d"].get_weights("weight").data, kernel)
    m = model("quantized_po2(8)")
    m.get_layer("d").kernel.assign(np.zeros((4, 3), np.float32))  # quantized_po2(8) gives 2**-64 for 0
    with pytest.raises(NotImplementedError, match=r"layer 'd': kernel quantizer quantized_po2\(8\).*2\*\*-32"):
        hls4ml_plugin.convert(m, tmp_path / "po2_8", compile=False)
