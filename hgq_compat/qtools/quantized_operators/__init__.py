"""QTools' data types and the hardware operators built from them (QKeras ``qtools.quantized_operators``)."""

from .accumulator_factory import AccumulatorFactory
from .multiplier_factory import MultiplierFactory
from .multiplier_impl import IMultiplier, FloatingPointMultiplier, FixedPointMultiplier, Mux, AndGate, Adder, XorGate, Shifter
from .accumulator_impl import IAccumulator, FloatingPointAccumulator, FixedPointAccumulator
from .quantizer_impl import IQuantizer, QuantizedBits, Binary, QuantizedRelu, Ternary, FloatingPoint, PowerOfTwo, ReluPowerOfTwo
from .quantizer_factory import QuantizerFactory
from .qbn_factory import QBNFactory
from .fused_bn_factory import FusedBNFactory
from .merge_factory import MergeFactory
from .divider_factory import IDivider
from .subtractor_factory import ISubtractor
from . import adder_factory, adder_impl, divider_factory, quantizer_factory, quantizer_impl  # noqa: F401

__all__ = [
    "AccumulatorFactory", "MultiplierFactory", "IMultiplier", "FloatingPointMultiplier", "FixedPointMultiplier", "Mux",
    "AndGate", "Adder", "XorGate", "Shifter", "IAccumulator", "FloatingPointAccumulator", "FixedPointAccumulator",
    "IQuantizer", "QuantizedBits", "Binary", "QuantizedRelu", "Ternary", "FloatingPoint", "PowerOfTwo",
    "ReluPowerOfTwo", "QuantizerFactory", "QBNFactory", "FusedBNFactory", "MergeFactory", "IDivider", "ISubtractor",
]
