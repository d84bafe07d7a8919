"""The benchmark architectures, written once per framework.

Every framework builds the same two networks with the same quantizer placement and the
same granularity, so their timings compare like with like:

- ``jet_mlp``: the hls4ml jet-tagger MLP, 16 -> 64 -> 32 -> 32 -> 5, ReLU;
- ``digits_cnn``: a small conv net for 8x8 digits: Conv2D(8, 3x3) -> Conv2D(16, 3x3) ->
  MaxPool(2) -> Flatten -> Dense(10).

Variants:

- ``float``: plain Keras layers (no quantizer at all);
- ``qkeras``: hgq_compat QKeras mode (fixed bitwidths, QKeras numbers);
- ``hgq``: hgq_compat HGQ mode (per-element trainable bitwidths for every weight and every
  activation, EBOPs term in the loss);
- ``hgq2``: HGQ2 (``pip install hgq2``) with its default per-element quantizers for weights,
  biases and every layer input, EBOPs on (run in its own venv);
- ``qkeras_legacy`` / ``float_tfkeras``: real QKeras 0.9.0 on tf-keras, and plain tf-keras,
  in QKeras' legacy venv.

This file is imported by worker processes in different virtual environments, so every
framework is imported lazily inside its builder. Quantizers use ``alpha=1`` (plain fixed
point) as in the hls4ml jet-tagger tutorial, so that QKeras' hidden ``alpha='auto_po2'``
kernel default does not turn on.
"""

from __future__ import annotations

from typing import Any

ARCHS = ("jet_mlp", "digits_cnn")
INPUT_SHAPES = {"jet_mlp": (16,), "digits_cnn": (8, 8, 1)}
N_CLASSES = {"jet_mlp": 5, "digits_cnn": 10}
MLP_UNITS = (64, 32, 32)

# QKeras quantizer strings shared by hgq_compat (both modes) and real QKeras
INPUT_Q = {"jet_mlp": "quantized_bits(10,3,alpha=1)", "digits_cnn": "quantized_bits(8,0,keep_negative=False,alpha=1)"}
KERNEL_Q = "quantized_bits(8,0,alpha=1)"
BIAS_Q = "quantized_bits(8,2,alpha=1)"
ACT_Q = "quantized_relu(8,3)"


def build(arch: str, variant: str, beta: float = 1e-6, bits: int | None = None) -> Any:
    """The model ``arch`` in framework ``variant`` (see the module doc).

    ``bits``: for the hgq_compat variants, uniform weight/activation bitwidth instead of 8
    (used by the accuracy sweep); None keeps the defaults above.
    """
    if arch not in ARCHS:
        raise ValueError(f"arch={arch!r}; accepted: {ARCHS}")
    if variant == "float":
        return _keras_float(arch)
    if variant in ("qkeras", "hgq"):
        return _hgq_compat(arch, variant, beta, bits)
    if variant == "hgq2":
        return _hgq2(arch, beta)
    if variant == "qkeras_legacy":
        return _qkeras_legacy(arch)
    if variant == "float_tfkeras":
        return _tfkeras_float(arch)
    raise ValueError(f"variant={variant!r}; accepted: float, qkeras, hgq, hgq2, qkeras_legacy, float_tfkeras")


def _keras_float(arch: str) -> Any:
    import keras

    L = keras.layers
    if arch == "jet_mlp":
        layers = [keras.Input(INPUT_SHAPES[arch])]
        layers += [L.Dense(u, activation="relu") for u in MLP_UNITS]
        layers += [L.Dense(5)]
    else:
        layers = [
            keras.Input(INPUT_SHAPES[arch]),
            L.Conv2D(8, 3, activation="relu"),
            L.Conv2D(16, 3, activation="relu"),
            L.MaxPooling2D(2),
            L.Flatten(),
            L.Dense(10),
        ]
    return keras.Sequential(layers, name=f"{arch}_float")


def quantizer_strings(bits: int | None) -> tuple[str, str, str]:
    """(kernel, bias, activation) QKeras quantizer strings for a uniform bitwidth."""
    if bits is None:
        return KERNEL_Q, BIAS_Q, ACT_Q
    return (
        f"quantized_bits({bits},0,alpha=1)",
        f"quantized_bits({max(bits, 4)},2,alpha=1)",
        f"quantized_relu({bits},3)",
    )


