"""The benchmark tasks of the migration workflow: datasets and their architectures.

Datasets (no download; each split is fixed, only training depends on the seed):

- ``digits_mlp`` / ``digits_cnn``: sklearn's 8x8 digits (an MLP 64-64-32-10 as in the demo, and a
  small conv net);
- ``mnist1d``: MNIST-1D from ``mnist1d``'s generator with its default arguments (run once in a
  private venv if this Python cannot import it, then cached), a 1-D conv net;
- ``jet``: a jet-tagging-like task generated here (`make_jet_like`: 16 features, 5 classes), the
  hls4ml jet-tagger MLP 16-64-32-32-5.

Every model is built in QKeras mode with uniform b-bit quantizers (`uniform_strings`).
"""

from __future__ import annotations

import math
import subprocess
from typing import Any

TASKS = ("digits_mlp", "digits_cnn", "mnist1d", "jet")
NAMES = {
    "digits_mlp": "8x8 digits, MLP 64-64-32-10",
    "digits_cnn": "8x8 digits, conv net",
    "mnist1d": "MNIST-1D, 1-D conv net",
    "jet": "jet-like, MLP 16-64-32-32-5",
}


# ============================================================================ data


def load_digits_cnn(seed: int = 0):
    """sklearn digits: (x_train, y_train, x_val, y_val, x_test, y_test), x of shape (n, 8, 8, 1)."""
    import numpy as np

    from hgq_compat.datasets import load_digits_split

    x_tr, y_tr, x_te, y_te = load_digits_split(seed)
    n_val = len(x_tr) // 5
    shape = (-1, 8, 8, 1)
    return (
        x_tr[n_val:].reshape(shape),
        y_tr[n_val:],
        x_tr[:n_val].reshape(shape),
        y_tr[:n_val],
        x_te.reshape(shape),
        y_te.astype(np.int64),
    )


def load_digits_mlp():
    """sklearn digits as the demo splits them: (x_train, y_train, x_val, y_val, x_test, y_test), x (n, 64)."""
    from hgq_compat.datasets import load_digits_split
    from hgq_compat.demo.pipeline import N_VAL

    x_tr, y_tr, x_te, y_te = load_digits_split(0)
    return x_tr[N_VAL:], y_tr[N_VAL:], x_tr[:N_VAL], y_tr[:N_VAL], x_te, y_te


MNIST1D_SCRIPT = """
import sys, numpy as np
from mnist1d.data import get_dataset_args, make_dataset
d = make_dataset(get_dataset_args())
np.savez_compressed(sys.argv[1], x=d["x"].astype("float32"), y=d["y"].astype("int64"),
                    x_test=d["x_test"].astype("float32"), y_test=d["y_test"].astype("int64"))
"""


def load_mnist1d(offline: bool = False):
    """MNIST-1D (4,000 train / 1,000 test, length 40) from mnist1d's generator; None if unavailable.

    The generator runs once (in a venv with ``mnist1d`` if needed) and its output is cached."""
    import numpy as np
    import venvs

    cache = venvs.CACHE / "mnist1d-0.0.2.post1-default.npz"
    if not cache.exists():
        py = venvs.mnist1d_python(offline)
        if py is None:
            return None
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(cache.stem + ".tmp.npz")
        subprocess.run([str(py), "-c", MNIST1D_SCRIPT, str(tmp)], check=True, timeout=600)
        tmp.replace(cache)
    d = np.load(cache)
    x, y = d["x"][..., None], d["y"]
    n_val = len(x) // 5
    return x[n_val:], y[n_val:], x[:n_val], y[:n_val], d["x_test"][..., None], d["y_test"]


