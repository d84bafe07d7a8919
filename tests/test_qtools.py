"""QTools (hgq_compat.qtools) against real QKeras master: the data type map (``qtools_stats``),
energy dicts, energy sums/profiles and roofline numbers of the models in the golden section
``master_qtools`` (tests/fixtures/make_qkeras_goldens.py), rebuilt here from their specs with the
same weights; plus ``qtools_util.adjust_multiplier_for_auto_po2`` on recorded quantizers."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

import hgq_compat
from hgq_compat import quantizers
from hgq_compat.qtools import qtools_util, run_qtools
from hgq_compat.qtools import settings as qtools_settings
from hgq_compat.qtools.DnC import divide_and_conquer
from hgq_compat.qtools.quantized_operators import MultiplierFactory
from hgq_compat.qtools.quantized_operators.quantizer_factory import QuantizerFactory

from . import golden

NAME = "master_qtools"
_DATA = golden.load(NAME)
CASES = [c for c in _DATA[0]]
with open(golden.GOLDEN_DIR / f"{NAME}.json") as _fh:
    _ALL = json.load(_fh)
UTIL = [u for u in _ALL["util"] if "weight_quantizer" in u]
SCALES = [u for u in _ALL["util"] if u["id"].startswith("get_scale")]
DNC = _ALL["dnc"]


def _layer_class(name: str) -> type:
    return getattr(hgq_compat, name) if name.startswith("Q") else getattr(keras.layers, name)


def build(case: dict) -> keras.Model:
    """The golden case's model with hgq_compat layers and the recorded weights."""
    spec = case["spec"]
    if "weights" not in case:  # DnC cases: no weights recorded (the search reads no weight values)
        case = dict(case, weights={}, layer_names=[])
    layers = []
    for j, ls in enumerate(spec["layers"]):
        kw = {k: tuple(v) if isinstance(v, list) else v for k, v in ls["kw"].items()}
        layers.append(_layer_class(ls["cls"])(name=f"l{j}_{ls['cls'].lower()}", **kw))
    if spec.get("sequential"):
        model = keras.Sequential([keras.Input(tuple(spec["inputs"][0]))] + layers)
    else:
        tensors = [keras.Input(tuple(s), name=f"input_{i}") for i, s in enumerate(spec["inputs"])]
        for layer, ls in zip(layers, spec["layers"]):
            ins = [tensors[i] for i in ls["in"]]
            tensors.append(layer(ins if len(ins) > 1 else ins[0]))
        model = keras.Model(tensors[: len(spec["inputs"])], [tensors[i] for i in spec["outputs"]])
    if case["layer_names"]:
        assert [layer.name for layer in model.layers] == case["layer_names"]
    for name, keys in case["weights"].items():
        model.get_layer(name).set_weights([golden.array(NAME, k) for k in keys])
    return model


def _source(case: dict) -> object:
    src = case["spec"]["source"]
    if isinstance(src, list):
        return [quantizers.get_quantizer(s) for s in src]
    if src and src.startswith("quantized"):
        return [quantizers.get_quantizer(src)] * len(case["spec"]["inputs"])
    return src


def _plain(obj: object) -> object:
    """JSON round trip (tuples -> lists, NumPy scalars -> numbers), as the goldens were written."""
    return json.loads(json.dumps(obj, default=lambda v: v.item() if isinstance(v, np.generic) else v.tolist()))


def _stats(output_dict: dict) -> dict:
    """``_plain`` with each layer's input_quantizer_list sorted: QKeras orders a merge layer's inputs
    by iterating a set of tensors (it changes from run to run); the goldens' merge outputs do not
    depend on the order."""
    stats = _plain(output_dict)
    for item in stats.values():
        if isinstance(item, dict) and "input_quantizer_list" in item:
            item["input_quantizer_list"] = sorted(item["input_quantizer_list"], key=json.dumps)
    return stats


RUNS = [(c["id"], i) for c in CASES for i in range(len(c["runs"]))]


@pytest.fixture(scope="module")
def models() -> dict:
    return {}


@pytest.mark.parametrize("case_id,run_index", RUNS, ids=[f"{c}-run{i}" for c, i in RUNS])
def test_qtools_equals_qkeras(case_id: str, run_index: int, models: dict) -> None:
    case = next(c for c in CASES if c["id"] == case_id)
    if case_id not in models:
        models[case_id] = build(case)
    model = models[case_id]
    run = case["runs"][run_index]
    assert "error" not in run, run.get("error")
    q = run_qtools.QTools(model, process="horowitz", source_quantizers=_source(case), **run["kwargs"])
    assert _stats(q._output_dict) == _stats(run["stats"])
    assert [sq.bits for sq in q.source_quantizer_list] == run["source_bits"]
    if "roofline" in run:
        assert _plain(q.get_roofline_numbers()) == run["roofline"]
    else:  # QKeras fails on models with several inputs; hgq_compat says why
        assert len(model.inputs) > 1
        with pytest.raises(NotImplementedError, match="single-input"):
            q.get_roofline_numbers()
    for item in run["energy"]:
        if "error" in item:  # QKeras' energy model fails on AveragePooling2D; hgq_compat says why
            with pytest.raises(NotImplementedError, match="AveragePooling2D"):
                q.pe(**item["kwargs"])
            continue
        energy = q.pe(**item["kwargs"])
        assert _plain(energy) == item["energy"]
        assert q.extract_energy_sum(qtools_settings.cfg.include_energy, energy) == item["sum"]
        assert _plain(q.extract_energy_profile(qtools_settings.cfg.include_energy, energy)) == item["profile"]


