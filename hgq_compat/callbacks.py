"""QKeras ``qkeras.callbacks``: ``QNoiseScheduler``, plus hgq_compat's training callbacks
(``FreeEBOPs``, ``BetaScheduler``, ``ParetoFront``)."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from .core.quantizer import FixedPointQuantizer
from .layers.base import QuantizedLayerMixin
from .quantizers import QKerasModeQuantizer
from .training.callbacks import BetaScheduler, FreeEBOPs
from .training.pareto import ParetoFront


class QNoiseScheduler(keras.callbacks.Callback):
    """Ramps the ``qnoise_factor`` of every quantizer from 0 to 1 between ``start`` and ``finish``
    (steps or epochs): ``1 - ((finish - t) / (finish - start)) ** exponent``.

    As QKeras: ``t = initial_step_or_epoch + num_iters`` counts the updates this callback has
    seen (over all ``fit`` calls), a factor is computed when ``t % update_freq == 0``, and
    ``quantizers`` lists the quantizers it drives (found at the first ``on_train_begin``:
    each layer's ``quantizers`` and ``quantizer``, plus the output quantizers of weight layers).
    """

    def __init__(
        self,
        start: int,
        finish: int,
        freq_type: str = "epoch",
        update_freq: int = 1,
        initial_step_or_epoch: int = 0,
        exponent: float = 3.0,
        use_ste: bool = True,
        log_dir: str | None = None,
    ):
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
        self.quantizers: list | None = None
        self.num_iters = np.array(0, dtype="int64")

    def calculate_qnoise_factor(self, freq: int) -> float:
        """The factor at step (epoch) ``freq``: 0 before ``start``, 1 from ``finish`` on."""
        if freq < self.start:
            return 0.0
        if freq <= self.finish and self.start != self.finish:
            val = float(self.finish - freq) / float(self.finish - self.start)
            return 1.0 - float(np.power(val, self.exponent))
        return 1.0

    def set_qnoise_factor(self, quantizer: Any, qnoise_factor: float) -> None:
        """Set ``quantizer``'s factor (read by its next call) and remember it."""
        quantizer.update_qnoise_factor(qnoise_factor)
        self.qnoise_factor = qnoise_factor

    def get_quantizers(self, model: keras.Model) -> list:
        """The quantizers of ``model`` that have a ``qnoise_factor``."""
        out: list = []
        for layer in model._flatten_layers(include_self=False, recursive=True):
            if isinstance(layer, (QKerasModeQuantizer, FixedPointQuantizer)):
                continue  # the layers applying a quantizer, not its owner
            found = list(getattr(layer, "quantizers", None) or [])
            if hasattr(layer, "quantizer"):
                found.append(layer.quantizer)
            elif isinstance(layer, QuantizedLayerMixin):
                found.append(getattr(layer, "_activation_quantizer", None))
            out += [q for q in found if q is not None and hasattr(q, "qnoise_factor") and all(q is not o for o in out)]
        return out

    def set_quantizers(self) -> None:
        """Start every quantizer at factor 0 with this callback's ``use_ste``."""
        for q in self.quantizers:
            if hasattr(q, "use_ste"):
                q.use_ste = self.use_ste
            self.set_qnoise_factor(q, 0.0)

    def update_qnoise_factor(self, freq: int) -> None:
        """Count one step (epoch); set the factor for ``freq`` if ``freq % update_freq == 0``."""
        if freq % self.update_freq == 0:
            factor = self.calculate_qnoise_factor(freq)
            for q in self.quantizers:
                self.set_qnoise_factor(q, factor)
        self.num_iters += 1

    def on_train_begin(self, logs: dict | None = None) -> None:
        # qnoise_factor is read when the training function is traced: run eagerly so updates apply
        self.model.run_eagerly = True
        if not self.quantizers:
            self.quantizers = self.get_quantizers(self.model)
            self.set_quantizers()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self.freq_type == "epoch":
            self.update_qnoise_factor(int(self.initial_step_or_epoch + self.num_iters))

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        if self.freq_type == "step":
            self.update_qnoise_factor(int(self.initial_step_or_epoch + self.num_iters))


__all__ = ["BetaScheduler", "FreeEBOPs", "ParetoFront", "QNoiseScheduler"]
