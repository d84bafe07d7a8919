"""A one-minute HGQ run on sklearn's digits: the README's main job until the full demo lands."""

from __future__ import annotations

import time

import keras
import numpy as np

from .core.config import quantization_config
from .datasets import load_digits_split
from .layers import QActivation, QDense
from .training import FreeEBOPs, model_ebops


def digits_mlp(mode: str = "hgq", beta: float = 1e-5, hidden: int = 32) -> keras.Model:
    """A QKeras-style MLP for 8x8 digits: 64 -> hidden -> 10."""
    with quantization_config(mode=mode, beta=beta):
        return keras.Sequential([
            keras.Input((64,)),
            QActivation("quantized_bits(8,0,keep_negative=False)", name="input_q"),
            QDense(hidden, kernel_quantizer="quantized_bits(8,0,alpha=1)", bias_quantizer="quantized_bits(8,2,alpha=1)",
                   activation="quantized_relu(8,3)", name="dense1"),
            QDense(10, kernel_quantizer="quantized_bits(8,0,alpha=1)", bias_quantizer="quantized_bits(8,2,alpha=1)",
                   name="dense2"),
            keras.layers.Activation("softmax", name="softmax"),
        ])


def run_smoke(epochs: int = 20, beta: float = 3e-6, seed: int = 0) -> int:
    keras.utils.set_random_seed(seed)
    x_train, y_train, x_test, y_test = load_digits_split(seed)
    model = digits_mlp("hgq", beta=beta)
    model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    ebops0 = model_ebops(model)
    t0 = time.perf_counter()
    model.fit(x_train, y_train, epochs=epochs, batch_size=32, verbose=2, callbacks=[FreeEBOPs()])
    acc = float(model.evaluate(x_test, y_test, verbose=0)[1])
    ebops1 = model_ebops(model)
    print(f"digits HGQ MLP: test accuracy {acc:.4f}, EBOPs {ebops0:.0f} -> {ebops1:.0f} "
          f"({ebops0 / max(ebops1, 1):.2f}x fewer) in {time.perf_counter() - t0:.1f} s")
    return 0 if acc > 0.85 else 1
