"""Helpers of handlers that emit several IR nodes for one Keras layer.

`chain` wires partial IR configs one after the other from the layer's input to its output and
appends the output quantizer (or the layer's activation, `_common.output_node`). The other
helpers build the configs of the convolution-like nodes the handlers share.
"""

from __future__ import annotations

from math import prod
from typing import Any, Sequence

import numpy as np
from hls4ml.converters.keras_v3.conv import gen_conv_config

from ..ir import Attr
from ..ir.layers import DEPTHWISE_1D, DEPTHWISE_2D, SCALE_SHIFT, window_sums
from ._common import attach_deferred, output_node


def shapes(layer: Any, in_tensors: Any, out_tensors: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Feature shapes (no batch axis) of the single input and output; all dimensions known."""
    in_shape, out_shape = tuple(in_tensors[0].shape[1:]), tuple(out_tensors[0].shape[1:])
    if None in in_shape or None in out_shape:
        raise ValueError(
            f"layer {layer.name!r}: hls4ml needs fixed input and output shapes, got {in_shape} -> {out_shape}"
        )
    return in_shape, out_shape


def check_dilation(layer: Any) -> None:
    if any(d != 1 for d in np.atleast_1d(getattr(layer, "dilation_rate", 1))):
        raise NotImplementedError(
            f"layer {layer.name!r} ({type(layer).__name__}): dilation_rate={layer.dilation_rate} is not supported by "
            "hls4ml; use dilation_rate=1"
        )


def chain(
    handler: Any, layer: Any, nodes: Sequence[dict[str, Any]], in_tensors: Any, out_tensors: Any
) -> tuple[dict[str, Any], ...]:
    """Complete IR configs of ``nodes`` applied in sequence to the layer's input(s), followed by
    the layer's output quantizer (or relu activation). Each node needs 'name' and 'class_name';
    the first also gets the handler's default config."""
    out = out_tensors[0]
    shape = tuple(out.shape[1:])
    tail_name = f"{out.name}_{layer.name}_out"
    tail = output_node(layer, shape, tail_name, out.name)  # output quantizer or activation, if any
    configs: list[dict[str, Any]] = []
    inputs = [t.name for t in in_tensors]
    for j, node in enumerate(nodes):
        last = j == len(nodes) - 1 and tail is None
        name = out.name if last else (tail_name if j == len(nodes) - 1 else f"{out.name}_{layer.name}_{j}")
        base = handler.default_config if j == 0 else {}
        config = {**base, **node, "input_keras_tensor_names": inputs, "output_keras_tensor_names": [name]}
        config.setdefault(Attr.WEIGHTS_CHECKED, True)
        config.setdefault(Attr.KERAS_LAYER, layer.name)
        configs.append(attach_deferred(layer, config) if j == 0 else config)
        inputs = [name]
    if tail is not None:
        configs.append(tail)
    return tuple(configs)


def conv_node(
    name: str,
    kernel: np.ndarray,
    bias: np.ndarray | None,
    in_shape: tuple[int, ...],
    out_shape: tuple[int, ...],
    strides: Sequence[int],
    padding: str,
) -> dict[str, Any]:
    """Conv1D/Conv2D node (channels_last) with an already-quantized (*kernel_px, C_in, C_out) kernel."""
    rank = kernel.ndim - 2
    config = gen_conv_config(
        in_shape=in_shape,
        out_shape=out_shape,
        ker_px_shape=tuple(kernel.shape[:-2]),
        strides=tuple(strides),
        padding=padding,
        data_format="channels_last",
        name=name,
    )
    config.update(
        {
            "name": name,
            "class_name": f"Conv{rank}D",
            "data_format": "channels_last",
            "weight_data": kernel,
            "bias_data": bias,
        }
    )
    return config


def depthwise_node(
    name: str,
    kernel: np.ndarray,
    bias: np.ndarray | None,
    in_shape: tuple[int, ...],
    out_shape: tuple[int, ...],
    strides: Sequence[int],
    padding: str,
) -> dict[str, Any]:
    """Depthwise convolution with a (*kernel_px, C, depth_multiplier) kernel (Keras layout).

    Depth multiplier 1 becomes hgq-compat's depthwise node (hls4ml's DepthwiseConv with a correct
    bit_exact rule); hls4ml's depthwise code supports no other multiplier, so a larger one becomes
    an ordinary convolution whose kernel is zero outside each input channel's own outputs
    (output channel c * depth_multiplier + m reads input channel c only, as in Keras).
    """
    *px, channels, multiplier = kernel.shape
    rank = len(px)
    if multiplier != 1:
        full = np.zeros((*px, channels, channels * multiplier), kernel.dtype)
        for c in range(channels):
            full[..., c, c * multiplier : (c + 1) * multiplier] = kernel[..., c, :]
        return conv_node(name, full, bias, in_shape, out_shape, strides, padding)
    config = gen_conv_config(
        in_shape=in_shape,
        out_shape=out_shape,
        ker_px_shape=tuple(px),
        strides=tuple(strides),
        padding=padding,
        data_format="channels_last",
        name=name,
    )
    config.update(
        {
            "name": name,
            "class_name": DEPTHWISE_1D if rank == 1 else DEPTHWISE_2D,
            "data_format": "channels_last",
            "depth_multiplier": 1,
            "weight_data": kernel,
            "depthwise_data": kernel,
            "bias_data": bias,
        }
    )
    return config


def scale_shift_node(
    name: str, scale: np.ndarray, shift: np.ndarray | None, shape: Sequence[int], keras_layer: str
) -> dict[str, Any]:
    """``x * scale + shift`` per channel (last axis) of a tensor of feature ``shape``: hls4ml's
    BatchNormalization / ApplyAlpha computation (`ir.layers.ScaleShift`, whose bit_exact rule checks
    it against Keras' float32 arithmetic)."""
    channels = int(shape[-1])
    shift = np.zeros(channels) if shift is None else shift
    return {
        "name": name,
        "class_name": SCALE_SHIFT,
        "n_in": prod(shape),
        "n_filt": channels,
        "scale_data": np.broadcast_to(np.asarray(scale, np.float64), (channels,)).copy(),
        "bias_data": np.broadcast_to(np.asarray(shift, np.float64), (channels,)).copy(),
        Attr.KERAS_LAYER: keras_layer,
    }


def reshape_node(name: str, target_shape: Sequence[int]) -> dict[str, Any]:
    return {"name": name, "class_name": "Reshape", "target_shape": list(target_shape)}


def pool_counts(in_px: Sequence[int], pool: Sequence[int], strides: Sequence[int], padding: str) -> np.ndarray:
    """Number of input pixels (padding excluded, as Keras) in each pooling window."""
    config = gen_conv_config(
        in_shape=(*in_px, 1),
        out_shape=(*in_px, 1),
        ker_px_shape=tuple(pool),
        strides=tuple(strides),
        padding=padding,
        data_format="channels_last",
        name="pool",
    )
    if len(in_px) == 1:
        pads = [(config["pad_left"], config["pad_right"])]
    else:
        pads = [(config["pad_top"], config["pad_bottom"]), (config["pad_left"], config["pad_right"])]
    return window_sums(np.pad(np.ones(tuple(in_px)), pads), pool, strides)


def is_power_of_two(values: Any) -> bool:
    v = np.asarray(values, np.int64)
    return bool(np.all((v > 0) & ((v & (v - 1)) == 0)))
