"""QOctaveConv2D: QKeras master's octave convolution, a function that builds QConv2D, QActivation,
UpSampling2D and Add layers on a (high, low) pair of tensors, with QKeras' layer names.

QKeras builds its high-to-low path with ``QAveragePooling2D(quantizer=...)`` and its separable
paths with ``QSeparableConv2D(depthwise_activation=..., depthwise_range=...)``; both raise
TypeError in QKeras (those layers take no such arguments). hgq_compat refuses the same paths with
a NotImplementedError that says so, and builds every path QKeras builds.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import keras

from .activation import QActivation
from .conv import QConv2D


def GetActivationSuffix(activation: Any) -> str:  # noqa: N802 (QKeras name)
    """Suffix for layer names from a quantizer string, e.g. 'quantized_relu(6,2)' -> 'qr62',
    'quantized_bits(16,7,1)' -> 'qb16_71'; None -> 'linear'; any 'po2' quantizer -> 'q2'."""
    if not activation:
        return "linear"
    if "po2" in activation:
        return "q2"
    if "quantized_relu" in activation:
        suffix = "qr"
    elif "quantized_tanh" in activation:
        suffix = "qt"
    else:
        suffix = "qb"
    numbers = [n + "_" if len(n) > 1 else n for n in re.findall(r"[0-9]+", activation)]
    return suffix + "".join(numbers)


def QOctaveConv2D(
    filters: int,
    kernel_size: Any,
    alpha: float,  # noqa: N802 (QKeras name)
    strides: Any = (1, 1),
    padding: str = "valid",
    kernel_initializer: Any = "he_normal",
    bias_initializer: Any = "zeros",
    kernel_regularizer: Any = None,
    bias_regularizer: Any = None,
    kernel_constraint: Any = None,
    bias_constraint: Any = None,
    use_separable: bool = True,
    name: str = "",
    **kwargs: Any,
) -> Callable[[list], list]:
    """Octave convolution (QKeras master ``qkeras.qoctave.QOctaveConv2D``).

    Returns a function of ``[x_high, x_low]`` (either may be None; x_low has half the spatial size)
    giving ``[y_high, y_low]``. ``alpha`` is the fraction of the ``filters`` output channels in the
    low-frequency output (``alpha=-1``: one plain convolution of x_high). Keyword arguments read:
    kernel_quantizer, bias_quantizer, kernel_range, bias_range, acc_quantizer (after each
    convolution), activation (on each output), and depthwise_quantizer, pointwise_quantizer,
    depthwise_activation, depthwise_range, pointwise_range, pooling_quantizer (used only on the
    paths QKeras cannot build, see the module docstring).
    """

    def conv(
        n_filters: int,
        x: Any,
        suffix: str,
        separable: bool,
        kernel: Any = kernel_size,
        conv_strides: Any = strides,
        conv_padding: str = padding,
    ) -> Any:
        if separable:
            raise NotImplementedError(
                f"QOctaveConv2D {name!r}: use_separable=True builds QSeparableConv2D(depthwise_activation=..., "
                "depthwise_range=..., pointwise_range=..., bias_range=...), which QKeras' QSeparableConv2D does not "
                "accept (QKeras raises TypeError); use use_separable=False (QConv2D)"
            )
        return QConv2D(
            n_filters,
            kernel,
            strides=conv_strides,
            padding=conv_padding,
            kernel_regularizer=kernel_regularizer,
            kernel_constraint=kernel_constraint,
            kernel_initializer=kernel_initializer,
            bias_regularizer=bias_regularizer,
            bias_constraint=bias_constraint,
            bias_initializer=bias_initializer,
            kernel_quantizer=kwargs.get("kernel_quantizer"),
            bias_quantizer=kwargs.get("bias_quantizer"),
            kernel_range=kwargs.get("kernel_range", 1.0),
            bias_range=kwargs.get("bias_range", 1.0),
            name=name + suffix,
        )(x)

    def _octave(x: list) -> list:
        x_h, x_l = x
        acc_quantizer = kwargs.get("acc_quantizer")
        activation = kwargs.get("activation")
        act_suffix = "_" + GetActivationSuffix(activation) if activation else ""
        acc_suffix = "_" + GetActivationSuffix(acc_quantizer)

        def acc(y: Any, suffix: str) -> Any:
            return QActivation(acc_quantizer, name=name + suffix + "_act" + acc_suffix)(y) if acc_quantizer else y

        if alpha == -1.0:
            x_h = conv(filters, x_h, "_c_h_to_h", use_separable)
            if activation:
                x_h = QActivation(activation, name=name + "_c_h_to_h_act" + act_suffix)(x_h)
            return [x_h, None]

        co_h = int(filters * (1 - alpha))
        co_l = filters - co_h
        x_h_to_h = x_h_to_l = x_l_to_h = x_l_to_l = None
        if co_h > 0 and x_h is not None:
            x_h_to_h = acc(conv(co_h, x_h, "_c_h_to_h", use_separable), "_c_h_to_h")
        if co_l > 0 and x_h is not None:
            raise NotImplementedError(
                f"QOctaveConv2D {name!r}: the high-to-low path (alpha={alpha} > 0 with a high-frequency input) "
                "builds QAveragePooling2D(quantizer=pooling_quantizer), which QKeras' QAveragePooling2D does not "
                "accept (QKeras raises TypeError); accepted: alpha=-1 or 0, or x_high=None"
            )
        if co_h > 0 and x_l is not None:
            _, height, width, _ = x_l.shape
            upsampling = not (height == 1 and width == 1)
            if upsampling:
                y = conv(co_h, x_l, "_c_l_to_h", use_separable)
            else:
                y = conv(co_h, x_l, "_c_l_to_h", False, kernel=1, conv_strides=1, conv_padding="same")
            x_l_to_h = acc(y, "_c_l_to_h")
            if upsampling:
                x_l_to_h = keras.layers.UpSampling2D(size=(2, 2), name=name + "_u_l_to_h")(x_l_to_h)
        if co_l > 0 and x_l is not None:
            x_l_to_l = acc(conv(co_l, x_l, "_c_l_to_l", use_separable), "_c_l_to_l")

        outputs = []
        for a, b, suffix in ((x_h_to_h, x_l_to_h, "h"), (x_l_to_l, x_h_to_l, "l")):
            y = (
                keras.layers.Add(name=f"{name}_a_{suffix}")([a, b])
                if a is not None and b is not None
                else (a if a is not None else b)
            )
            if y is not None and activation is not None:
                y = QActivation(activation, name=f"{name}_{suffix}_act{act_suffix}")(y)
            outputs.append(y)
        return outputs

    return _octave


__all__ = ["GetActivationSuffix", "QOctaveConv2D"]
