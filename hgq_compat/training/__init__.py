"""Training tools: EBOPs logging, beta schedules, Pareto-front checkpoints, range tracing."""

from .callbacks import BetaScheduler, FreeEBOPs
from .determinism import enable_determinism
from .finetune import FineTuneResult, FineTuneSettings, fine_tune, to_hgq
from .model import (
    jitter_bitwidths,
    layer_ebops,
    model_ebops,
    quantized_layers,
    reinitialize_bitwidths,
    reset_minmax,
    set_beta,
    trace_minmax,
)
from .pareto import ParetoFront, load_pareto_front, pareto_front, select_pareto_point
from .schedules import BetaSchedule, LinearSchedule, LogSchedule, PieceWiseSchedule

__all__ = [
    "BetaSchedule",
    "BetaScheduler",
    "FineTuneResult",
    "FineTuneSettings",
    "FreeEBOPs",
    "fine_tune",
    "to_hgq",
    "reinitialize_bitwidths",
    "enable_determinism",
    "LinearSchedule",
    "LogSchedule",
    "ParetoFront",
    "PieceWiseSchedule",
    "jitter_bitwidths",
    "layer_ebops",
    "load_pareto_front",
    "model_ebops",
    "pareto_front",
    "quantized_layers",
    "reset_minmax",
    "select_pareto_point",
    "set_beta",
    "trace_minmax",
]
