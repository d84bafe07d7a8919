"""QTools' data types and the hardware operators built from them (QKeras ``qtools.quantized_operators``)."""

from . import adder_factory, adder_impl, divider_factory, quantizer_factory, quantizer_impl  # noqa: F401
from .accumulator_factory import AccumulatorFactory
from .accumulator_impl import FixedPointAccumulator, FloatingPointAccumulator, IAccumulator
from .divider_factory import IDivider
from .fused_bn_factory import FusedBNFactory
from .merge_factory import MergeFactory
from .multiplier_factory import MultiplierFactory
from .multiplier_impl import (
    Adder,
    AndGate,
    FixedPointMultiplier,
    FloatingPointMultiplier,
    IMultiplier,
    Mux,
    Shifter,
    XorGate,
)
from .qbn_factory import QBNFactory
from .quantizer_factory import QuantizerFactory
from .quantizer_impl import (
    Binary,
    FloatingPoint,
    IQuantizer,
    PowerOfTwo,
    QuantizedBits,
    QuantizedRelu,
    ReluPowerOfTwo,
    Ternary,
)
from .subtractor_factory import ISubtractor

__all__ = [
    "AccumulatorFactory",
    "Adder",
    "AndGate",
    "Binary",
    "FixedPointAccumulator",
    "FixedPointMultiplier",
    "FloatingPoint",
    "FloatingPointAccumulator",
    "FloatingPointMultiplier",
    "FusedBNFactory",
    "IAccumulator",
    "IDivider",
    "IMultiplier",
    "IQuantizer",
    "ISubtractor",
    "MergeFactory",
    "MultiplierFactory",
    "Mux",
    "PowerOfTwo",
    "QBNFactory",
    "QuantizedBits",
    "QuantizedRelu",
    "QuantizerFactory",
    "ReluPowerOfTwo",
    "Shifter",
    "Ternary",
    "XorGate",
]
