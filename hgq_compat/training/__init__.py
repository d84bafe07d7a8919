"""Training tools: EBOPs logging, beta, range tracing."""

from .callbacks import FreeEBOPs
from .model import layer_ebops, model_ebops, quantized_layers, reset_minmax, set_beta, trace_minmax

__all__ = ["FreeEBOPs", "layer_ebops", "model_ebops", "quantized_layers", "reset_minmax", "set_beta", "trace_minmax"]
