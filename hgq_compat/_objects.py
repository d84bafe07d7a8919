"""The custom objects every hgq_compat loader passes to Keras: each Q* layer, quantizer, Clip and
QInitializer by name (what QKeras' ``utils._add_supported_quantized_objects`` adds)."""

from __future__ import annotations

from typing import Any

from .quantizers import QUANTIZERS


def _supported_objects() -> dict[str, Any]:
    import hgq_compat

    objects = {
        name: getattr(hgq_compat, name)
        for name in dir(hgq_compat)
        if name.startswith("Q") and isinstance(getattr(hgq_compat, name), type)
    }
    objects.update(QUANTIZERS)
    from .constraints import Clip, QInitializer

    objects.update({"Clip": Clip, "QInitializer": QInitializer})
    return objects


def _add_supported_quantized_objects(custom_objects: dict) -> None:
    """Add every hgq_compat layer, quantizer, Clip and QInitializer to ``custom_objects``."""
    custom_objects.update(_supported_objects())


def _custom_objects(custom_objects: dict | None) -> dict:
    objects = dict(custom_objects or {})
    _add_supported_quantized_objects(objects)
    return objects
