"""QKeras quantizer objects -> QTools data types (QKeras ``quantizer_factory``)."""

from __future__ import annotations

import copy
from typing import Any

from ... import quantizers
from ..settings import cfg
from . import quantizer_impl as qi

_DEFAULT_MODES = ("int8", "int16", "int32", "fp16", "fp32")


class QuantizerFactory:
    """Converts QKeras quantizers (and QTools data types) to QTools data types."""

    def __init__(self) -> None:
        # QKeras' table, quirks included: the data types StochasticBinary, Bernoulli, QuantizedTanh
        # and QuantizedUlaw are re-made as StochasticTernary (QKeras maps them so).
        self.quantizer_lookup = {
            quantizers.quantized_bits: qi.QuantizedBits,
            quantizers.binary: qi.Binary,
            quantizers.quantized_relu: qi.QuantizedRelu,
            quantizers.ternary: qi.Ternary,
            quantizers.quantized_relu_po2: qi.ReluPowerOfTwo,
            quantizers.quantized_po2: qi.PowerOfTwo,
            quantizers.stochastic_ternary: qi.StochasticTernary,
            quantizers.stochastic_binary: qi.StochasticBinary,
            quantizers.bernoulli: qi.Bernoulli,
            quantizers.quantized_tanh: qi.QuantizedTanh,
            quantizers.quantized_ulaw: qi.QuantizedUlaw,
            **{
                cls: cls
                for cls in (
                    qi.QuantizedBits,
                    qi.Binary,
                    qi.QuantizedRelu,
                    qi.Ternary,
                    qi.ReluPowerOfTwo,
                    qi.PowerOfTwo,
                    qi.FloatingPoint,
                    qi.StochasticTernary,
                )
            },
            **{
                cls: qi.StochasticTernary
                for cls in (qi.StochasticBinary, qi.Bernoulli, qi.QuantizedTanh, qi.QuantizedUlaw)
            },
        }
        self._default_interm_quantizer = cfg.default_interm_quantizer

    def _make_quantizer_util(self, quantizer: Any) -> qi.IQuantizer | None:
        if isinstance(quantizer, str) and quantizer in _DEFAULT_MODES:
            return self.make_default_quantizer(mode=quantizer)
        if isinstance(quantizer, tuple(self.quantizer_lookup)):
            target = self.quantizer_lookup[type(quantizer)]  # exact type, as QKeras (a subclass is a KeyError)
            if target is type(quantizer):
                return self.clone_quantizer(quantizer)
            q = target()
            q.convert_qkeras_quantizer(quantizer)
            return q
        return None

    def make_quantizer(self, quantizer: Any) -> qi.IQuantizer:
        """The data type of ``quantizer``; the default intermediate type when None or unknown."""
        q = None if quantizer is None else self._make_quantizer_util(quantizer)
        return self.make_default_quantizer(mode=self._default_interm_quantizer) if q is None else q

    def is_quantizer_supported(self, quantizer: Any) -> bool:
        return quantizer is None or isinstance(quantizer, tuple(self.quantizer_lookup))

    def make_default_quantizer(self, mode: str) -> qi.IQuantizer:
        """'fp32', 'fp16', 'int8' (8,0), 'int16' (16,7), 'int32' (32,10), or a quantizer string such as
        'quantized_bits(8, 0, 1)' (parsed, never evaluated; a 'quantizers.' prefix is accepted)."""
        if mode == "fp32":
            return qi.FloatingPoint(bits=32)
        if mode == "fp16":
            return qi.FloatingPoint(bits=16)
        ints = {"int8": (8, 0), "int16": (16, 7), "int32": (32, 10)}
        if mode in ints:
            q = qi.QuantizedBits()
            q.convert_qkeras_quantizer(quantizers.quantized_bits(*ints[mode], 1))
            return q
        text = mode[len("quantizers.") :] if isinstance(mode, str) and mode.startswith("quantizers.") else mode
        try:
            qkeras_object = quantizers.get_quantizer(text) if isinstance(text, str) else None
        except Exception as e:
            raise ValueError(f"unaccepted quantizer {mode}!") from e
        q = None if qkeras_object is None else self._make_quantizer_util(qkeras_object)
        if q is None:
            raise ValueError(f"unaccepted quantizer {mode}!")
        return q

    def clone_quantizer(self, quantizer: qi.IQuantizer) -> qi.IQuantizer:
        return copy.deepcopy(quantizer)
