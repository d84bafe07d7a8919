"""Cross-device reductions for statistics that layers keep in non-trainable variables.

Under JAX's ``keras.distribution`` (``DataParallel``, ``ModelParallel``) a layer sees the
global batch as one sharded array, so a reduction over the batch axis in ``call`` already
spans every device and nothing is needed here. Under ``tf.distribute`` strategies
(``MirroredStrategy``, ``MultiWorkerMirroredStrategy``, TPU) each replica runs ``call`` on
its own slice of the batch; a running min/max must then be reduced across replicas, or the
variable keeps one replica's range. Keras has no cross-replica min/max op (``keras.ops``
only syncs sums, in ``ops.moments(synchronized=True)``), so TensorFlow's replica context is
used directly, as Keras' own synchronized moments do.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


def _replica_context() -> Any:
    """The tf.distribute replica context when ``call`` runs in one of several replicas, else None."""
    if keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return None
    return ctx


def cross_replica_min_max(lo: Any, hi: Any) -> tuple[Any, Any]:
    """(min of ``lo``, max of ``hi``) element-wise over all replicas; the inputs unchanged
    outside a multi-replica tf.distribute context. Every replica must call it (a collective)."""
    ctx = _replica_context()
    if ctx is None:
        return lo, hi
    both = ops.stack([-lo, hi])[None]  # one all-gather for both: (replicas, 2, ...)
    both = ops.max(ctx.all_gather(both, axis=0), axis=0)
    return -both[0], both[1]
