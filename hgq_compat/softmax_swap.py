"""`swap_softmax`: replace every float softmax of a model with `QSoftmax` and measure the change.

A float softmax cannot be reproduced bit for bit by hls4ml, which computes softmax from lookup
tables. `QSoftmax` computes those tables in Keras, so a model whose softmax is a QSoftmax
converts exactly. `swap_softmax` returns such a model (a new one: the input model is never
modified) and, given data, how much its outputs moved.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import keras
import numpy as np

from .layers.softmax import QSoftmax


@dataclasses.dataclass(frozen=True)
class SoftmaxSwapReport:
    """What `swap_softmax` replaced and, given data, how much the outputs changed.

    ``swapped``: names of the replaced softmax layers (a softmax that was the ``activation`` of a
    layer is a new QSoftmax layer named ``<layer>_softmax``). The numbers are None without data:
    ``max_abs_change`` / ``mean_abs_change``: over every output element (probabilities);
    ``argmax_agreement``: fraction of samples whose predicted class (argmax of the last axis) is
    unchanged; ``accuracy_before`` / ``accuracy_after``: against the labels ``y`` (class indices
    or one-hot), None without labels.
    """

    swapped: tuple[str, ...]
    n_samples: int | None = None
    max_abs_change: float | None = None
    mean_abs_change: float | None = None
    argmax_agreement: float | None = None
    accuracy_before: float | None = None
    accuracy_after: float | None = None

    def __str__(self) -> str:
        lines = [f"swapped {len(self.swapped)} softmax layer(s): {', '.join(self.swapped) or '-'}"]
        if self.n_samples is not None:
            lines.append(
                f"on {self.n_samples} samples: max |change| {self.max_abs_change:.3g}, mean |change| "
                f"{self.mean_abs_change:.3g}, same predicted class {100 * self.argmax_agreement:.2f}%"
            )
        if self.accuracy_before is not None:
            lines.append(f"accuracy {100 * self.accuracy_before:.2f}% -> {100 * self.accuracy_after:.2f}%")
        return "\n".join(lines)


def _is_softmax(fn: Any) -> bool:
    return fn is keras.activations.softmax


def _softmax_axis(layer: keras.layers.Layer) -> int:
    axis = getattr(layer, "axis", -1)
    if isinstance(axis, (list, tuple)):
        if len(axis) != 1:
            raise NotImplementedError(
                f"layer {layer.name!r}: softmax over several axes {axis}; QSoftmax takes one axis"
            )
        axis = axis[0]
    return int(axis)


def swap_softmax(
    model: keras.Model, x: Any = None, y: Any = None, batch_size: int = 1024, **qsoftmax_kwargs: Any
) -> tuple[keras.Model, SoftmaxSwapReport]:
    """A copy of ``model`` with every float softmax replaced by `QSoftmax`, and a report.

    Replaced: ``keras.layers.Activation('softmax')``, ``keras.layers.Softmax`` (one axis),
    ``QActivation('softmax')``, and ``activation='softmax'`` on any layer (QDense, Dense, QConv2D,
    ...: the layer becomes linear and a QSoftmax named ``<layer>_softmax`` follows it). The copy
    has the same weights and is a functional model (a Sequential one becomes functional).
    ``qsoftmax_kwargs`` go to every QSoftmax (implementation, input_bits, exp_bits, sum_bits,
    inv_bits, input_scaler). Given inputs ``x`` (and labels ``y``), the report holds the measured
    change of the outputs (`SoftmaxSwapReport`). ``model`` is not modified.
    """
    from .layers.activation import QActivation

    swapped: list[str] = []
    follow: set[str] = set()

    def qsoftmax(name: str, axis: int = -1) -> QSoftmax:
        return QSoftmax(axis=axis, name=name, **qsoftmax_kwargs)

    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        config = layer.get_config()
        if isinstance(layer, keras.layers.Softmax):
            swapped.append(layer.name)
            return qsoftmax(layer.name, _softmax_axis(layer))
        if isinstance(layer, (keras.layers.Activation, QActivation)) and _is_softmax(
            getattr(layer, "activation", None)
        ):
            if getattr(layer, "output_quantizer", None) is None:
                swapped.append(layer.name)
                return qsoftmax(layer.name)
        if _is_softmax(getattr(layer, "activation", None)) and "activation" in config:
            config["activation"] = "linear"
            swapped.append(layer.name)
            follow.add(layer.name)
        return type(layer).from_config(config)

    def call(layer: keras.layers.Layer, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("mask", 0) is None:
            kwargs.pop("mask")  # the cloning adds mask=None, which layers without masking refuse
        out = layer(*args, **kwargs)
        if layer.name in follow:
            return qsoftmax(f"{layer.name}_softmax")(out)
        return out

    source = model if not isinstance(model, keras.Sequential) else keras.Model(model.inputs, model.outputs)
    new = keras.models.clone_model(source, clone_function=clone, call_function=call, recursive=True)
    for layer in model.layers:
        if layer.weights:
            new.get_layer(layer.name).set_weights(layer.get_weights())
    swapped_names = tuple(f"{n}_softmax" if n in follow else n for n in swapped)
    if x is None:
        return new, SoftmaxSwapReport(swapped_names)

    before = _outputs(model, x, batch_size)
    after = _outputs(new, x, batch_size)
    change = np.abs(np.concatenate([(a - b).reshape(len(a), -1) for a, b in zip(after, before)], axis=1))
    agree = float(np.mean(np.argmax(before[0], axis=-1) == np.argmax(after[0], axis=-1)))
    accuracy = (None, None)
    if y is not None:
        labels = np.asarray(y)
        if labels.ndim == before[0].ndim:
            labels = np.argmax(labels, axis=-1)
        accuracy = tuple(float(np.mean(np.argmax(p[0], axis=-1) == labels)) for p in (before, after))
    return new, SoftmaxSwapReport(
        swapped_names, int(len(before[0])), float(change.max()), float(change.mean()), agree, *accuracy
    )


def _outputs(model: keras.Model, x: Any, batch_size: int) -> list[np.ndarray]:
    out = model.predict(x, batch_size=batch_size, verbose=0)
    return [np.asarray(o, np.float64) for o in (out if isinstance(out, (list, tuple)) else [out])]


__all__ = ["SoftmaxSwapReport", "swap_softmax"]