def make_jet_like(seed: int = 0, n_train: int = 20_000, n_val: int = 5_000, n_test: int = 10_000):
    """A jet-tagging-like task generated offline: 16 standardized features, 5 classes.

    Each class is a mixture of 3 Gaussian clusters in an 8-dimensional latent space; the features
    are a fixed random smooth map of the latent point (tanh of a random projection, plus products of
    pairs), with noise, so the classes overlap and a small MLP reaches about 75-80% accuracy, as on
    the hls4ml jet-tagging dataset. Returns (x_tr, y_tr, x_val, y_val, x_te, y_te)."""
    import numpy as np

    rng = np.random.default_rng(1000 + seed)
    n_classes, n_comp, latent, feats = 5, 3, 8, 16
    centers = rng.normal(0, 1.1, (n_classes, n_comp, latent))
    scales = rng.uniform(0.6, 1.2, (n_classes, n_comp, latent))
    w1 = rng.normal(0, 1 / math.sqrt(latent), (latent, feats - 4))
    pairs = rng.choice(latent, (4, 2))
    n = n_train + n_val + n_test
    y = rng.integers(0, n_classes, n)
    comp = rng.integers(0, n_comp, n)
    z = centers[y, comp] + scales[y, comp] * rng.normal(size=(n, latent))
    x = np.concatenate([np.tanh(z @ w1), z[:, pairs[:, 0]] * z[:, pairs[:, 1]] / 2], axis=1)
    x = x + rng.normal(0, 0.3, x.shape)
    x = ((x - x[:n_train].mean(0)) / x[:n_train].std(0)).astype("float32")
    y = y.astype("int64")
    a, b = n_train, n_train + n_val
    return x[:a], y[:a], x[a:b], y[a:b], x[b:], y[b:]


def load(task: str, offline: bool = False):
    """(x_tr, y_tr, x_val, y_val, x_te, y_te) of a task."""
    if task == "digits_mlp":
        return load_digits_mlp()
    if task == "digits_cnn":
        return load_digits_cnn()
    if task == "mnist1d":
        data = load_mnist1d(offline)
        if data is None:
            raise RuntimeError("MNIST-1D: the mnist1d generator's venv is missing and --offline was given")
        return data
    if task == "jet":
        return make_jet_like()
    raise ValueError(f"task {task!r} is not accepted; accepted values: {', '.join(TASKS)}")


# ============================================================================ models


def uniform_strings(bits: int, signed_input: bool) -> dict[str, str]:
    """QKeras quantizer strings of the uniform b-bit model (b=8 is also where HGQ starts)."""
    act_int = min(3, math.ceil(bits / 2))
    if signed_input:
        inp = f"quantized_bits({bits},{min(3, bits - 1)},alpha=1)"
    else:
        inp = f"quantized_bits({bits},0,keep_negative=False,alpha=1)"
    return {
        "input": inp,
        "kernel": f"quantized_bits({bits},0,alpha=1)",
        "bias": "quantized_bits(8,3,alpha=1)",
        "act": f"quantized_relu({bits},{act_int})",
    }


def build(task: str, bits: int) -> Any:
    """The task's architecture in QKeras mode, uniform at ``bits`` bits."""
    import keras

    import hgq_compat as hq

    q = uniform_strings(bits, signed_input=task in ("mnist1d", "jet"))
    kw = {"kernel_quantizer": q["kernel"], "bias_quantizer": q["bias"]}
    if task == "digits_cnn":
        layers = [
            keras.Input((8, 8, 1)),
            hq.QActivation(q["input"], name="input_q"),
            hq.QConv2D(8, 3, activation=q["act"], name="conv0", **kw),
            hq.QConv2D(16, 3, activation=q["act"], name="conv1", **kw),
            keras.layers.MaxPooling2D(2, name="pool"),
            keras.layers.Flatten(name="flatten"),
            hq.QDense(10, name="out", **kw),
        ]
    elif task == "mnist1d":
        layers = [
            keras.Input((40, 1)),
            hq.QActivation(q["input"], name="input_q"),
            hq.QConv1D(16, 5, activation=q["act"], name="conv0", **kw),
            hq.QConv1D(16, 5, strides=2, activation=q["act"], name="conv1", **kw),
            keras.layers.Flatten(name="flatten"),
            hq.QDense(32, activation=q["act"], name="dense0", **kw),
            hq.QDense(10, name="out", **kw),
        ]
    else:
        n_in, hidden, n_out = (64, (64, 32), 10) if task == "digits_mlp" else (16, (64, 32, 32), 5)
        layers = [keras.Input((n_in,)), hq.QActivation(q["input"], name="input_q")]
        for i, units in enumerate(hidden):
            layers += [hq.QDense(units, name=f"dense{i}", **kw), hq.QActivation(q["act"], name=f"relu{i}")]
        layers.append(hq.QDense(n_out, name="out", **kw))
    return keras.Sequential(layers, name=f"{task}_{bits}b")
