"""Constructor argument lists written once per layer family.

A layer family's QKeras argument list (names, order, defaults) is a tuple of `inspect.Parameter`
(`parameters`, `nones`, or another layer's `parameters_of`); `constructor` turns it into an
``__init__(self, *args, **kwargs)`` that binds its arguments as the written-out signature would
(positionally or by keyword, defaults applied) and hands them to the family's shared body. The
generated ``__init__`` carries the list as its ``__signature__``, so ``inspect.signature(layer_class)``
shows the full QKeras parameter list.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

_KIND = inspect.Parameter.POSITIONAL_OR_KEYWORD

Parameters = tuple[inspect.Parameter, ...]


def parameters(*required: str, **defaults: Any) -> Parameters:
    """Positional-or-keyword parameters: ``required`` (no default), then ``defaults`` in their order."""
    return tuple(inspect.Parameter(name, _KIND) for name in required) + tuple(
        inspect.Parameter(name, _KIND, default=value) for name, value in defaults.items()
    )


def nones(*names: str) -> Parameters:
    """Parameters ``names`` defaulting to None."""
    return parameters(**dict.fromkeys(names))


def parameters_of(cls: type, drop: tuple[str, ...] = ()) -> Parameters:
    """The named constructor parameters of ``cls`` (no ``*args`` / ``**kwargs``), less ``drop``."""
    return tuple(p for p in inspect.signature(cls).parameters.values() if p.kind is _KIND and p.name not in drop)


def constructor(params: Parameters, body: str) -> Callable[..., None]:
    """An ``__init__(self, *args, **kwargs)`` with signature ``(self, *params, **kwargs)`` that calls
    ``self.<body>(arguments, kwargs)``: ``arguments`` every parameter of ``params`` by name (given or
    default), ``kwargs`` the other keyword arguments."""
    signature = inspect.Signature(
        [inspect.Parameter("self", _KIND), *params, inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD)]
    )

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError as err:  # as Python's own message, with the layer's name
            raise TypeError(f"{type(self).__name__}.__init__(): {err}") from None
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        del arguments["self"]
        getattr(self, body)(arguments, arguments.pop("kwargs"))

    __init__.__signature__ = signature  # type: ignore[attr-defined]
    return __init__
