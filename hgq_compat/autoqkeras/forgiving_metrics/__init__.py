"""QKeras ``qkeras.autoqkeras.forgiving_metrics``: the secondary goals of AutoQKeras.

``forgiving_factor`` maps a goal type ('bits', 'energy') to its class, as in QKeras.
"""

from .forgiving_bits import ForgivingFactorBits
from .forgiving_energy import ForgivingFactorPower
from .forgiving_factor import ForgivingFactor

forgiving_factor = {
    "bits": ForgivingFactorBits,
    "energy": ForgivingFactorPower,
}

__all__ = ["ForgivingFactor", "ForgivingFactorBits", "ForgivingFactorPower", "forgiving_factor"]
