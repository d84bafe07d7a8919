"""get_quantizer on every string in quantizer_strings.json (what real QKeras 0.9.0 returns)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from keras import ops

from hgq_compat.quantizers import QUANTIZERS, get_quantizer, hard_sigmoid
from tests import golden
from tests.conftest import to_np

with open(golden.GOLDEN_DIR / "quantizer_strings.json") as fh:
    STRINGS = json.load(fh)["strings"]

# Strings where hgq_compat deliberately differs from QKeras' safe_eval (which uses pyparsing and
# then eval-like construction):
DEVIATIONS = {
    # QKeras strips the first and last character of an unquoted string: alpha 'uto_po' / 'on',
    # which then fail when called. Here the bare name means what it says.
    "quantized_bits(4,0,alpha=auto_po2)": {"alpha": "auto_po2", "symmetric": True},
    "quantized_bits(4,0,1,alpha=None)": {"alpha": None, "symmetric": 1},
}
# Malformed text QKeras happens to accept (calls the quantizer on 2 / keeps the last duplicate
# keyword); here a ValueError names the problem.
REJECTED = {"quantized_bits(4,0,1)(2)", "quantized_bits(4,0,1,alpha=1,alpha=2)"}

GOOD = [s for s in STRINGS if not s.get("error") and s["text"] not in REJECTED]
BAD = [s for s in STRINGS if s.get("error") or s["text"] in REJECTED]


@pytest.mark.parametrize("entry", GOOD, ids=[s["text"] for s in GOOD])
def test_string_gives_qkeras_quantizer(entry):
    q = get_quantizer(entry["text"])
    if entry["class_name"] == "function":
        assert q.__name__ == entry["str"]
        return
    assert type(q).__name__ == entry["class_name"]
    config = dict(entry["config"])
    if entry["text"] in DEVIATIONS:
        config.update(DEVIATIONS[entry["text"]])
        assert q.get_config() == config
        return
    assert q.get_config() == config
    if entry["str"] is not None:
        assert str(q) == entry["str"]
    # what QKeras gets back when it parses str(q)
    if entry.get("str") is not None and entry.get("reparsed_config") is not None:
        assert get_quantizer(str(q)).get_config() == entry["reparsed_config"]


@pytest.mark.parametrize("entry", BAD, ids=[s["text"] for s in BAD])
def test_bad_string_raises(entry):
    text = entry["text"]
    if text.startswith("quantized_linear"):  # QKeras master's quantizer (0.9.0 lacks it): provided
        assert type(get_quantizer(text)).__name__ == "quantized_linear"
        return
    with pytest.raises(ValueError) as info:
        get_quantizer(text)
    if text.startswith("unknown_quantizer"):
        for name in QUANTIZERS:
            assert name in str(info.value)  # lists the accepted quantizers


def test_unknown_keyword_lists_accepted():
    with pytest.raises(ValueError, match="accepted keywords.*max_value"):
        get_quantizer("quantized_po2(4,foo=1)")


def test_quantized_linear_config_dict():
    """QKeras master's quantized_linear: from a config dict, a bare name and its own str()."""
    q = get_quantizer({"class_name": "quantized_linear", "config": {"bits": 4, "integer": 1}})
    assert (q.bits, q.integer, q.symmetric) == (4, 1, 1)
    assert str(q) == "quantized_linear(4,1,1)"
    assert get_quantizer(str(q)).get_config() == q.get_config()
    assert get_quantizer("quantized_linear").get_config() == {
        "bits": 8,
        "integer": 0,
        "symmetric": 1,
        "alpha": None,
        "keep_negative": True,
        "use_stochastic_rounding": False,
        "qnoise_factor": 1.0,
    }


def test_qkeras_hard_sigmoid_not_keras():
    """'hard_sigmoid' is QKeras' clip(0.5 x + 0.5, 0, 1), not Keras 3's relu6(x + 3) / 6."""
    f = get_quantizer("hard_sigmoid")
    assert f is hard_sigmoid
    x = np.float32([-3, -1, -0.5, 0, 0.5, 1, 3])
    np.testing.assert_array_equal(to_np(f(ops.convert_to_tensor(x))), [0, 0, 0.25, 0.5, 0.75, 1, 1])
    bt = get_quantizer("binary_tanh")
    # round half to even: binary_tanh(0) = 2 * round(0.5) - 1 = -1 in QKeras
    np.testing.assert_array_equal(to_np(bt(ops.convert_to_tensor(x))), [-1, -1, -1, -1, 1, 1, 1])


@pytest.mark.parametrize(
    "entry",
    [s for s in GOOD if s["class_name"] not in ("function",)],
    ids=[s["text"] for s in GOOD if s["class_name"] not in ("function",)],
)
def test_config_dict_roundtrip(entry):
    q = get_quantizer(entry["text"])
    again = get_quantizer({"class_name": type(q).__name__, "config": q.get_config()})
    assert again.get_config() == q.get_config()
