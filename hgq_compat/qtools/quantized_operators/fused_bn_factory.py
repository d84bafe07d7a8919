"""A convolution/dense layer fused with the batch normalization after it (QKeras ``fused_bn_factory``).

z = inv * x + (inv * bias + beta - inv * mean), inv = gamma / sqrt(variance + epsilon) in the
batch normalization's ``inverse_quantizer`` type.
"""

from __future__ import annotations

from typing import Any

from . import adder_factory, multiplier_factory, quantizer_impl
from .quantizer_impl import IQuantizer


class FusedBNFactory:
    """Fills ``internal_accumulator`` and ``internal_output`` (the fused sum)."""

    def make_quantizer(
        self,
        prev_output_quantizer: IQuantizer,
        beta_quantizer: IQuantizer,
        mean_quantizer: IQuantizer,
        inverse_quantizer: IQuantizer,
        prev_bias_quantizer: IQuantizer,
        use_beta: bool,
        use_bias: bool,
        qkeras_inverse_quantizer: Any,
    ) -> None:
        from .auto_po2 import adjust_multiplier_for_auto_po2

        assert not isinstance(inverse_quantizer, quantizer_impl.FloatingPoint), (
            "inverse_quantizer in batchnorm layer has to be set for fused bn inference in hardware!"
        )
        multipliers = multiplier_factory.MultiplierFactory()
        adders = adder_factory.IAdder()

        def product(operand: IQuantizer) -> Any:
            m = multipliers.make_multiplier(inverse_quantizer, operand)
            adjust_multiplier_for_auto_po2(m, qkeras_inverse_quantizer)
            return m

        multiplier_x = product(prev_output_quantizer)
        multiplier_mean = product(mean_quantizer)
        if use_bias:
            multiplier_bias = product(prev_bias_quantizer)
            adder_1 = adders.make_quantizer(multiplier_bias.output, multiplier_mean.output)
        else:
            adder_1 = multiplier_mean
        adder_bias = adders.make_quantizer(adder_1.output, beta_quantizer) if use_beta else adder_1
        adder = adders.make_quantizer(multiplier_x.output, adder_bias.output)
        self.internal_accumulator = adder
        self.internal_output = adder
