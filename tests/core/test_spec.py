"""QuantSpec validation: bad input names the argument, the value and what is accepted."""

import pytest

from hgq_compat.core.spec import QuantSpec, bitwidth_shape


def test_kif_and_bits_forms_agree():
    a = QuantSpec(keep_negative=1, integer=2, fractional=3)
    b = QuantSpec.from_bits(6, 2, keep_negative=True)
    assert a == b and a.bits == 6


def test_config_round_trip():
    s = QuantSpec(
        keep_negative=0,
        integer=1,
        fractional=4,
        round_mode="TRN",
        overflow="WRAP",
        granularity=(0, 2),
        range_tracking=True,
        trainable_f=True,
    )
    assert QuantSpec.from_config(s.get_config()) == s


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"round_mode": "ROUND_UP"}, ["round_mode='ROUND_UP'", "RND_CONV", "TRN"]),
        ({"overflow": "CLAMP"}, ["overflow='CLAMP'", "WRAP", "SAT_SYM"]),
        ({"granularity": "per-row"}, ["granularity='per-row'", "per-channel"]),
        ({"keep_negative": 2}, ["keep_negative=2", "accepted"]),
        ({"integer": -5, "fractional": 1}, ["bits=-3", ">= 0"]),
        ({"integer": "two"}, ["integer='two'", "number of bits"]),
    ],
)
def test_bad_values_raise_value_error(kwargs, words):
    with pytest.raises(ValueError) as err:
        QuantSpec(**kwargs)
    for w in words:
        assert w in str(err.value)


def test_negative_bits_in_bits_form():
    with pytest.raises(ValueError, match=r"bits=-2 .*>= 0"):
        QuantSpec.from_bits(-2, 0)


def test_range_tracking_needs_wrap():
    with pytest.raises(ValueError, match="range_tracking=True needs overflow='WRAP'"):
        QuantSpec(range_tracking=True, overflow="SAT")


@pytest.mark.parametrize(
    "gran, shape, expected",
    [
        ("per-tensor", (3, 4), (1, 1)),
        ("per-channel", (3, 4), (1, 4)),
        ("per-element", (3, 4), (3, 4)),
        ((0,), (2, 3, 4), (1, 3, 4)),
        ((-1, 0), (2, 3, 4), (1, 3, 1)),
    ],
)
def test_bitwidth_shapes(gran, shape, expected):
    assert bitwidth_shape(gran, shape) == expected


def test_axes_that_do_not_fit():
    with pytest.raises(
        ValueError, match=r"granularity=\(3,\) does not fit a tensor of rank 2.*accepted axes: \[-2, -1, 0, 1\]"
    ):
        bitwidth_shape((3,), (4, 5))
