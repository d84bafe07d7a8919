"""Multi-device HGQ training gives the single-device result: JAX ``keras.distribution``
(DataParallel, ModelParallel with a LayoutMap) on 4 virtual CPU devices and TensorFlow
``MirroredStrategy`` on 2 logical CPU devices.

Each case runs tests/training/distribution_worker.py in a fresh process (the device count is
fixed when the backend starts): the same model (HGQ QDense layers, a range-tracking WRAP
quantizer with trainable per-element f) from the same initial weights, trained 3 epochs on the
same global batch of 32 with FreeEBOPs, BetaScheduler (log schedule 1e-6 -> 1e-4) and
ParetoFront, once on one device and once distributed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("distribution_worker.py")


def run_worker(which: str, backend: str, tmp_path: Path, **env_extra: str) -> tuple[dict, dict]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND=backend, PYTHONHASHSEED="0", **env_extra)
    env["PYTHONPATH"] = os.pathsep.join([p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p])
    proc = subprocess.run(
        [sys.executable, str(WORKER), which, str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"{which} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    r = np.load(tmp_path / "result.npz")
    return {k: r[k] for k in r.files}, json.loads((tmp_path / "result.json").read_text())


def check_same_training(r: dict, info: dict, devices: int) -> None:
    assert info["devices"] == devices
    paths = list(r["single/var_paths"])
    assert paths == list(r["multi/var_paths"])
    for n, path in enumerate(paths):
        a, b = r[f"single/var/{n:03d}"], r[f"multi/var/{n:03d}"]
        if path.startswith("wrap/v"):  # running min/max: reduced over the whole global batch, exactly
            np.testing.assert_array_equal(b, a, err_msg=path)
        else:  # weights and bitwidths: summation order only
            np.testing.assert_allclose(b, a, rtol=0, atol=1e-5, err_msg=path)
    vmin, vmax = r[f"single/var/{paths.index('wrap/vmin'):03d}"], r[f"single/var/{paths.index('wrap/vmax'):03d}"]
    assert vmin.min() < -0.5 and vmax.max() > 0.5  # the range tracking did track something
    # the bitwidths used (rounded) and EBOPs: equal, epoch by epoch (a per-device count would be 1/n or n times)
    np.testing.assert_array_equal(r["multi/bits"], r["single/bits"])
    np.testing.assert_array_equal(r["multi/wrap_i"], r["single/wrap_i"])
    np.testing.assert_array_equal(r["multi/ebops"], r["single/ebops"])
    assert r["single/ebops"].shape == (3,) and float(r["multi/ebops_end"]) == float(r["single/ebops_end"]) > 1e4
    np.testing.assert_array_equal(r["multi/beta"], r["single/beta"])
    np.testing.assert_allclose(r["multi/beta"], [1e-6, 1e-5, 1e-4], rtol=1e-9)
    # loss includes beta * EBOPs (1.5 at epoch 3): a doubled or lost EBOPs term would show
    np.testing.assert_allclose(r["multi/loss"], r["single/loss"], rtol=1e-5)
    np.testing.assert_allclose(r["multi/pred"], r["single/pred"], rtol=0, atol=1e-6)
    assert info["pareto"]["multi"] == info["pareto"]["single"] and "pareto.csv" in info["pareto"]["multi"]
    assert len(info["pareto"]["multi"]) >= 2


JAX4 = {"XLA_FLAGS": "--xla_force_host_platform_device_count=4"}


def test_jax_data_parallel_equals_one_device(tmp_path):
    pytest.importorskip("jax")
    check_same_training(*run_worker("jax-data", "jax", tmp_path, **JAX4), devices=4)


def test_jax_model_parallel_equals_one_device(tmp_path):
    pytest.importorskip("jax")
    r, info = run_worker("jax-model", "jax", tmp_path, **JAX4)
    check_same_training(r, info, devices=4)
    assert (
        info["d2_kernel_sharding"] == "PartitionSpec(None, 'model')" or info["d2_kernel_sharding"] == "P(None, 'model')"
    )
    assert info["d2_kernel_shards"] == 2  # split over the 'model' axis of the (2, 2) mesh


def test_tf_mirrored_strategy_equals_one_device(tmp_path):
    pytest.importorskip("tensorflow")
    check_same_training(*run_worker("tf-mirrored", "tensorflow", tmp_path), devices=2)


def test_example_script_quick(tmp_path, monkeypatch):
    """examples/05_multi_device_training.py --quick: MirroredStrategy on 2 logical CPUs, checked against one device."""
    pytest.importorskip("tensorflow")
    from tests.test_examples import EXAMPLES, run_example

    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    s = run_example(EXAMPLES / "05_multi_device_training.py", tmp_path)
    assert (s["backend"], s["devices"], s["distribution"], s["epochs"]) == ("tensorflow", 2, "MirroredStrategy", 3)
    assert s["max_variable_difference"] < 1e-5
    assert s["same_ebops_history"] is True and s["same_pareto_front"] is True
    assert s["ebops"] == s["single_device"]["ebops"] > 1e5
    assert s["val_accuracy"] == s["single_device"]["val_accuracy"] > 0.5  # 5 classes; about 0.8 after 3 epochs
    assert s["pareto"] and all(name.endswith(".keras") for name in s["pareto"])
