"""Models saved by real QKeras, converted with `convert_qkeras_model`, synthesize bit for bit.

Fixtures: the QKeras 0.9.0 golden models (tests/fixtures/qkeras_goldens/models) and the published
hls4ml example models (vendored in tests/fixtures/published). A model either converts
and its C simulation equals Keras (and the real-QKeras outputs recorded in the goldens) on
>= 10,000 inputs on Vivado and Vitis, or the export refuses it with a message that names the
layer and the reason. A trailing softmax is removed first, as its refusal message says.

Models whose first layer takes float inputs are converted with a declared input precision,
``fixed<16,6>`` (hls4ml's default and the input type of the published hls4ml configs): their C
simulation equals the model with that input quantizer first on any input, and the original
model on inputs on that grid. Where an accumulator is wider than float32's 24 bits (float32
biases), the conversion warns that exactness is not guaranteed; the mismatches are still measured.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import keras
import numpy as np
import pytest

import hls4ml_plugin
from hgq_compat import convert_qkeras_model
from hls4ml_plugin.inputs import grid_inputs, parse_input_precision
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
    "branch": r"layer 'act_b': quantized_tanh\(4\) becomes a lookup table indexed by its input, which has 34 bits",
    "cnn": r"layer 'bn1': a float BatchNormalization is not exact",
    "rnn": r"layer 'lstm': activation 'hard_sigmoid' becomes a lookup table indexed by its input, which has 22 bits.*inside a "
    r"recurrent cell, use fewer kernel.*allow_inexact=True",
    "strings": r"layer 'qbn'",
}

FLOAT_INPUTS = {
    # name: (model input, the layers it feeds): float inputs, quantized to hls4ml's fixed<16,6> on entry
    "qkeras_3layer": ("fc1_input", "'fc1'"),
    "qkeras-v3_3layer": ("fc1_input", "'fc1'"),
    "qkeras_mnist_cnn": ("input_1", "'q_conv2d'"),
    "convbn": ("inp", "'convbn'"),
    "qact_object": ("inp", "'fc'"),
}

INPUT_PRECISION = "fixed<16,6>"
"""hls4ml's default precision, declared for the inputs of the published configs (= fixed<16,6,TRN,WRAP>)."""

