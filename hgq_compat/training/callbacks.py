"""Training callbacks."""

from __future__ import annotations

import keras

from .model import model_ebops


class FreeEBOPs(keras.callbacks.Callback):
    """Puts the model's total EBOPs (for the current bitwidths) in the logs as ``ebops``
    at the end of every epoch, so it shows in ``fit`` progress and history."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs["ebops"] = model_ebops(self.model)
