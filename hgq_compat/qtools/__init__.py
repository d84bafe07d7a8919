"""QTools on Keras 3 (QKeras ``qkeras.qtools``): the data type map of a quantized model (inputs,
weights, multipliers, accumulators, outputs) and its energy estimate."""

from .run_qtools import QTools
from .settings import cfg as qtools_cfg

__all__ = ["QTools", "qtools_cfg"]
