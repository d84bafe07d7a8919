"""Handlers of QDepthwiseConv2D, QSeparableConv1D/2D, QConv2DTranspose and QKeras master's
QDepthwiseConv2DTranspose / QSeparableConv2DTranspose.

- depthwise: one depthwise node (see `_multi.depthwise_node`), then the output quantizer;
- separable: Keras computes ``pointwise(depthwise(x)) + bias`` with an unquantized float32
  intermediate, so the layer becomes a depthwise node (no bias) and a 1x1 convolution (with
  the bias), the intermediate type inferred exactly by bit_exact. The 1x1 convolution carries the
  Keras layer's name (hls4ml config keys are Keras layer names), the depthwise node is
  ``<name>_depthwise`` (it takes the layer's LayerName settings, `passes.layer_config`);
- transposed convolution: hls4ml 1.3.0 has no such layer. The map is linear, so it becomes
  Flatten -> Dense -> Reshape, the dense matrix read off Keras' own ``conv_transpose`` of the
  unit inputs (each entry is one quantized kernel value or 0). Exact; its cost grows with
  (input size x output size), so layers beyond `MAX_TRANSPOSE_MATRIX` entries are refused unless
  inexact exports are allowed (the matrix is still exact; the C simulation is measured). QKeras
  master's grouped/depthwise transposed convolutions are the same with the block-diagonal kernel;
  the separable one continues with its depthwise_activation quantizer and a 1x1 convolution.
"""

from __future__ import annotations

from math import prod
from typing import Any

import numpy as np
from hls4ml.converters.keras_v3._base import KerasV3LayerHandler

from ._common import defer_refusal, quantized_weight, quantizer_node
from ._multi import chain, check_dilation, conv_node, depthwise_node, reshape_node, shapes

MAX_TRANSPOSE_MATRIX = 1 << 18
"""Largest (input size x output size) of a QConv2DTranspose exported as a dense matrix."""


class QDepthwiseConv2DHandler(KerasV3LayerHandler):
    handles = ("hgq_compat.layers.conv_extra.QDepthwiseConv2D",)

    def handle(self, layer: Any, in_tensors: Any, out_tensors: Any) -> tuple[dict[str, Any], ...]:
        check_dilation(layer)
        in_shape, out_shape = shapes(layer, in_tensors, out_tensors)
        node = depthwise_node(
            layer.name,
            quantized_weight(layer, "depthwise_kernel"),
            quantized_weight(layer, "bias"),
            in_shape,
            out_shape,
            layer.strides,
            layer.padding,
        )
        return chain(self, layer, [node], in_tensors, out_tensors)


class QSeparableConvHandler(KerasV3LayerHandler):
    handles = ("hgq_compat.layers.conv_extra.QSeparableConv1D", "hgq_compat.layers.conv_extra.QSeparableConv2D")

    def handle(self, layer: Any, in_tensors: Any, out_tensors: Any) -> tuple[dict[str, Any], ...]:
        check_dilation(layer)
        in_shape, out_shape = shapes(layer, in_tensors, out_tensors)
        dw_kernel = quantized_weight(layer, "depthwise_kernel")
        pw_kernel = quantized_weight(layer, "pointwise_kernel")
        mid_shape = (*out_shape[:-1], in_shape[-1] * layer.depth_multiplier)
        rank = len(in_shape) - 1
        depthwise = depthwise_node(
            f"{layer.name}_depthwise", dw_kernel, None, in_shape, mid_shape, layer.strides, layer.padding
        )
        pointwise = conv_node(
            layer.name, pw_kernel, quantized_weight(layer, "bias"), mid_shape, out_shape, (1,) * rank, "valid"
        )
        return chain(self, layer, [depthwise, pointwise], in_tensors, out_tensors)


def transpose_matrix_nodes(
    layer: Any,
    kernel: np.ndarray,
    bias: np.ndarray | None,
    in_shape: tuple[int, ...],
    out_shape: tuple[int, ...],
    output_padding: Any,
    name: str,
) -> list[dict[str, Any]]:
    """Flatten -> Dense -> Reshape nodes of a transposed convolution (``layer``'s strides, padding and
    dilation) with the quantized (*kernel_px, C_out, C_in) ``kernel``: the dense matrix is Keras' own
    ``conv_transpose`` of the unit inputs, each entry one kernel value or 0."""
    from keras import ops

    cls = type(layer).__name__
    n_in, n_out = prod(in_shape), prod(out_shape)
    if n_in * n_out > MAX_TRANSPOSE_MATRIX:
        defer_refusal(
            layer,
            (
                f"layer {layer.name!r} ({cls}): hls4ml 1.3.0 has no transposed convolution; hgq-compat "
                f"exports it as a dense {n_in}x{n_out} matrix, larger than the limit of {MAX_TRANSPOSE_MATRIX} "
                "entries (the matrix is exact but costly to compile and build); use a smaller input, or UpSampling2D "
                "followed by QConv2D"
            ),
        )
    units = np.eye(n_in, dtype=np.float32).reshape(n_in, *in_shape)
    y = ops.conv_transpose(
        units,
        kernel.astype(np.float32),
        strides=layer.strides,
        padding=layer.padding,
        output_padding=output_padding,
        dilation_rate=layer.dilation_rate,
        data_format="channels_last",
    )
    matrix = np.asarray(ops.convert_to_numpy(y), np.float64).reshape(n_in, n_out)
    if not np.all(np.isin(matrix, np.append(kernel.ravel(), 0.0))):
        raise NotImplementedError(
            f"layer {layer.name!r} ({cls}): overlapping kernel taps; "
            "this configuration is not supported by the hls4ml export"
        )
    if bias is not None:
        bias = np.broadcast_to(bias, out_shape).reshape(-1)
    dense = {
        "name": name,
        "class_name": "Dense",
        "data_format": "channels_last",
        "weight_data": matrix,
        "bias_data": bias,
        "n_in": n_in,
        "n_out": n_out,
    }
    return [reshape_node(f"{name}_flatten", (n_in,)), dense, reshape_node(f"{name}_reshape", out_shape)]


