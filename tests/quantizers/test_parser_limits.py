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


@pytest.mark.parametrize(
    "text,pos,why",
    [
        ("quantized_bits(4,0,$)", 19, "unexpected character '\\$'"),
        ("quantized_bits(4 0)", 17, "expected ',' or '\\)'"),
        ("quantized_bits(4,0", 18, "expected ',' or '\\)'"),
        ("quantized_bits(4,", 17, "unexpected end, expected '\\)'"),
        ("quantized_bits(alpha=[1 2)", 25, "unexpected '\\)'"),  # numpy's '[1 2]' is a list (QKeras master); ')' is not
        ("quantized_bits(4," + "x=1," * 300 + "$" + "y=2," * 300 + ")", 1217, "unexpected character '\\$'"),
    ],
)
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


# ---------------------------------------------------------------------------- property-based fuzz
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

FUZZ = settings(
    max_examples=400, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
NAMES = st.sampled_from(
    [
        "quantized_bits",
        "quantized_relu",
        "quantized_po2",
        "binary",
        "ternary",
        "quantized_tanh",
        "foo",
        "alpha",
        "auto_po2",
        "x_1",
    ]
)
GRAMMAR_TEXT = st.text(alphabet="quantized_bitsrelupo2()[],=.'\"-+eE0123456789 TrueFalsNn$\\{}", max_size=120)


def _render(value) -> str:
    if isinstance(value, Call):
        parts = [_render(a) for a in value.args] + [f"{k}={_render(v)}" for k, v in value.kwargs.items()]
        return f"{value.name}({','.join(parts)})" if parts or value.args == () and value.kwargs else value.name
    if isinstance(value, list):
        return "[" + ",".join(_render(v) for v in value) + "]"
    if isinstance(value, str):
        return repr(value)
    return repr(value)


SCALARS = (
    st.integers(-(10**6), 10**6)
    | st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: float(repr(v)))
    | st.booleans()
    | st.none()
    | st.text(alphabet="abc_xyz 0123", max_size=8)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.builds(
            lambda n, a, k: Call(n, tuple(a), k),
            NAMES,
            st.lists(inner, max_size=3),
            st.dictionaries(st.sampled_from(["alpha", "bits", "k"]), inner, max_size=2),
        )
    ),
    max_leaves=12,
)
CALLS = st.builds(
    lambda n, a, k: Call(n, tuple(a), k),
    NAMES,
    st.lists(VALUES, max_size=4),
    st.dictionaries(st.sampled_from(["alpha", "bits", "integer"]), VALUES, max_size=3),
)


def _depth(value) -> int:
    if isinstance(value, Call):
        return 1 + max([_depth(v) for v in (*value.args, *value.kwargs.values())], default=0)
    if isinstance(value, list):
        return 1 + max([_depth(v) for v in value], default=0)
    return 0


@FUZZ
@given(CALLS)
def test_fuzz_rendered_calls_parse_back(call):
    text = _render(call)
    if _depth(call) > MAX_DEPTH:
        with pytest.raises(ValueError, match="nested deeper"):
            parse_quantizer_string(text)
        return
    parsed = parse_quantizer_string(text)
    assert _render(parsed) == text


@FUZZ
@given(GRAMMAR_TEXT | st.text(max_size=200))
def test_fuzz_any_text_parses_or_fails_cleanly(text):
    try:
        parse_quantizer_string(text)
    except ValueError as exc:
        message = str(exc)
        assert message.startswith("cannot parse quantizer string")
        assert len(message) < 400
        found = re.search(r"at position (\d+)$", message)
        if found:
            assert 0 <= int(found.group(1)) <= len(text)


@FUZZ
@given(GRAMMAR_TEXT | CALLS.map(_render))
def test_fuzz_get_quantizer_fails_only_with_clear_errors(text):
    try:
        get_quantizer(text)
    except (ValueError, NotImplementedError) as exc:
        assert len(str(exc)) < 1200
