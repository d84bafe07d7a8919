"""hgq_compat.safe_eval against qkeras.safe_eval 0.9.0 goldens (GetParams values and types; safe_eval objects,
their strings and outputs)."""

from __future__ import annotations

import importlib

import keras
import numpy as np
import pytest

import hgq_compat.quantizers as hq
from tests import golden

se = importlib.import_module("hgq_compat.safe_eval")  # hgq_compat.safe_eval is the function, as in QKeras

OPS = {k: getattr(hq, k) for k in dir(hq) if k.startswith(("quantized_", "binary", "ternary"))}


def _cases(prefix: str) -> list[dict]:
    return [c for c in golden.load("api")[0] if c["id"].startswith(prefix) and "text" in c]


@pytest.mark.parametrize("case", [c for c in _cases("get_params/") if "error" not in c], ids=lambda c: c["text"])
def test_get_params_matches_qkeras(case):
    args, kwargs = se.GetParams(case["text"])
    assert args == case["args"] and kwargs == case["kwargs"]
    assert [type(a).__name__ for a in args] == case["arg_types"]
    assert {k: type(v).__name__ for k, v in kwargs.items()} == case["kwarg_types"]


def test_get_params_positional_after_keyword_is_a_syntax_error():
    case = next(c for c in golden.load("api")[0] if c["id"] == "get_params/positional_after_keyword")
    assert case["error"].startswith("SyntaxError")
    with pytest.raises(SyntaxError):
        se.GetParams("(a=1, 2)")


def test_get_params_never_evaluates():
    with pytest.raises(ValueError):
        se.GetParams("(__import__('os').system('true'))")


@pytest.mark.parametrize("case", _cases("safe_eval/"), ids=lambda c: c["text"])
def test_safe_eval_matches_qkeras(case):
    x = golden.array("api", next(c for c in golden.load("api")[0] if c["id"] == "safe_eval/input")["x"])
    if "params" in case:
        obj = se.safe_eval(case["text"], OPS, *case["params"], **case["kwparams"])
        assert {k: obj.get_config()[k] for k in case["config"]} == case["config"]
        return
    obj = se.safe_eval(case["text"], OPS)
    assert type(obj).__name__ == case["type"]
    if "str" in case:
        assert str(obj) == case["str"]
    y = keras.ops.convert_to_numpy(obj(keras.ops.convert_to_tensor(x)))
    np.testing.assert_array_equal(y, golden.array("api", case["output"]))


def test_helpers_match_qkeras():
    assert se.GetArg("3") == 3 and se.GetArg("2.5") == 2.5 and se.GetArg("True") is True
    assert se.GetArg("'auto'") == "auto" and se.IsNum("1e3") and not se.IsBool("true")
