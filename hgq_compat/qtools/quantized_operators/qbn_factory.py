"""Batch normalization's internal types, y = gamma * (x - mean) / stddev + beta (QKeras ``qbn_factory``)."""

from __future__ import annotations

import copy
import math

import numpy as np

from . import adder_factory, divider_factory, multiplier_factory
from .quantizer_impl import IQuantizer


class QBNFactory:
    """Fills ``internal_divide_quantizer``, ``internal_multiplier``, ``internal_accumulator`` and
    ``internal_output`` from the input and parameter types."""

    def make_quantizer(
        self,
        input_quantizer: IQuantizer,
        gamma_quantizer: IQuantizer,
        beta_quantizer: IQuantizer,
        mean_quantizer: IQuantizer,
        variance_quantizer: IQuantizer,
        use_scale: bool,
        use_center: bool,
    ) -> None:
        self.input_quantizer = input_quantizer
        self.gamma_quantizer = gamma_quantizer
        self.beta_quantizer = beta_quantizer
        self.mean_quantizer = mean_quantizer
        self.variance_quantizer = variance_quantizer
        self.use_scale = use_scale
        self.use_center = use_center
        multiplier = None
        accumulator = None

        stddev = copy.deepcopy(variance_quantizer)  # sqrt of a po2 variance halves its exponent range
        if stddev.is_po2:
            if variance_quantizer.max_val_po2 >= 0:
                stddev.max_val_po2 = np.round(math.sqrt(variance_quantizer.max_val_po2))
            else:
                stddev.max_val_po2 = variance_quantizer.max_val_po2
            stddev.bits = variance_quantizer.bits - 1
            stddev.int_bits = stddev.bits

        dividers = divider_factory.IDivider()
        if use_scale:
            divider = dividers.make_quantizer(gamma_quantizer, stddev)
            count = -1
            if gamma_quantizer.is_po2 and gamma_quantizer.inference_value_counts > 0:
                count = gamma_quantizer.inference_value_counts
                if stddev.is_po2 and stddev.inference_value_counts > 0:
                    count *= stddev.inference_value_counts
                else:
                    count = -1
            if count > 0:
                divider.output.inference_value_counts = count
            multiplier = multiplier_factory.MultiplierFactory().make_multiplier(divider.output, input_quantizer)
            accumulator_input = multiplier
        else:
            divider = dividers.make_quantizer(input_quantizer, stddev)
            accumulator_input = divider

        if use_center:
            accumulator = adder_factory.IAdder().make_quantizer(accumulator_input.output, beta_quantizer)
            output_q = accumulator
        else:
            output_q = accumulator_input

        self.internal_divide_quantizer = divider
        self.internal_multiplier = multiplier
        self.internal_accumulator = accumulator
        self.internal_output = output_q
