"""hgq_compat.quantizer_registry / hgq_compat.registry / safe_eval against goldens from real QKeras master
(tests/fixtures/qkeras_goldens/master.json records the commit)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import hgq_compat
from hgq_compat import quantizer_registry, registry
from hgq_compat.safe_eval import GetParams
from tests import golden

#: master quantizers that hgq_compat does not provide (listed in migration_guide/features.md).
NOT_PROVIDED: set[str] = set()


def _cases(prefix: str) -> list[dict]:
    return [c for c in golden.load("master")[0] if c["id"].startswith(prefix)]


def test_goldens_record_the_master_commit():
    assert len(golden.load("master")[0]) >= 20
    import json

    versions = json.loads((golden.GOLDEN_DIR / "master.json").read_text())["versions"]
    assert len(versions["qkeras_commit"]) == 40


@pytest.mark.parametrize("case", _cases("lookup_quantizer/"), ids=lambda c: c["name"])
def test_lookup_quantizer(case):
    if case["name"] in NOT_PROVIDED:
        pytest.skip(f"{case['name']} is not provided by hgq_compat")
    if "error" in case:
        assert case["error"].startswith("KeyError")
        with pytest.raises(KeyError):
            quantizer_registry.lookup_quantizer(case["name"])
        return
    cls = quantizer_registry.lookup_quantizer(case["name"])
    assert cls.__name__ == case["result"] and cls is getattr(hgq_compat, case["name"])


def test_register_quantizer_decorator():
    case = _cases("register_quantizer/")[0]

    @quantizer_registry.register_quantizer
    class my_quantizer(hgq_compat.quantized_bits):  # noqa: N801
        pass

    assert case["returns_same_class"] and isinstance(my_quantizer, type)
    assert quantizer_registry.lookup_quantizer("my_quantizer").__name__ == case["lookup"]
    q = hgq_compat.get_quantizer("my_quantizer(4,0,1)")  # usable in strings too
    x = np.linspace(-1, 1, 9, dtype=np.float32)
    ref = hgq_compat.quantized_bits(4, 0, 1)(keras.ops.convert_to_tensor(x))
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(q(keras.ops.convert_to_tensor(x))), keras.ops.convert_to_numpy(ref)
    )


def test_registry():
    case = _cases("registry/")[0]
    r = registry.Registry()
    r.register(len)
    r.register(abs, name="absolute")
    assert r.lookup("len").__name__ == case["lookup_len"] and r.lookup("absolute").__name__ == case["lookup_absolute"]
    assert case["lookup_abs_error"].startswith("KeyError")
    with pytest.raises(KeyError):
        r.lookup("abs")


@pytest.mark.parametrize("case", _cases("get_params/"), ids=lambda c: c["text"])
def test_get_params_master_forms(case):
    args, kwargs = GetParams(case["text"])
    assert args == case["args"] and kwargs == case["kwargs"]
