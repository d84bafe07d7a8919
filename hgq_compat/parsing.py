"""A grammar for QKeras quantizer strings such as ``quantized_bits(4,0,1,alpha='auto_po2')``.

The text is tokenized and parsed; nothing is evaluated. Texts longer than `MAX_LENGTH`
characters or nested deeper than `MAX_DEPTH` calls/lists are refused, and error messages
quote at most `CONTEXT` characters around the failing position. Grammar::

    call   := NAME [ '(' [ arg { ',' arg } [','] ] ')' ]
    arg    := NAME '=' value | value
    value  := NUMBER | STRING | 'True' | 'False' | 'None' | list | call
    list   := '[' [ value { ',' value } ] ']' | '(' ... ')'
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
      | (?P<name>[A-Za-z_][A-Za-z0-9_.]*)
      | (?P<string>'[^'\\]*'|"[^"\\]*")
      | (?P<punct>[(),=\[\]])
    )""",
    re.VERBOSE,
)


MAX_LENGTH = 4096
"""Longest quantizer string accepted (characters); real ones are under 100."""

MAX_DEPTH = 16
"""Deepest nesting of calls and lists accepted."""

CONTEXT = 80
"""Most characters of the input quoted in an error message."""


def snippet(text: str, pos: int = 0, width: int = CONTEXT) -> str:
    """``repr`` of at most ``width`` characters of ``text`` around ``pos`` ('...' marks cuts)."""
    if len(text) <= width:
        return repr(text)
    start = max(0, min(pos - width // 2, len(text) - width))
    part = text[start : start + width]
    return ("..." if start > 0 else "") + repr(part) + ("..." if start + width < len(text) else "")


@dataclasses.dataclass(frozen=True)
class Call:
    """A parsed ``name(args, key=value)`` expression."""

    name: str
    args: tuple
    kwargs: dict


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.depth = 0
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        stripped = text.rstrip()
        while pos < len(stripped):
            m = _TOKEN.match(stripped, pos)
            if not m or m.end() == pos:
                bad = pos + len(stripped[pos:]) - len(stripped[pos:].lstrip())
                self.fail(f"unexpected character {stripped[bad : bad + 1]!r}", bad)
            kind = m.lastgroup
            self.tokens.append((kind, m.group(kind), m.start(kind)))
            pos = m.end()
        self.i = 0

    def fail(self, why: str, pos: int | None = None) -> None:
        if pos is None:
            tok = self.peek()
            pos = tok[2] if tok is not None else len(self.text)
        raise ValueError(f"cannot parse quantizer string {snippet(self.text, pos)}: {why} at position {pos}")

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail(f"nested deeper than {MAX_DEPTH} levels")

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None, kind: str | None = None) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            self.fail(f"unexpected end, expected {repr(value) if value else kind}")
        if (value is not None and tok[1] != value) or (kind is not None and tok[0] != kind):
            self.fail(f"expected {repr(value) if value else kind}, found {tok[1][:20]!r}")
        self.i += 1
        return tok

    def call(self) -> Call:
        self.enter()
        name = self.take(kind="name")[1]
        args: list = []
        kwargs: dict = {}
        tok = self.peek()
        if tok is not None and tok[1] == "(":
            self.take("(")
            while self.peek() is not None and self.peek()[1] != ")":
                nxt = self.tokens[self.i + 1] if self.i + 1 < len(self.tokens) else None
                if self.peek()[0] == "name" and nxt is not None and nxt[1] == "=":
                    key = self.take(kind="name")[1]
                    self.take("=")
                    if key in kwargs:
                        self.fail(f"keyword {key!r} given twice")
                    kwargs[key] = self.value()
                else:
                    if kwargs:
                        self.fail("positional argument after keyword argument")
                    args.append(self.value())
                if self.peek() is not None and self.peek()[1] == ",":
                    self.take(",")
                elif self.peek() is None or self.peek()[1] != ")":
                    self.fail("expected ',' or ')'")
            self.take(")")
        self.depth -= 1
        return Call(name, tuple(args), kwargs)

    def value(self) -> Any:
        tok = self.peek()
        if tok is None:
            self.fail("unexpected end, expected a value")
        kind, text, _ = tok
        if kind == "number":
            if len(text) > 40:
                self.fail(f"number of {len(text)} characters is too long")
            self.i += 1
            return float(text) if any(c in text for c in ".eE") else int(text)
        if kind == "string":
            self.i += 1
            return text[1:-1]
        if kind == "name":
            if text in ("True", "False", "None", "true", "false"):
                self.i += 1
                return {"True": True, "true": True, "False": False, "false": False, "None": None}[text]
            return self.call()
        if text in ("[", "("):
            close = "]" if text == "[" else ")"
            self.enter()
            self.take(text)
            items = []
            while self.peek() is not None and self.peek()[1] != close:
                items.append(self.value())
                if self.peek() is not None and self.peek()[1] == ",":
                    self.take(",")
                elif self.peek() is not None and self.peek()[1] != close and close != "]":
                    self.fail(f"expected ',' or {close!r}")  # lists may also be numpy's '[0.5 0.25 1]'
            self.take(close)
            self.depth -= 1
            return items
        self.fail(f"unexpected {text!r}")


def parse_quantizer_string(text: str) -> Call:
    """Parse ``text`` into a `Call`; raises ValueError quoting (part of) the text and the position
    on bad syntax, on more than `MAX_LENGTH` characters and on nesting deeper than `MAX_DEPTH`."""
    if not isinstance(text, str):
        raise ValueError(f"cannot parse quantizer string: expected a str, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ValueError(
            f"cannot parse quantizer string {snippet(text)}: {len(text)} characters, more than the "
            f"{MAX_LENGTH} accepted"
        )
    if not text.strip():
        raise ValueError(f"cannot parse quantizer string {text!r}: empty")
    p = _Parser(text.strip())
    result = p.call()
    if p.peek() is not None:
        p.fail(f"unexpected {p.peek()[1][:20]!r} after the closing parenthesis")
    return result
