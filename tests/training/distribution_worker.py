"""Worker for tests/training/test_distribution.py: one HGQ training run on one device and on
several, in a fresh process (the device count is fixed when the backend initialises).

    KERAS_BACKEND=jax XLA_FLAGS=--xla_force_host_platform_device_count=4 \\
        python tests/training/distribution_worker.py jax-data OUT_DIR
    KERAS_BACKEND=jax ... distribution_worker.py jax-model OUT_DIR
    KERAS_BACKEND=tensorflow python tests/training/distribution_worker.py tf-mirrored OUT_DIR

Writes OUT_DIR/result.npz (every variable, bitwidths, EBOPs per epoch of both runs) and
OUT_DIR/result.json (devices, logs, Pareto files).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
WHICH = sys.argv[1]
OUT = Path(sys.argv[2])

if WHICH == "tf-mirrored":  # two logical CPU devices, before TensorFlow initialises
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from hgq_compat import QActivation, QDense, quantization_config  # noqa: E402
from hgq_compat.core import FixedPointQuantizer, QuantSpec  # noqa: E402
from hgq_compat.training import BetaScheduler, FreeEBOPs, LogSchedule, ParetoFront, model_ebops  # noqa: E402
from hgq_compat.training.model import fixed_point_quantizers  # noqa: E402

GLOBAL_BATCH = 32
EPOCHS = 3


def build_model() -> keras.Model:
    """8 -> HGQ QDense(16) -> range-tracking WRAP quantizer (per element, trainable f) -> relu
    -> QDense(16) -> QDense(3). d2 is the 'largest layer' that ModelParallel shards."""
    wrap = QuantSpec(
        keep_negative=1,
        integer=0,
        fractional=3,
        overflow="WRAP",
        range_tracking=True,
        trainable_f=True,
        granularity="per-element",
    )
    with quantization_config(mode="hgq", beta=1e-6):
        inputs = keras.Input((8,))
        x = QActivation("quantized_bits(6,0,keep_negative=False)", name="in_q")(inputs)
        x = QDense(
            16, kernel_quantizer="quantized_bits(6,0,alpha=1)", bias_quantizer="quantized_bits(6,2,alpha=1)", name="d1"
        )(x)
        x = FixedPointQuantizer(wrap, name="wrap")(x)
        x = QActivation("quantized_relu(6,2)", name="relu1")(x)
        x = QDense(
            16,
            kernel_quantizer="quantized_bits(6,0,alpha=1)",
            bias_quantizer="quantized_bits(6,2,alpha=1)",
            activation="quantized_relu(6,2)",
            name="d2",
        )(x)
        outputs = QDense(
            3, kernel_quantizer="quantized_bits(6,0,alpha=1)", bias_quantizer="quantized_bits(6,2,alpha=1)", name="d3"
        )(x)
    return keras.Model(inputs, outputs, name="dist")


def data(n: int = 256, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.uniform(0, 0.5, (n, 8)).astype("float32")
    x[np.arange(n), y] += 0.45
    return x, y.astype("int64")


def train(model: keras.Model, initial: list, tag: str) -> dict:
    """Compile, start from ``initial`` weights and fit; returns the numbers to compare."""
    x, y = data()
    model.set_weights(initial)
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    ebops0 = model_ebops(model)
    callbacks = [
        FreeEBOPs(),
        BetaScheduler(LogSchedule([(0, 1e-6), (EPOCHS - 1, 1e-4)])),
        ParetoFront(OUT / f"pareto_{tag}", metrics=("val_accuracy", "ebops")),
    ]
    hist = model.fit(
        x[:192],
        y[:192],
        batch_size=GLOBAL_BATCH,
        epochs=EPOCHS,
        shuffle=False,
        validation_data=(x[192:], y[192:]),
        callbacks=callbacks,
        verbose=0,
    )
    wrap = model.get_layer("wrap")
    out = {f"{tag}/var/{n:03d}": np.asarray(keras.ops.convert_to_numpy(v)) for n, v in enumerate(model.variables)}
    out[f"{tag}/var_paths"] = np.asarray([v.path for v in model.variables])
    out[f"{tag}/ebops"] = np.asarray(hist.history["ebops"])
    out[f"{tag}/beta"] = np.asarray(hist.history["beta"])
    out[f"{tag}/loss"] = np.asarray(hist.history["loss"])
    out[f"{tag}/ebops0"] = np.asarray(ebops0)
    out[f"{tag}/ebops_end"] = np.asarray(model_ebops(model))
    out[f"{tag}/wrap_i"] = np.asarray(keras.ops.convert_to_numpy(wrap.integer_bits()))
    out[f"{tag}/bits"] = np.concatenate(
        [np.ravel(keras.ops.convert_to_numpy(q.bits())) for q in fixed_point_quantizers(model)]
    )
    # the range the single-device run sees over the training data: the reference for vmin/vmax
    out[f"{tag}/pred"] = np.asarray(model.predict(x, batch_size=64, verbose=0))
    return out


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(0)
    single = build_model()
    initial = single.get_weights()
    results = train(single, initial, "single")
    info: dict = {"backend": keras.backend.backend()}
    if WHICH.startswith("jax"):
        import jax

        devices = jax.devices()
        info["devices"] = len(devices)
        if WHICH == "jax-data":
            dist = keras.distribution.DataParallel(devices=devices)
        else:
            mesh = keras.distribution.DeviceMesh((2, 2), ["batch", "model"], devices=devices)
            layout_map = keras.distribution.LayoutMap(mesh)
            # the largest layer's kernel and its per-element bitwidths (same shape) split by output unit
            layout_map["d2/kernel"] = (None, "model")
            layout_map["d2/kernel_quantizer/[if]"] = (None, "model")
            dist = keras.distribution.ModelParallel(layout_map=layout_map, batch_dim_name="batch")
        with dist.scope():
            multi = build_model()
            results.update(train(multi, initial, "multi"))
        if WHICH == "jax-model":
            kernel = multi.get_layer("d2").kernel.value
            info["d2_kernel_sharding"] = str(kernel.sharding.spec)
            info["d2_kernel_shards"] = len({tuple(map(str, s.index)) for s in kernel.addressable_shards})
    else:
        import tensorflow as tf

        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        info["devices"] = strategy.num_replicas_in_sync
        with strategy.scope():
            multi = build_model()
            results.update(train(multi, initial, "multi"))
    info["pareto"] = {tag: sorted(p.name for p in (OUT / f"pareto_{tag}").iterdir()) for tag in ("single", "multi")}
    np.savez(OUT / "result.npz", **results)
    (OUT / "result.json").write_text(json.dumps(info))
    print("RESULT", json.dumps(info))


if __name__ == "__main__":
    main()
