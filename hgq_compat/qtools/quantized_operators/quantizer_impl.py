"""QTools' data types: the bit layout of each QKeras quantizer kind (QKeras ``quantizer_impl``).

``mode`` indexes the operator tables: 0 fixed point (quantized_bits / relu / tanh / ulaw),
1 power of two, 2 ternary, 3 binary (-1, +1), 4 binary (0, 1), 5 floating point.
``int_bits`` excludes the sign bit; ``bits`` includes it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ... import quantizers

FLOATINGPOINT_BITS = 32


def get_np_value(val: Any) -> Any:
    """A tensor/variable as NumPy (a one-element array as its element); anything else unchanged."""
    if hasattr(val, "numpy") or type(val).__module__.startswith("keras"):
        import keras

        arr = keras.ops.convert_to_numpy(val)
        return arr[0] if isinstance(arr, np.ndarray) and arr.ndim == 1 and len(arr) == 1 else arr
    return val


def get_exp(quantizer: IQuantizer) -> tuple[int, int]:
    """(-min exponent, max exponent) of a power-of-two type; max is capped by ``max_val_po2``."""
    non_sign_bits = quantizer.bits - 1 if quantizer.is_signed else quantizer.bits
    lowest = -(2 ** (non_sign_bits - 1))
    highest = 2 ** (non_sign_bits - 1) - 1
    max_exp = highest
    if quantizer.max_val_po2 != -1:
        max_exp = 0 if quantizer.max_val_po2 <= 0 else min(math.ceil(np.log2(quantizer.max_val_po2)), highest)
    return -lowest, max(0, max_exp)


def _kwargs_without_defaults(**kwargs: Any) -> dict:
    """Arguments of QKeras master's quantizers that QKeras 0.9.0 lacks, dropped when left at None."""
    return {k: v for k, v in kwargs.items() if v is not None}


class IQuantizer:
    """Base data type: ``mode``, ``bits``, ``int_bits``, ``is_signed``, ``is_floating_point``,
    ``max_val_po2`` (-1: none), ``is_po2``, ``name`` and ``op_type``."""

    def __init__(self) -> None:
        self.mode = -1
        self.bits = -1
        self.int_bits = -1
        self.is_signed = 0
        self.is_floating_point = False
        self.max_val_po2 = -1
        self.is_po2 = 0
        self.name = None
        self.op_type = "quantizer"


class QuantizedBits(IQuantizer):
    """Signed or unsigned fixed point (``quantized_bits``)."""

    def __init__(self) -> None:
        super().__init__()
        self.mode = 0
        self.is_signed = 1
        self.name = "quantized_bits"

    def convert_qkeras_quantizer(self, quantizer: Any) -> None:
        self.mode = 0
        self.bits = quantizer.bits
        self.int_bits = get_np_value(quantizer.integer)
        self.is_signed = quantizer.keep_negative

    def convert_to_qkeras_quantizer(
        self,
        symmetric: Any = 1,
        alpha: Any = None,
        use_stochastic_rounding: bool = False,
        scale_axis: Any = None,
        qnoise_factor: float = 1.0,
        elements_per_scale: Any = None,
        min_po2_exponent: Any = None,
        max_po2_exponent: Any = None,
    ) -> Any:
        extra = _kwargs_without_defaults(
            elements_per_scale=elements_per_scale, min_po2_exponent=min_po2_exponent, max_po2_exponent=max_po2_exponent
        )
        return quantizers.quantized_bits(
            bits=self.bits,
            integer=self.int_bits,
            keep_negative=self.is_signed,
            symmetric=symmetric,
            alpha=alpha,
            use_stochastic_rounding=use_stochastic_rounding,
            scale_axis=scale_axis,
            qnoise_factor=qnoise_factor,
            **extra,
        )


class QuantizedTanh(QuantizedBits):
    """``quantized_tanh``: a signed fixed point type (``int_bits`` left at -1, as QKeras)."""

    def __init__(self) -> None:
        super().__init__()
        self.name = "quantized_tanh"

    def convert_qkeras_quantizer(self, quantizer: Any) -> None:
        self.mode = 0
        self.bits = quantizer.bits
        self.is_signed = 1

    def convert_to_qkeras_quantizer(self, symmetric: bool = False, use_stochastic_rounding: bool = False) -> Any:
        return quantizers.quantized_tanh(
            bits=self.bits, use_stochastic_rounding=use_stochastic_rounding, symmetric=symmetric
        )


class QuantizedUlaw(QuantizedBits):
    """``quantized_ulaw``: a signed fixed point type."""

    def __init__(self) -> None:
        super().__init__()
        self.name = "quantized_ulaw"

    def convert_qkeras_quantizer(self, quantizer: Any) -> None:
        self.mode = 0
        self.bits = quantizer.bits
        self.int_bits = get_np_value(quantizer.integer)
        self.is_signed = 1

    def convert_to_qkeras_quantizer(self, symmetric: Any = 0, u: float = 255.0) -> Any:
        return quantizers.quantized_ulaw(bits=self.bits, integer=self.int_bits, symmetric=symmetric, u=u)


