"""A grammar for QKeras quantizer strings such as ``quantized_bits(4,0,1,alpha='auto_po2')``.

The text is tokenized and parsed; nothing is evaluated. Grammar::

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


@dataclasses.dataclass(frozen=True)
class Call:
    """A parsed ``name(args, key=value)`` expression."""

    name: str
    args: tuple
    kwargs: dict


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        stripped = text.rstrip()
        while pos < len(stripped):
            m = _TOKEN.match(stripped, pos)
            if not m or m.end() == pos:
                self.fail(f"unexpected character {stripped[pos:].lstrip()[:1]!r} at position {pos}")
            kind = m.lastgroup
            self.tokens.append((kind, m.group(kind), m.start(kind)))
            pos = m.end()
        self.i = 0

    def fail(self, why: str) -> None:
        raise ValueError(f"cannot parse quantizer string {self.text!r}: {why}")

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None, kind: str | None = None) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            self.fail(f"unexpected end, expected {value or kind}")
        if (value is not None and tok[1] != value) or (kind is not None and tok[0] != kind):
            self.fail(f"expected {value or kind} at position {tok[2]}, found {tok[1]!r}")
        self.i += 1
        return tok

    def call(self) -> Call:
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
                    tok = self.peek()
                    self.fail(f"expected ',' or ')' at position {tok[2] if tok else len(self.text)}")
            self.take(")")
        return Call(name, tuple(args), kwargs)

    def value(self) -> Any:
        tok = self.peek()
        if tok is None:
            self.fail("unexpected end, expected a value")
        kind, text, _ = tok
        if kind == "number":
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
            self.take(text)
            items = []
            while self.peek() is not None and self.peek()[1] != close:
                items.append(self.value())
                if self.peek() is not None and self.peek()[1] == ",":
                    self.take(",")
            self.take(close)
            return items
        self.fail(f"unexpected {text!r} at position {tok[2]}")


def parse_quantizer_string(text: str) -> Call:
    """Parse ``text`` into a `Call`; raises ValueError naming the text on bad syntax."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"cannot parse quantizer string {text!r}: empty")
    p = _Parser(text.strip())
    result = p.call()
    if p.peek() is not None:
        p.fail(f"unexpected {p.peek()[1]!r} at position {p.peek()[2]} after the closing parenthesis")
    return result
