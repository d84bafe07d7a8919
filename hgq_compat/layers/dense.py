"""QDense: Keras Dense with quantized kernel, bias and output (QKeras signature)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from ..core.ebops import dense_ebops
from ._signature import constructor, nones, parameters
from .base import QKernelBiasMixin, kernel_and_bias, kernel_bias_parameters


@keras.saving.register_keras_serializable(package="hgq_compat")
class QDense(QKernelBiasMixin, keras.layers.Dense):
    """Dense layer with quantized weights (QKeras ``QDense``).

    Extra keyword arguments (all optional, defaulting to the `quantization_config` scope):
    ``mode`` ('qkeras' or 'hgq'), ``granularity``, ``activation_granularity``, ``beta``
    (EBOPs weight in the loss) and ``default_input_bits``.
    """

    quantized_weights = kernel_and_bias(2)

    __init__ = constructor(
        parameters("units")
        + kernel_bias_parameters()
        + nones("kernel_quantizer", "bias_quantizer", "kernel_range", "bias_range"),
        "_init_layer",
    )

    def _apply_kernel(self, inputs: Any, kernel: Any) -> Any:
        return ops.matmul(inputs, kernel)

    def _kernel_ebops(self, input_bits: Any, kernel_bits: Any, bias_bits: Any) -> Any:
        return dense_ebops(input_bits, kernel_bits, bias_bits)
