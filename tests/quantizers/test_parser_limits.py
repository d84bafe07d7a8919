"""The quantizer-string parser bounds length and nesting and quotes at most ~80 characters of
its input in errors, with the position; a Hypothesis fuzz checks it never fails otherwise."""

from __future__ import annotations

import re
import time

import pytest

from hgq_compat.parsing import CONTEXT, MAX_DEPTH, MAX_LENGTH, Call, parse_quantizer_string
from hgq_compat.quantizers import get_quantizer


def _quoted_input(message: str) -> str:
    """The part of the message between 'string ' and the first ': '."""
    return message.split("cannot parse quantizer string ", 1)[1].split(": ", 1)[0]


def test_deep_nesting_is_refused_without_recursion_error():
    text = "f(" * 1000 + ")" * 1000  # under MAX_LENGTH: refused for its depth
    with pytest.raises(ValueError, match=rf"nested deeper than {MAX_DEPTH} levels at position {2 * MAX_DEPTH}$"):
        parse_quantizer_string(text)
    text = "quantized_bits(alpha=" + "[" * 200 + "]" * 200 + ")"
    with pytest.raises(ValueError, match=rf"nested deeper than {MAX_DEPTH} levels at position \d+") as info:
        parse_quantizer_string(text)
    assert len(_quoted_input(str(info.value))) <= CONTEXT + 10


def test_accepted_nesting_depth():
    text = "f(" * (MAX_DEPTH - 1) + "g" + ")" * (MAX_DEPTH - 1)
    call = parse_quantizer_string(text)
    for _ in range(MAX_DEPTH - 1):
        assert isinstance(call, Call) and call.name == "f" and len(call.args) == 1
        call = call.args[0]
    assert call == Call("g", (), {})


def test_long_input_is_refused_fast_and_not_echoed():
    text = "quantized_bits(4," + "1" * 1_000_000 + ")"
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=rf"1000018 characters, more than the {MAX_LENGTH} accepted") as info:
        get_quantizer(text)
    assert time.perf_counter() - t0 < 0.5
    assert len(str(info.value)) < 300


@pytest.mark.parametrize("text,pos,why", [
    ("quantized_bits(4,0,$)", 19, "unexpected character '\\$'"),
    ("quantized_bits(4 0)", 17, "expected ',' or '\\)'"),
    ("quantized_bits(4,0", 18, "expected ',' or '\\)'"),
    ("quantized_bits(4,", 17, "unexpected end, expected '\\)'"),
    ("quantized_bits(alpha=[1 2])", 24, "expected ',' or '\\]'"),
    ("quantized_bits(4," + "x=1," * 300 + "$" + "y=2," * 300 + ")", 1217, "unexpected character '\\$'"),
])
def test_error_names_position_with_short_context(text, pos, why):
    with pytest.raises(ValueError, match=rf"{why} at position {pos}$") as info:
        parse_quantizer_string(text)
    quoted = _quoted_input(str(info.value))
    assert len(quoted) <= CONTEXT + 8  # repr quotes and '...' marks
    if len(text) > CONTEXT:
        assert quoted.startswith("...") and text[pos] in quoted


def test_huge_number_is_refused_with_position():
    with pytest.raises(ValueError, match=r"number of 100 characters is too long at position 15"):
        parse_quantizer_string("quantized_bits(" + "9" * 100 + ")")