class Binary(IQuantizer):
    """``binary``: mode 3 for (-1, +1), mode 4 for (0, 1) (``use_01``)."""

    def __init__(self, use_01: bool = False) -> None:
        super().__init__()
        self._set_use_01(use_01)
        self.bits = 1
        self.int_bits = 1
        self.name = "binary"

    def _set_use_01(self, use_01: Any) -> None:
        self.mode, self.is_signed = (4, 0) if use_01 else (3, 1)
        self.use_01 = use_01

    def convert_qkeras_quantizer(self, quantizer: Any) -> None:
        self._set_use_01(quantizer.use_01)

    def convert_to_qkeras_quantizer(self, alpha: Any = None, use_stochastic_rounding: bool = False) -> Any:
        return quantizers.binary(use_01=self.use_01, alpha=alpha, use_stochastic_rounding=use_stochastic_rounding)


class StochasticBinary(Binary):
    """``stochastic_binary``: the (-1, +1) binary type."""

    def __init__(self) -> None:
        super().__init__(use_01=False)
        self.name = "stochastic_binary"

    def convert_qkeras_quantizer(self, quantizer: Any) -> None:
        pass

    def convert_to_qkeras_quantizer(
        self, alpha: Any = None, temperature: float = 6.0, use_real_sigmoid: bool = True
    ) -> Any:
        return quantizers.stochastic_binary(alpha=alpha, temperature=temperature, use_real_sigmoid=use_real_sigmoid)


class Bernoulli(Binary):
    """``bernoulli``: the (0, 1) binary type."""

    def __init__(self) -> None:
        super().__init__(use_01=True)
        self.name = "bernoulli"

    def convert_qkeras_quantizer(self, quantizer: Any) -> None:
        pass

    def convert_to_qkeras_quantizer(
        self, alpha: Any = None, temperature: float = 6.0, use_real_sigmoid: bool = True
    ) -> Any:
        return quantizers.bernoulli(alpha=alpha, temperature=temperature, use_real_sigmoid=use_real_sigmoid)


class QuantizedRelu(IQuantizer):
    """``quantized_relu``: unsigned fixed point (signed with a negative slope); 1 bit, 1 integer bit is
    the (0, 1) binary type."""

    def __init__(self) -> None:
        super().__init__()
        self.is_signed = 0
        self.name = "quantized_relu"

    def convert_qkeras_quantizer(self, quantizer: Any) -> None:
        self.bits = quantizer.bits
        self.int_bits = get_np_value(quantizer.integer)
        self.mode = 4 if (self.bits == 1 and self.int_bits == 1) else 0
        if getattr(quantizer, "negative_slope", 0) != 0:
            self.is_signed = 1

    def convert_to_qkeras_quantizer(
        self,
        use_sigmoid: Any = 0,
        negative_slope: float = 0.0,
        use_stochastic_rounding: bool = False,
        relu_upper_bound: Any = None,
        is_quantized_clip: bool = True,
        qnoise_factor: float = 1.0,
    ) -> Any:
        return quantizers.quantized_relu(
            bits=self.bits,
            integer=self.int_bits,
            use_sigmoid=use_sigmoid,
            negative_slope=negative_slope,
            use_stochastic_rounding=use_stochastic_rounding,
            relu_upper_bound=relu_upper_bound,
            is_quantized_clip=is_quantized_clip,
            qnoise_factor=qnoise_factor,
        )


class Ternary(IQuantizer):
    """``ternary`` (-1, 0, +1): 2 bits."""

    def __init__(self) -> None:
        super().__init__()
        self.mode = 2
        self.bits = 2
        self.int_bits = 2
        self.is_signed = 1
        self.name = "ternary"

    def convert_qkeras_quantizer(self, quantizer: Any) -> None:
        pass

    def convert_to_qkeras_quantizer(
        self,
        alpha: Any = None,
        threshold: Any = None,
        use_stochastic_rounding: bool = False,
        number_of_unrolls: int = 5,
    ) -> Any:
        return quantizers.ternary(
            alpha=alpha,
            threshold=threshold,
            use_stochastic_rounding=use_stochastic_rounding,
            number_of_unrolls=number_of_unrolls,
        )


class StochasticTernary(Ternary):
    """``stochastic_ternary``: the ternary type."""

    def __init__(self) -> None:
        super().__init__()
        self.name = "stochastic_ternary"

    def convert_to_qkeras_quantizer(
        self,
        alpha: Any = None,
        threshold: Any = None,
        temperature: float = 8.0,
        use_real_sigmoid: bool = True,
        number_of_unrolls: int = 5,
    ) -> Any:
        return quantizers.stochastic_ternary(
            alpha=alpha,
            threshold=threshold,
            temperature=temperature,
            use_real_sigmoid=use_real_sigmoid,
            number_of_unrolls=number_of_unrolls,
        )


