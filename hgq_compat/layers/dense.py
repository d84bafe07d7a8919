"""QDense: Keras Dense with quantized kernel, bias and output (QKeras signature)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from ..core.ebops import dense_ebops
from .base import QKernelBiasMixin, kernel_and_bias


@keras.saving.register_keras_serializable(package="hgq_compat")
class QDense(QKernelBiasMixin, keras.layers.Dense):
    """Dense layer with quantized weights (QKeras ``QDense``).

    Extra keyword arguments (all optional, defaulting to the `quantization_config` scope):
    ``mode`` ('qkeras' or 'hgq'), ``granularity``, ``activation_granularity``, ``beta``
    (EBOPs weight in the loss) and ``default_input_bits``.
    """

    quantized_weights = kernel_and_bias(2)

    def __init__(
        self,
        units: int,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "he_normal",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        kernel_quantizer: Any = None,
        bias_quantizer: Any = None,
        kernel_range: Any = None,
        bias_range: Any = None,
        **kwargs: Any,
    ):
        args = self._declare_quantized_weights(
            kwargs,
            units=units,
            activation=None,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint,
            kernel_quantizer=kernel_quantizer,
            bias_quantizer=bias_quantizer,
        )
        kwargs.pop("quantization_config", None)
        super().__init__(**args, **kwargs)
        self._finish_init(activation, {"kernel_range": kernel_range, "bias_range": bias_range})

    def _apply_kernel(self, inputs: Any, kernel: Any) -> Any:
        return ops.matmul(inputs, kernel)

    def _kernel_ebops(self, input_bits: Any, kernel_bits: Any, bias_bits: Any) -> Any:
        return dense_ebops(input_bits, kernel_bits, bias_bits)
