"""QTools' energy model (QKeras ``qtools.qenergy``)."""

from .qenergy import energy_estimate

__all__ = ["energy_estimate"]
