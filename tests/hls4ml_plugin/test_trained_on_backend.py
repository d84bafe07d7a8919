"""An HGQ model trained on the active Keras backend (CI: TensorFlow, JAX and torch) exports to hls4ml
with a C simulation equal to ``model.predict`` bit for bit."""

from __future__ import annotations

import keras
import numpy as np

from hgq_compat.datasets import load_digits_split
from hgq_compat.training import FreeEBOPs, trace_minmax
from tests.training.test_digits_hgq import digits_mlp

from .conftest import N_RANDOM, assert_bit_exact, compile_all


def test_hgq_model_trained_on_this_backend_is_bit_exact(tmp_path):
    x_train, y_train, x_test, _ = load_digits_split(0)
    model = digits_mlp("hgq", beta=3e-6, hidden=16)
    model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy")
    model.fit(x_train, y_train, epochs=2, batch_size=64, verbose=0, callbacks=[FreeEBOPs()])
    head = keras.Model(model.inputs, model.get_layer("dense2").output)  # the softmax stays in float
    trace_minmax(head, x_train)
    rng = np.random.default_rng(0)
    x = np.concatenate([x_test, rng.uniform(-0.5, 1.5, (N_RANDOM - len(x_test), 64))]).astype(np.float32)
    ((hls_model, _),) = compile_all({"digits": head}, tmp_path, backends={"digits": ("Vivado",)}).values()
    assert assert_bit_exact(head, hls_model, x, f"digits trained on {keras.backend.backend()}") == 0
