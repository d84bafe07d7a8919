"""Small offline datasets used by the demo, examples and tests."""

from __future__ import annotations

import numpy as np


def load_digits_split(
    seed: int = 0, test_fraction: float = 0.25
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """sklearn's bundled 8x8 digits (1,797 samples, no download), pixels scaled to [0, 1).

    Returns (x_train, y_train, x_test, y_test) with x of shape (n, 64) float32 and integer labels.
    """
    from sklearn.datasets import load_digits

    data = load_digits()
    x = (data.data / 16.0).astype(np.float32) * np.float32(0.9375)
    y = data.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = int(round(len(x) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]
