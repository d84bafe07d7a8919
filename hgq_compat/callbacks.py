"""QKeras ``qkeras.callbacks``: ``QNoiseScheduler``, plus hgq_compat's training callbacks
(``FreeEBOPs``, ``BetaScheduler``, ``ParetoFront``)."""

from __future__ import annotations

import keras
import numpy as np

from .layers.base import QuantizedLayerMixin
from .training.callbacks import BetaScheduler, FreeEBOPs
from .training.pareto import ParetoFront


class QNoiseScheduler(keras.callbacks.Callback):
    """Ramps the ``qnoise_factor`` of every quantizer from 0 to 1 between ``start`` and ``finish``
    (steps or epochs): ``1 - ((finish - t) / (finish - start)) ** exponent``."""

    def __init__(self, start: int, finish: int, freq_type: str = "epoch", update_freq: int = 1,
                 initial_step_or_epoch: int = 0, exponent: float = 3.0, use_ste: bool = True, log_dir: str | None = None):
        super().__init__()
        if start > finish:
            raise ValueError(f"start {start} must not be greater than finish {finish}")
        if freq_type not in ("step", "epoch"):
            raise ValueError(f"freq_type={freq_type!r} is not accepted; accepted values: 'step', 'epoch'")
        if log_dir is not None:
            raise NotImplementedError("QNoiseScheduler(log_dir=...) is not supported; use keras.callbacks.TensorBoard")
        self.start, self.finish = start, finish
        self.freq_type, self.update_freq = freq_type, update_freq
        self.initial_step_or_epoch = initial_step_or_epoch
        self.exponent = exponent
        self.use_ste = use_ste
        self.qnoise_factor = None
        self.num_iters = initial_step_or_epoch

    def calculate_qnoise_factor(self, freq: int) -> float:
        if freq < self.start:
            return 0.0
        if freq <= self.finish and self.start != self.finish:
            val = float(self.finish - freq) / float(self.finish - self.start)
            return 1.0 - float(np.power(val, self.exponent))
        return 1.0

    def _quantizers(self) -> list:
        out = []
        for layer in self.model._flatten_layers(include_self=False, recursive=True):
            if isinstance(layer, QuantizedLayerMixin):
                out += [q for q in layer.quantizers if q is not None and hasattr(q, "qnoise_factor")]
                act = getattr(layer, "_activation_quantizer", None)
                if act is not None and hasattr(act, "qnoise_factor"):
                    out.append(act)
        return out

    def _update(self, t: int) -> None:
        if (t - self.initial_step_or_epoch) % self.update_freq:
            return
        self.qnoise_factor = self.calculate_qnoise_factor(t)
        for q in self._quantizers():
            q.qnoise_factor = self.qnoise_factor
            q.use_ste = self.use_ste

    def on_train_begin(self, logs: dict | None = None) -> None:
        # qnoise_factor is read when the training function is traced: run eagerly so updates apply
        self.model.run_eagerly = True
        self._update(self.num_iters)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self.freq_type == "epoch":
            self._update(self.initial_step_or_epoch + epoch)

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        if self.freq_type == "step":
            self._update(self.num_iters)
            self.num_iters += 1


__all__ = ["BetaScheduler", "FreeEBOPs", "ParetoFront", "QNoiseScheduler"]