class QConv2DTransposeHandler(KerasV3LayerHandler):
    handles = ("hgq_compat.layers.conv_extra.QConv2DTranspose",)

    def handle(self, layer: Any, in_tensors: Any, out_tensors: Any) -> tuple[dict[str, Any], ...]:
        check_dilation(layer)
        in_shape, out_shape = shapes(layer, in_tensors, out_tensors)
        nodes = transpose_matrix_nodes(
            layer,
            quantized_weight(layer, "kernel"),
            quantized_weight(layer, "bias"),
            in_shape,
            out_shape,
            layer.output_padding,
            layer.name,
        )
        return chain(self, layer, nodes, in_tensors, out_tensors)


def _check_master_transpose(layer: Any) -> None:
    """QKeras master's transposed convolutions export with quantizer (or no) activations only."""
    import keras

    cls = type(layer).__name__
    if layer.activation is not keras.activations.linear:
        raise NotImplementedError(
            f"layer {layer.name!r} ({cls}): activation={layer.activation.__name__!r} is not "
            "applied by the layer (as in QKeras); set activation=None to export it"
        )
    for key, fn in layer.float_activations().items():
        raise NotImplementedError(
            f"layer {layer.name!r} ({cls}): {key}={fn.__name__!r} is a float function; "
            "the export accepts a QKeras quantizer or None"
        )


class QDepthwiseConv2DTransposeHandler(KerasV3LayerHandler):
    handles = ("hgq_compat.layers.conv_transpose.QDepthwiseConv2DTranspose",)

    def handle(self, layer: Any, in_tensors: Any, out_tensors: Any) -> tuple[dict[str, Any], ...]:
        from hgq_compat.layers.conv_transpose import grouped_transpose_kernel

        _check_master_transpose(layer)
        check_dilation(layer)
        in_shape, out_shape = shapes(layer, in_tensors, out_tensors)
        kernel = np.asarray(grouped_transpose_kernel(quantized_weight(layer, "depthwise_kernel"), layer.group_size))
        nodes = transpose_matrix_nodes(layer, kernel, None, in_shape, out_shape, None, layer.name)
        return chain(self, layer, nodes, in_tensors, out_tensors)


class QSeparableConv2DTransposeHandler(KerasV3LayerHandler):
    """Depthwise part as a dense matrix (``<name>_depthwise``), ``depthwise_activation`` as a
    quantizer node, pointwise part (with the bias) as a 1x1 convolution carrying the layer's name."""

    handles = ("hgq_compat.layers.conv_transpose.QSeparableConv2DTranspose",)

    def handle(self, layer: Any, in_tensors: Any, out_tensors: Any) -> tuple[dict[str, Any], ...]:
        from hgq_compat.layers.conv_transpose import QSeparableConv2DTranspose

        _check_master_transpose(layer)
        check_dilation(layer)
        in_shape, out_shape = shapes(layer, in_tensors, out_tensors)
        mid_shape = (*out_shape[:-1], in_shape[-1])
        depthwise = np.asarray(QSeparableConv2DTranspose._diagonal(quantized_weight(layer, "depthwise_kernel")))
        nodes = transpose_matrix_nodes(layer, depthwise, None, in_shape, mid_shape, None, f"{layer.name}_depthwise")
        if layer.depthwise_activation_quantizer is not None:
            nodes.append(
                quantizer_node(
                    layer.depthwise_activation_quantizer,
                    f"{layer.name}_depthwise_quantizer",
                    layer.name,
                    mid_shape,
                    "",
                    "",
                )
            )
        pointwise = np.transpose(quantized_weight(layer, "pointwise_kernel"), (0, 1, 3, 2))  # (1, 1, C, filters)
        nodes.append(
            conv_node(layer.name, pointwise, quantized_weight(layer, "bias"), mid_shape, out_shape, (1, 1), "valid")
        )
        return chain(self, layer, nodes, in_tensors, out_tensors)