@pytest.mark.parametrize("rec", UTIL, ids=[u["id"] for u in UTIL])
def test_adjust_multiplier_for_auto_po2_equals_qkeras(rec: dict) -> None:
    kq = quantizers.get_quantizer(rec["weight_quantizer"])
    kq(keras.ops.convert_to_tensor(np.array(rec["weights"], dtype=np.float32)))
    factory = QuantizerFactory()
    m = MultiplierFactory().make_multiplier(
        factory.make_quantizer(kq), factory.make_quantizer(quantizers.get_quantizer(rec["input_quantizer"]))
    )
    assert [m.output.bits, m.output.int_bits] == rec["before"]
    qtools_util.adjust_multiplier_for_auto_po2(m, kq)
    assert [m.output.bits, m.output.int_bits] == rec["after"]


@pytest.mark.parametrize("rec", SCALES, ids=[u["id"] for u in SCALES])
def test_get_scale_equals_qkeras(rec: dict) -> None:
    """quantizers._get_scale (QKeras master's block least-squares scale) on the recorded inputs."""
    kwargs = dict(rec["kwargs"])
    alpha = kwargs.pop("alpha")
    x, q = golden.array(NAME, "get_scale/x"), golden.array(NAME, "get_scale/q")
    scale = np.asarray(keras.ops.convert_to_numpy(quantizers._get_scale(alpha, x, q, **kwargs)), dtype=np.float32)
    expected = golden.array(NAME, rec["scale"])
    if alpha is None or not isinstance(alpha, str):  # a number, as QKeras (the npz keeps it as shape (1,))
        assert isinstance(quantizers._get_scale(alpha, x, q, **kwargs), float)
        scale = np.atleast_1d(scale)
    assert scale.shape == expected.shape
    np.testing.assert_array_equal(scale, expected)


def test_golden_covers_the_layer_kinds() -> None:
    """The goldens exercise every layer family QTools distinguishes (so the comparisons above mean something)."""
    kinds = {ls["cls"] for c in CASES for ls in c["spec"]["layers"]}
    for needed in (
        "QDense",
        "QConv2D",
        "QConv1D",
        "QDepthwiseConv2D",
        "QSeparableConv2D",
        "QActivation",
        "QAdaptiveActivation",
        "QBatchNormalization",
        "BatchNormalization",
        "QAveragePooling2D",
        "QGlobalAveragePooling2D",
        "AveragePooling2D",
        "MaxPooling2D",
        "Add",
        "Multiply",
        "Maximum",
        "Concatenate",
        "Dense",
        "Conv2D",
        "Activation",
        "Dropout",
    ):
        assert needed in kinds, needed
    assert len(RUNS) >= 50


@pytest.mark.parametrize("rec", DNC, ids=[d["id"] for d in DNC])
def test_divide_and_conquer_equals_qkeras(rec: dict) -> None:
    """estimate_model_cost: the best design parameters per layer and the best cost, as QKeras master
    (({}, None) where QKeras finds no valid choice; the same exception where QKeras fails)."""
    model = build(rec)
    for run in rec["runs"]:
        best_path, best_cost = divide_and_conquer.estimate_model_cost(
            model, mode=divide_and_conquer.CostMode.ACE, **run["kwargs"]
        )
        assert _plain({str(k): v for k, v in best_path.items()}) == run["best_path"]
        assert best_cost == run["best_cost"]
    if "error" in rec:
        error = rec["error"].split(":")[0]
        kwargs = next(kw for kw in _ALL_DNC_RUNS if all(kw != r["kwargs"] for r in rec["runs"]))
        with pytest.raises(Exception) as info:
            divide_and_conquer.estimate_model_cost(model, mode=divide_and_conquer.CostMode.ACE, **kwargs)
        assert type(info.value).__name__ == error
    assert any(run["best_cost"] is not None for d in DNC for run in d["runs"])  # some searches succeed


_ALL_DNC_RUNS = [run["kwargs"] for d in DNC for run in d["runs"]]


def test_hgq_mode_layers_are_refused() -> None:
    x = keras.Input((4,))
    y = hgq_compat.QDense(3, kernel_quantizer="quantized_bits(4,0,1)", mode="hgq", name="d")(x)
    with pytest.raises(NotImplementedError, match="'d'.*HGQ mode.*model_ebops"):
        run_qtools.QTools(keras.Model(x, y), process="horowitz", source_quantizers=["int8"])


def test_stats_json_file_and_print(tmp_path, capsys) -> None:
    """qtools_stats_to_json / qtools_stats_print write the data type map QKeras records."""
    case = next(c for c in CASES if c["id"] == "conv")
    run = case["runs"][0]
    q = run_qtools.QTools(build(case), process="horowitz", source_quantizers=_source(case), **run["kwargs"])
    path = tmp_path / "stats.json"
    q.qtools_stats_to_json(str(path))
    assert _stats(json.loads(path.read_text())) == _stats(run["stats"])
    capsys.readouterr()
    q.qtools_stats_print()
    assert _stats(json.loads(capsys.readouterr().out)) == _stats(run["stats"])
