"""QKeras' divide-and-conquer search for a layer-by-layer hardware implementation
(``qkeras.qtools.DnC.divide_and_conquer``): not ported.

Importing works (so scripts importing it load); calling `estimate_model_cost` raises
NotImplementedError. For cost estimates use `hgq_compat.qtools.QTools` (data types, energy,
`get_roofline_numbers`) or `hgq_compat.model_ebops`.
"""

from __future__ import annotations

import enum
from typing import Any

_WHY = ("hgq_compat.qtools.DnC.divide_and_conquer.estimate_model_cost is not ported (QKeras' experimental "
        "divide-and-conquer hardware search); use hgq_compat.qtools.QTools(...).get_roofline_numbers() for "
        "ACE/memory numbers, QTools(...).pe() for energy, or hgq_compat.model_ebops for EBOPs")


class CostMode(enum.Enum):
    """QKeras' cost modes."""
    ACE = 1
    PE_AREA = 2
    PE_BW_AREA = 3


class WrongInputShapeError(ValueError):
    pass


def estimate_model_cost(model: Any, *args: Any, **kwargs: Any) -> Any:
    """Not ported: raises NotImplementedError naming the alternatives."""
    raise NotImplementedError(_WHY)