class FloatingPoint(IQuantizer):
    """A float of ``bits`` bits (16 or 32; None until an operator sets it)."""

    def __init__(self, bits: Any) -> None:
        super().__init__()
        self.mode = 5
        self.bits = bits
        self.int_bits = -1
        self.is_signed = 1
        self.is_floating_point = True
        self.name = "floating_point"

    def convert_qkeras_quantizer(self, bits: Any) -> None:
        pass

    def convert_to_qkeras_quantizer(self, bits: Any) -> None:
        pass


class PowerOfTwo(IQuantizer):
    """``quantized_po2`` (signed) / ``quantized_relu_po2`` (unsigned): ``bits`` exponent bits plus sign."""

    def __init__(self, is_signed: bool = True) -> None:
        super().__init__()
        self.mode = 1
        self.is_po2 = 1
        self.is_signed = is_signed
        self.inference_value_counts = -1
        self.name = "quantized_po2" if is_signed else "quantized_relu_po2"

    def convert_qkeras_quantizer(self, quantizer: Any) -> None:
        kind = type(quantizer).__name__
        assert "po2" in kind
        if kind == "quantized_po2":
            self.is_signed = 1
            self.name = "quantized_po2"
        elif kind == "quantized_relu_po2":
            IQuantizer.__init__(self)  # as QKeras: mode/is_po2 reset here
            self.is_signed = 0
            self.name = "quantized_relu_po2"
        self.max_val_po2 = quantizer.max_value if quantizer.max_value else -1
        self.bits = quantizer.bits
        self.int_bits = quantizer.bits

    def convert_to_qkeras_quantizer(
        self, negative_slope: Any = 0, use_stochastic_rounding: bool = False, quadratic_approximation: bool = False
    ) -> Any:
        max_value = self.max_val_po2 if self.max_val_po2 >= 0 else None
        if self.is_signed:
            return quantizers.quantized_po2(
                bits=self.bits,
                max_value=max_value,
                use_stochastic_rounding=use_stochastic_rounding,
                quadratic_approximation=quadratic_approximation,
            )
        return quantizers.quantized_relu_po2(
            bits=self.bits,
            max_value=max_value,
            negative_slope=negative_slope,
            use_stochastic_rounding=use_stochastic_rounding,
            quadratic_approximation=quadratic_approximation,
        )

    def get_min_max_exp(self) -> tuple[int, int]:
        return get_exp(self)

    def quantizer_bits_calculator(self, val: float) -> tuple[bool, int]:
        """(sign bit, exponent bits) needed to represent the power of two ``val``."""
        sign_bit = val < 0
        val = abs(val)
        if val == 0:  # QKeras represents 0 with the smallest magnitude
            return sign_bit, self.bits - sign_bit
        exponent = np.log2(val)
        if abs(np.round(exponent) - exponent) > 0:
            raise ValueError(f"ERROR: {val} is not a po2 value!")
        exponent = int(exponent)
        if exponent == 0:
            bits = 1
        elif exponent > 0:  # magnitude bits + exponent sign bit
            bits = math.floor(np.log2(exponent)) + 2
        else:
            bits = math.ceil(np.log2(abs(exponent))) + 1
        return sign_bit, bits

    def update_quantizer(self, val: float, reset: bool = False) -> None:
        """Bits needed for ``val`` (reset) or the smaller of those and the current bits."""
        sign_bit, non_sign_bits = self.quantizer_bits_calculator(val)
        self.bits = sign_bit + non_sign_bits if reset else min(self.bits, sign_bit + non_sign_bits)
        self.int_bits = self.bits
        self.max_val_po2 = min(val, self.max_val_po2)
        self.is_signed = sign_bit
        self.name = "quantized_po2" if sign_bit else "quantized_relu_po2"

    def update_inference_values(self, weights: np.ndarray) -> None:
        """Remember how many distinct values ``weights`` holds (used for shifter costs)."""
        self.inference_value_counts = len(set(np.asarray(weights).flatten()))


class ReluPowerOfTwo(PowerOfTwo):
    """``quantized_relu_po2``: unsigned power of two."""

    def __init__(self) -> None:
        super().__init__()
        self.is_signed = 0
        self.name = "quantized_relu_po2"

    def convert_qkeras_quantizer(self, quantizer: Any) -> None:
        self.bits = quantizer.bits
        self.int_bits = quantizer.bits
        self.max_val_po2 = quantizer.max_value if quantizer.max_value else -1

    def convert_to_qkeras_quantizer(
        self, negative_slope: Any = 0, use_stochastic_rounding: bool = False, quadratic_approximation: bool = False
    ) -> Any:
        return quantizers.quantized_relu_po2(
            bits=self.bits,
            max_value=self.max_val_po2 if self.max_val_po2 >= 0 else None,
            negative_slope=negative_slope,
            use_stochastic_rounding=use_stochastic_rounding,
            quadratic_approximation=quadratic_approximation,
        )