def _hgq_compat(arch: str, mode: str, beta: float, bits: int | None) -> Any:
    import keras

    import hgq_compat as hq

    kq, bq, aq = quantizer_strings(bits)
    with hq.quantization_config(mode=mode, beta=beta):
        layers = [keras.Input(INPUT_SHAPES[arch]), hq.QActivation(INPUT_Q[arch], name="input_q")]
        if arch == "jet_mlp":
            for n, u in enumerate(MLP_UNITS):
                layers.append(hq.QDense(u, kernel_quantizer=kq, bias_quantizer=bq, activation=aq, name=f"dense{n}"))
            layers.append(hq.QDense(5, kernel_quantizer=kq, bias_quantizer=bq, name="out"))
        else:
            layers += [
                hq.QConv2D(8, 3, kernel_quantizer=kq, bias_quantizer=bq, activation=aq, name="conv0"),
                hq.QConv2D(16, 3, kernel_quantizer=kq, bias_quantizer=bq, activation=aq, name="conv1"),
                keras.layers.MaxPooling2D(2, name="pool"),
                keras.layers.Flatten(name="flatten"),
                hq.QDense(10, kernel_quantizer=kq, bias_quantizer=bq, name="out"),
            ]
    return keras.Sequential(layers, name=f"{arch}_{mode}")


def _hgq2(arch: str, beta: float) -> Any:
    """HGQ2 defaults: per-element KBI weight/bias quantizers and per-element KIF input
    quantizers on every layer (the batch axis shares), EBOPs on."""
    import keras
    from hgq.config import LayerConfigScope
    from hgq.layers import QConv2D, QDense

    with LayerConfigScope(enable_ebops=True, beta0=beta):
        layers = [keras.Input(INPUT_SHAPES[arch])]
        if arch == "jet_mlp":
            layers += [QDense(u, activation="relu") for u in MLP_UNITS]
            layers += [QDense(5)]
        else:
            layers += [
                QConv2D(8, 3, activation="relu"),
                QConv2D(16, 3, activation="relu"),
                keras.layers.MaxPooling2D(2),
                keras.layers.Flatten(),
                QDense(10),
            ]
        return keras.Sequential(layers, name=f"{arch}_hgq2")


def _qkeras_legacy(arch: str) -> Any:
    import tf_keras as keras
    from qkeras import QActivation, QConv2D, QDense

    L = keras.layers
    layers = [L.InputLayer(INPUT_SHAPES[arch]), QActivation(INPUT_Q[arch])]
    if arch == "jet_mlp":
        for u in MLP_UNITS:
            layers.append(QDense(u, kernel_quantizer=KERNEL_Q, bias_quantizer=BIAS_Q))
            layers.append(QActivation(ACT_Q))
        layers.append(QDense(5, kernel_quantizer=KERNEL_Q, bias_quantizer=BIAS_Q))
    else:
        layers += [
            QConv2D(8, 3, kernel_quantizer=KERNEL_Q, bias_quantizer=BIAS_Q),
            QActivation(ACT_Q),
            QConv2D(16, 3, kernel_quantizer=KERNEL_Q, bias_quantizer=BIAS_Q),
            QActivation(ACT_Q),
            L.MaxPooling2D(2),
            L.Flatten(),
            QDense(10, kernel_quantizer=KERNEL_Q, bias_quantizer=BIAS_Q),
        ]
    return keras.Sequential(layers, name=f"{arch}_qkeras_legacy")


def _tfkeras_float(arch: str) -> Any:
    import tf_keras as keras

    L = keras.layers
    if arch == "jet_mlp":
        layers = [L.InputLayer(INPUT_SHAPES[arch])] + [L.Dense(u, activation="relu") for u in MLP_UNITS] + [L.Dense(5)]
    else:
        layers = [
            L.InputLayer(INPUT_SHAPES[arch]),
            L.Conv2D(8, 3, activation="relu"),
            L.Conv2D(16, 3, activation="relu"),
            L.MaxPooling2D(2),
            L.Flatten(),
            L.Dense(10),
        ]
    return keras.Sequential(layers, name=f"{arch}_float_tfkeras")
