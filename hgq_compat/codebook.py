"""QKeras ``qkeras.codebook``: clustering-based (k-means) weight codebooks, after
https://arxiv.org/pdf/1911.02079.pdf. ``activation_compression`` and
``two_tier_embedding_compression`` are not provided."""

from __future__ import annotations

from typing import Any

import numpy as np
from keras import ops


def _quantized_centers(quantizer: Any, centers: np.ndarray) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(quantizer(ops.convert_to_tensor(centers.astype(np.float32)))))


def create_in_out_table(km: Any, quantizer: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(in_table, out_table)``: codebook values, and the codebook index of every value of
    ``quantizer.range()`` (so ``in_table[out_table[v]]`` is the codebook value of ``v``)."""
    in_table = km.cluster_centers_.flatten()
    qrange = np.asarray(quantizer.range()).reshape(-1, 1).astype(np.float32)
    out_table = km.predict(qrange).ravel()
    return in_table, out_table


def weight_compression(
    weights: np.ndarray, bits: int, axis: int = 0, quantizer: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Cluster each slice of ``weights`` along ``axis`` into ``2**bits`` k-means centers.

    Args:
        weights: numpy array.
        bits: codebook index bits (at most 8): ``2**bits`` values per slice.
        axis: the axis whose slices get their own codebook.
        quantizer: applied to the codebook values (then sorted), or None.

    Returns:
        ``(index_table, codebook_table)``: the codebook index of every weight (same shape as
        ``weights``) and the sorted codebook values, shape ``(weights.shape[axis], 2**bits)``.
    """
    from sklearn.cluster import KMeans

    if bits > 8:
        raise ValueError(f"weight_compression: bits={bits} is not accepted; accepted: at most 8")
    n = 2**bits
    index_table = []
    codebook_table = np.zeros((weights.shape[axis], n))
    for i, w in enumerate(np.split(weights, weights.shape[axis], axis)):
        shape = w.shape
        w = w.ravel().reshape(-1, 1)
        km = KMeans(n, n_init=10)  # as QKeras master (sklearn >= 1.4 defaults to "auto")
        km.fit(w)
        if quantizer is not None:
            km.cluster_centers_ = _quantized_centers(quantizer, km.cluster_centers_)
        km.cluster_centers_.sort(axis=0)
        codebook_table[i, :] = km.cluster_centers_.flatten()
        index_table.append(km.predict(w).reshape(shape))
    return np.concatenate(index_table, axis), codebook_table


__all__ = ["create_in_out_table", "weight_compression"]
