"""QKeras ``qkeras.registry`` (master): a name -> class/function registry."""

from __future__ import annotations

from typing import Any


class Registry:
    """Records items by name (``item.__name__`` unless ``name`` is given)."""

    def __init__(self) -> None:
        self._container: dict[str, Any] = {}

    def register(self, item: Any, name: str | None = None) -> None:
        self._container[name or item.__name__] = item

    def lookup(self, name: str) -> Any:
        """The registered item; KeyError if ``name`` was never registered."""
        return self._container[name]


__all__ = ["Registry"]
