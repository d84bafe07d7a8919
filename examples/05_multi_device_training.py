"""HGQ training on several devices: JAX ``keras.distribution`` or TensorFlow ``MirroredStrategy``.

The model is an HGQ-mode MLP (per-element trainable bitwidths) with a range-tracking WRAP
quantizer, trained with `FreeEBOPs`, `BetaScheduler` and `ParetoFront` as on one device. Only
the scope the model is built in changes:

- JAX (``KERAS_BACKEND=jax``): ``keras.distribution.DataParallel`` (default) or, with
  ``--model-parallel``, ``ModelParallel`` on a (batch, model) mesh whose ``LayoutMap`` splits
  the largest layer's kernel and its per-element bitwidths by output unit.
- TensorFlow (``KERAS_BACKEND=tensorflow``): ``tf.distribute.MirroredStrategy`` over the GPUs
  (or the logical CPU devices made by ``--virtual-cpus``).

EBOPs, beta and Pareto checkpoints are model-wide numbers (no per-device counts), and the
running min/max of range-tracking quantizers is reduced over the global batch. ``--check``
trains the same model from the same weights on one device too and reports the largest
difference (float rounding only; bitwidths, EBOPs and the Pareto front are the same).

    KERAS_BACKEND=jax python examples/05_multi_device_training.py --virtual-cpus 4 --check
    KERAS_BACKEND=jax python examples/05_multi_device_training.py --model-parallel
    KERAS_BACKEND=tensorflow python examples/05_multi_device_training.py   # all GPUs
    python examples/05_multi_device_training.py --quick    # CI: 4 virtual CPUs (2 on TF), with --check
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="CI mode: small data, 3 epochs, virtual CPUs, --check")
    p.add_argument("--out", type=Path, default=Path("examples_out") / "05_multi_device_training")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=256, help="global batch (split over the devices)")
    p.add_argument(
        "--virtual-cpus",
        type=int,
        default=0,
        help="split the CPU into N devices (JAX: XLA_FLAGS; TF: logical devices); for trying it out",
    )
    p.add_argument("--model-parallel", action="store_true", help="JAX: ModelParallel with a LayoutMap")
    p.add_argument("--check", action="store_true", help="also train on one device and compare")
    args = p.parse_args()
    if args.quick:
        args.epochs, args.batch_size, args.check = 3, 32, True
        args.virtual_cpus = args.virtual_cpus or (
            2 if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow" else 4
        )
    return args


ARGS = parse_args()
BACKEND = os.environ.get("KERAS_BACKEND", "tensorflow")
# the device count is fixed when the backend starts: split the CPU before importing Keras
if ARGS.virtual_cpus and BACKEND == "jax":
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={ARGS.virtual_cpus}"
    ).strip()
if ARGS.virtual_cpus and BACKEND == "tensorflow":
    import tensorflow as tf

    _cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(_cpu, [tf.config.LogicalDeviceConfiguration()] * ARGS.virtual_cpus)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from hgq_compat import QActivation, QDense, quantization_config, quantized_bits, quantized_relu  # noqa: E402
from hgq_compat.core import FixedPointQuantizer, QuantSpec  # noqa: E402
from hgq_compat.training import (  # noqa: E402
    BetaScheduler,
    FreeEBOPs,
    LogSchedule,
    ParetoFront,
    model_ebops,  # noqa: E402
    trace_minmax,
)


def build_model() -> keras.Model:
    """16 -> 64 -> (range-tracking WRAP quantizer) -> 32 -> 5 logits, HGQ mode."""
    kq = dict(kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 2, alpha=1))
    wrap = QuantSpec(
        keep_negative=1,
        integer=2,
        fractional=4,
        overflow="WRAP",
        range_tracking=True,
        trainable_f=True,
        granularity="per-element",
    )
    with quantization_config(mode="hgq", beta=1e-6):
        inputs = keras.Input((16,))
        x = QActivation("quantized_bits(10, 3, alpha=1)", name="q_input")(inputs)
        x = QDense(64, name="fc1", **kq)(x)
        x = FixedPointQuantizer(wrap, name="fc1_wrap")(x)
        x = QActivation(quantized_relu(6, 3), name="relu1")(x)
        x = QDense(32, name="fc2", activation=quantized_relu(6, 3), **kq)(x)
        outputs = QDense(5, name="out", **kq)(x)
    return keras.Model(inputs, outputs, name="multi_device_mlp")


def make_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Five Gaussian blobs in 16 dimensions (synthetic)."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(1).normal(0, 1.0, (5, 16))
    y = rng.integers(0, 5, n)
    return (centres[y] + rng.normal(0, 1.2, (n, 16))).astype("float32"), y.astype("int64")


def distribution_scope():
    """(scope, number of devices, description) for this backend."""
    if BACKEND == "jax":
        import jax

        devices = jax.devices()
        if ARGS.model_parallel:
            if len(devices) % 2:
                raise SystemExit(f"--model-parallel needs an even number of devices, found {len(devices)}")
            mesh = keras.distribution.DeviceMesh((len(devices) // 2, 2), ["batch", "model"], devices=devices)
            layout_map = keras.distribution.LayoutMap(mesh)
            layout_map["fc1/kernel"] = (None, "model")  # the largest layer, split by output unit
            layout_map["fc1/kernel_quantizer/[if]"] = (None, "model")  # its per-element bitwidths alike
            dist = keras.distribution.ModelParallel(layout_map=layout_map, batch_dim_name="batch")
            return dist.scope(), len(devices), f"ModelParallel mesh {mesh.shape}"
        return keras.distribution.DataParallel(devices=devices).scope(), len(devices), "DataParallel"
    if BACKEND == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_logical_devices("GPU")
        names = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
        strategy = tf.distribute.MirroredStrategy(names)
        return strategy.scope(), strategy.num_replicas_in_sync, "MirroredStrategy"
    raise SystemExit(f"KERAS_BACKEND={BACKEND}: use jax (keras.distribution) or tensorflow (tf.distribute)")


def train(model: keras.Model, initial: list, data: tuple, out: Path) -> dict:
    x_train, y_train, x_val, y_val = data
    model.set_weights(initial)
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    callbacks = [
        FreeEBOPs(),
        BetaScheduler(LogSchedule([(0, 1e-6), (max(ARGS.epochs - 1, 1), 1e-4)])),
        ParetoFront(out, metrics=("val_accuracy", "ebops")),
    ]
    t0 = time.time()
    hist = model.fit(
        x_train,
        y_train,
        batch_size=ARGS.batch_size,
        epochs=ARGS.epochs,
        shuffle=False,
        validation_data=(x_val, y_val),
        callbacks=callbacks,
        verbose=0,
    )
    seconds = time.time() - t0
    trace_minmax(model, x_train)  # ranges for export, from all the training data
    return {
        "seconds": round(seconds, 1),
        "val_accuracy": float(hist.history["val_accuracy"][-1]),
        "ebops": float(model_ebops(model)),
        "ebops_history": [float(e) for e in hist.history["ebops"]],
        "pareto": sorted(p.name for p in out.glob("*.keras")),
    }


def main() -> None:
    out = ARGS.out
    out.mkdir(parents=True, exist_ok=True)
    n = 512 if ARGS.quick else 20000
    x, y = make_data(n)
    split = n * 3 // 4
    data = (x[:split], y[:split], x[split:], y[split:])
    keras.utils.set_random_seed(0)
    initial = build_model().get_weights()

    scope, devices, how = distribution_scope()
    with scope:
        model = build_model()
        summary = {
            "backend": BACKEND,
            "devices": devices,
            "distribution": how,
            "epochs": ARGS.epochs,
            "global_batch": ARGS.batch_size,
            **train(model, initial, data, out / "pareto"),
        }
    print(
        f"{how} on {devices} devices: val_accuracy {summary['val_accuracy']:.4f}, EBOPs {summary['ebops']:.0f}, "
        f"{summary['seconds']} s"
    )
    if ARGS.check:
        single = build_model()
        ref = train(single, initial, data, out / "pareto_single_device")
        diffs = [
            float(np.max(np.abs(keras.ops.convert_to_numpy(a) - keras.ops.convert_to_numpy(b))))
            for a, b in zip(model.variables, single.variables)
            if np.prod(a.shape) > 0
        ]
        summary["single_device"] = ref
        summary["max_variable_difference"] = max(diffs)
        summary["same_ebops_history"] = ref["ebops_history"] == summary["ebops_history"]
        summary["same_pareto_front"] = ref["pareto"] == summary["pareto"]
        print(
            f"one device: val_accuracy {ref['val_accuracy']:.4f}, EBOPs {ref['ebops']:.0f}; largest variable "
            f"difference {summary['max_variable_difference']:.2g}"
        )
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print("RESULT", json.dumps({k: v for k, v in summary.items() if k not in ("single_device", "ebops_history")}))


if __name__ == "__main__":
    main()
