"""QKeras ``qkeras.safe_eval``: build a quantizer (or Keras activation) from its text without `eval`.

Strings are parsed with `hgq_compat.parsing` (a grammar; nothing is evaluated). Differences from
QKeras 0.9.0, whose regex parser mangles some inputs: an unquoted name such as ``alpha=auto_po2``
stays ``'auto_po2'`` (QKeras strips its first and last characters). As QKeras master, ``None`` is
``None`` and ``[0.5 0.25]`` a list of numbers. Nested calls such as
``QInitializer(quantized_bits(4))`` are built recursively from ``op_dict``.
"""

from __future__ import annotations

from typing import Any

import keras

from .parsing import Call, parse_quantizer_string


def Num(s: str) -> int | float | str:  # noqa: N802  (QKeras name)
    """``int(s)``, else ``float(s)``, else ``s`` without its quotes."""
    try:
        return int(s)
    except ValueError:
        try:
            return float(s)
        except ValueError:
            if len(s) < 2 or s[0] != s[-1] or s[0] not in "'\"":
                raise ValueError(f"Num: {s!r} is neither a number nor a quoted string") from None
            return s[1:-1]


def Str(s: str) -> str:  # noqa: N802
    """``s`` without its first and last character (the quotes)."""
    return s[1:-1]


def IsNum(s: str) -> bool:  # noqa: N802
    for conv in (int, float):
        try:
            conv(s)
            return True
        except ValueError:
            pass
    return False


def IsBool(s: str) -> bool:  # noqa: N802
    return s in ("True", "False")


def Bool(s: str) -> bool:  # noqa: N802
    return "True" in s


def IsNone(s: str) -> bool:  # noqa: N802
    return s == "None"


def ListofNums(s: str) -> list:  # noqa: N802
    """``'[0.5 0.25 1]'`` (numpy's print form) as ``[0.5, 0.25, 1]``."""
    return [Num(e) for e in s.replace("[", "").replace("]", "").split(" ")]


def IsListofNums(s: str) -> bool:  # noqa: N802
    items = s.replace("[", "").replace("]", "").split(" ")
    return len(items) > 1 and all(IsNum(e) for e in items)


def GetArg(s: str) -> Any:  # noqa: N802
    """One argument's text as a bool, a number, None, a list of numbers or a (quoted) string (QKeras master)."""
    if IsBool(s):
        return Bool(s)
    if IsNum(s):
        return Num(s)
    if IsNone(s):
        return None
    if IsListofNums(s):
        return ListofNums(s)
    return Str(s)


def _plain(value: Any) -> Any:
    """Parsed values as Python values; a bare name (a call without parentheses) is its name."""
    if isinstance(value, Call) and not value.args and not value.kwargs:
        return value.name
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def GetParams(s: str) -> tuple[list, dict]:  # noqa: N802
    """``(args, kwargs)`` of an argument list such as ``"(4, 0, 1, alpha='auto_po2')"``.

    Raises SyntaxError for a positional argument after a keyword argument (as QKeras) and
    ValueError for other malformed text."""
    text = s.strip()
    if not (text.startswith("(") and text.endswith(")")):
        raise ValueError(f"GetParams: {s!r} is not a parenthesised argument list")
    try:
        call = parse_quantizer_string("f" + text)
    except ValueError as exc:
        if "positional argument after keyword argument" in str(exc):
            raise SyntaxError(f"GetParams: positional argument after keyword argument in {s!r}") from exc
        raise
    return [_plain(a) for a in call.args], {k: _plain(v) for k, v in call.kwargs.items()}


def _build(call: Call, op_dict: dict, params: tuple = (), kwparams: dict | None = None, has_parens: bool = True) -> Any:
    args = [_resolve(a, op_dict) for a in call.args] + list(params)
    kwargs = {k: _resolve(v, op_dict) for k, v in call.kwargs.items()}
    kwargs.update(kwparams or {})
    fn = op_dict.get(call.name)
    if fn is None:
        fn = keras.activations.get(call.name)
    if has_parens or args or kwargs:
        return fn(*args, **kwargs)
    return fn() if isinstance(fn, type) else fn


def _resolve(value: Any, op_dict: dict) -> Any:
    if isinstance(value, Call):
        if not value.args and not value.kwargs and value.name not in op_dict:
            return value.name
        return _build(value, op_dict)
    if isinstance(value, list):
        return [_resolve(v, op_dict) for v in value]
    return value


def safe_eval(eval_str: str, op_dict: dict, *params: Any, **kwparams: Any) -> Any:
    """``op_dict[name](*args, *params, **kwargs, **kwparams)`` for ``eval_str = "name(args, kwargs)"``.

    A name missing from ``op_dict`` is looked up with ``keras.activations.get``. Without parentheses
    and extra parameters, a class is instantiated with no arguments and a function is returned."""
    call = parse_quantizer_string(eval_str)
    return _build(call, op_dict, params, kwparams, has_parens="(" in eval_str)


__all__ = [
    "Bool",
    "GetArg",
    "GetParams",
    "IsBool",
    "IsListofNums",
    "IsNone",
    "IsNum",
    "ListofNums",
    "Num",
    "Str",
    "safe_eval",
]