REFUSED_WITH_INPUT_PRECISION = {
    # what stays refused with the inputs declared fixed<16,6> (softmax removed)
    "branch": r"layer 'act_b': quantized_tanh\(4\) becomes a lookup table indexed by its input, which has 34 bits",
    "cnn": r"layer 'bn1': a float BatchNormalization is not exact",
    "rnn": r"layer 'lstm': activation 'hard_sigmoid' becomes a lookup table indexed by its input, which has 22 bits.*inside a "
    r"recurrent cell, use fewer kernel.*allow_inexact=True",
    "strings": r"layer 'qbn': Keras computes x \* scale \+ shift in float32",
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_fixture_refusals_name_the_layer(tmp_path, name):
    with pytest.raises((NotImplementedError, ValueError), match=REFUSED[name]):
        hls4ml_plugin.convert(_load(name), tmp_path / "prj", compile=False)


@pytest.mark.parametrize("name", sorted(FLOAT_INPUTS))
def test_fixture_float_inputs_take_hls4ml_default_type(tmp_path, name):
    inp, layers = FLOAT_INPUTS[name]
    model = _load(name)
    if isinstance(model.layers[-1], keras.layers.Activation):
        model = _without_softmax(model)
    with pytest.warns(
        hls4ml_plugin.InputQuantizedWarning,
        match=rf"model input '{inp}' feeds \[{layers}\] directly: "
        r"its float inputs are quantized to fixed<16,6,TRN,WRAP> on entry \(hls4ml's input type, from "
        r"config\['Model'\]\['Precision'\]\)",
    ):
        hm = hls4ml_plugin.convert(model, tmp_path / "prj", compile=False)
    assert str(hm.hgq_compat_keras_model.hgq_compat_input_precision) == "fixed<16,6,TRN,WRAP>"


@pytest.mark.parametrize("name", sorted(REFUSED_WITH_INPUT_PRECISION))
def test_fixture_refusals_with_input_precision(tmp_path, name):
    model = _load(name)
    if name == "cnn":
        model = _without_softmax(model)
    with pytest.raises((NotImplementedError, ValueError), match=REFUSED_WITH_INPUT_PRECISION[name]):
        hls4ml_plugin.convert(model, tmp_path / "prj", compile=False, input_precision=INPUT_PRECISION)


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
        return keras.Model(
            inp, QDense(3, name="d", kernel_quantizer=kernel_quantizer, bias_quantizer="quantized_bits(6,2,alpha=1)")(x)
        )

    for quantizer in ("quantized_po2(4,1)", "quantized_bits(6,0,alpha=0.5)", "ternary(alpha=0.25, threshold=0.1)"):
        m = model(quantizer)
        hm = hls4ml_plugin.convert(m, tmp_path / quantizer[:8], compile=False)
        kernel = np.asarray(m.get_layer("d").quantized_weight("kernel"))
        np.testing.assert_array_equal(hm.graph["d"].get_weights("weight").data, kernel)
    m = model("quantized_po2(8)")
    m.get_layer("d").kernel.assign(np.zeros((4, 3), np.float32))  # quantized_po2(8) gives 2**-64 for 0
    with pytest.raises(NotImplementedError, match=r"layer 'd': kernel quantizer quantized_po2\(8\).*2\*\*-32"):
        hls4ml_plugin.convert(m, tmp_path / "po2_8", compile=False)


# ------------------------------------------------------------- float inputs, declared input precision


def _declared_inputs(
    shape: tuple[int, ...], real: list[np.ndarray], n_grid: int = 13_000, n_off: int | None = None
) -> tuple[np.ndarray, ...]:
    """(inputs on the fixed<16,6> grid, inputs off it). On the grid: grid_inputs (uniform codes,
    small codes), random_inputs and the real data quantized to the type; >= 10,000 of them. Off
    it: random_inputs as they are (the input conversion rounds and wraps them) and the
    half-step ties of grid_inputs (``n_off`` of them drawn at random, all if None)."""
    p = parse_input_precision(INPUT_PRECISION)
    grid = grid_inputs(shape, p, n_grid, seed=2)
    kept = np.all(p.quantize_np(grid) == grid, axis=tuple(range(1, grid.ndim)))
    off = np.concatenate([grid[~kept], random_inputs(shape, n=2000, seed=3)])
    off = off[np.random.default_rng(6).permutation(len(off))[:n_off]]
    on = np.concatenate(
        [grid[kept], p.quantize_np(random_inputs(shape, n=2000, seed=4))] + [p.quantize_np(r) for r in real]
    )
    assert len(on) >= 10_000 and np.array_equal(p.quantize_np(on), on)
    return on, off


def _check_declared(
    models: dict,
    inputs: dict,
    tmp_path,
    references: dict | None = None,
    warned: dict | None = None,
    io_type: str = "io_parallel",
) -> dict:
    """Compile every model with the declared input precision on Vivado and Vitis; the C simulation
    must equal the Keras model with the input quantizer on every input, the original model on the
    inputs on the grid, and real QKeras where the goldens' inputs are on the grid. ``warned``:
    {name: layers the float32-accumulation warning must name} (exactness not guaranteed; the
    mismatches are measured, printed and asserted). Returns {(name, backend): mismatches}."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compiled = compile_all(models, tmp_path, input_precision=INPUT_PRECISION, io_type=io_type)
    acc = [str(w.message) for w in caught if "the exact accumulator needs" in str(w.message)]
    for name in models:
        expected = sorted((warned or {}).get(name, []))
        named = sorted({m.split("'")[1] for m in acc if any(f"layer '{lay}'" in m for lay in expected)})
        assert named == expected, f"{name}: accumulator warnings {acc}"
    if not warned:
        assert not acc, acc

    def simulate(item):  # the C simulations run in parallel: ctypes releases the GIL
        (name, _), (hm, _) = item
        return np.asarray(hm.predict(np.ascontiguousarray(np.concatenate(inputs[name]))))

    with ThreadPoolExecutor(2) as pool:
        simulated = list(pool.map(simulate, compiled.items()))
    measured = {}
    for ((name, backend), (hm, seconds)), y_hls in zip(compiled.items(), simulated):
        on, off = inputs[name]
        label = f"{name}/{backend} ({INPUT_PRECISION} inputs, {io_type})"
        print(f"{label}: compile {seconds:.1f} s")
        wrapper = hm.hgq_compat_keras_model
        assert wrapper is not models[name] and wrapper.layers[1].name == "hgq_compat_input_quantizer"
        x = np.concatenate([on, off])
        y_keras = np.asarray(wrapper.predict(x, verbose=0, batch_size=2048))
        y_hls = y_hls.reshape(y_keras.shape)
        measured[(name, backend)] = mismatches = int(np.sum(y_keras != y_hls))
        print(
            f"{label}: {len(on)} inputs on the grid + {len(off)} off it, {y_keras.size} outputs, "
            f"{mismatches} mismatches, {np.count_nonzero(y_keras)} nonzero"
        )
        assert np.count_nonzero(y_keras) > y_keras.size // 10, f"{label}: degenerate model"
        assert mismatches == 0, f"{label}: {mismatches} of {y_keras.size} outputs differ"
        y_orig = np.asarray(models[name].predict(on, verbose=0, batch_size=2048))
        np.testing.assert_array_equal(
            y_hls[: len(on)].reshape(y_orig.shape),
            y_orig,
            err_msg=f"{label}: C simulation vs the original model on grid inputs",
        )
        if references and name in references:
            ref_x, ref_y = references[name]  # outputs computed by real QKeras 0.9.0 on inputs on the grid
            y = np.asarray(hm.predict(np.ascontiguousarray(ref_x))).reshape(ref_y.shape)
            np.testing.assert_array_equal(y, ref_y, err_msg=f"{label}: C simulation vs real QKeras")
    return measured


def test_published_jet_taggers_bit_exact_with_declared_input_precision(tmp_path):
    """hls4ml's published QKeras jet tagger (QKeras 2 JSON + HDF5, and its qkeras-v3 Keras-3 save),
    softmax removed; its first QDense takes the floats that its hls4ml config declares ap_fixed<16,6>.
    Every accumulator fits float32: exact, no warning."""
    models, inputs = {}, {}
    x_ref = arr("published", published_case("qkeras_3layer")["input"])  # normal floats: quantized to the grid
    for name in ("qkeras_3layer", "qkeras-v3_3layer"):
        models[name] = _without_softmax(_load(name))
        inputs[name] = _declared_inputs((16,), [x_ref])
    _check_declared(models, inputs, tmp_path)


def test_golden_float_bias_models_with_declared_input_precision(tmp_path):
    """QKeras goldens with a float input and unquantized float32 biases (QConv2DBatchnorm,
    QDepthwiseConv2DBatchnorm and a QDense with a float bias; a QDense with a float bias and a
    QActivation object). The biases are exact constants (<= 32 fractional bits), but their
    accumulators are wider than float32's 24 bits: exactness is NOT GUARANTEED, and the warning
    names each such layer. Measured: 0 mismatches (including real QKeras' recorded outputs)."""
    warned = {"convbn": ["convbn", "fc"], "qact_object": ["fc"]}
    models, inputs, references = {}, {}, {}
    for name, last in (("convbn", "fc"), ("qact_object", "act_obj")):
        case = model_case(name)
        x_ref = arr("models", case["input"])
        assert np.array_equal(parse_input_precision(INPUT_PRECISION).quantize_np(x_ref), x_ref)  # on the grid
        models[name] = _load(name)
        inputs[name] = _declared_inputs(tuple(case["input_shape"]), [x_ref])
        references[name] = (x_ref, arr("models", case["layer_outputs"][last]))
    measured = _check_declared(models, inputs, tmp_path, references, warned)
    assert set(measured.values()) == {0}


@pytest.mark.slow
def test_published_mnist_cnn_bit_exact_with_declared_input_precision(tmp_path):
    """hls4ml's published QKeras MNIST CNN (softmax removed; QConv2D with a relu, quantized_relu,
    max pooling) as its hls4ml config builds it: io_stream, ap_fixed<16,6> inputs. Inputs: digits
    scaled to 28x28 (k/16, on the grid), the goldens' uniform images quantized to the grid, random
    grid inputs; just over 10,000 on the grid, as each C simulation of one image takes ~10 ms.
    Exact, no warning. (io_stream also compiles in ~10-30 s where io_parallel takes ~150 s.)"""
    model = _without_softmax(_load("qkeras_mnist_cnn"))
    x_ref = arr("published", published_case("qkeras_mnist_cnn")["input"])
    digits = _digits_as_mnist().reshape(-1, 28, 28, 1)
    positive = np.abs(random_inputs((28, 28, 1), n=1300, seed=5))  # images are >= 0
    on, off = _declared_inputs((28, 28, 1), [x_ref, digits, positive], n_grid=7_500, n_off=500)
    _check_declared({"mnist_cnn": model}, {"mnist_cnn": (on, off)}, tmp_path, io_type="io_stream")
