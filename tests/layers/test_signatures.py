"""The layers' constructor parameters are QKeras': every parameter of QKeras' ``__init__`` (0.9.0, or
master for the layers 0.9.0 lacks), in QKeras' order and with QKeras' default, optionally followed by
Keras 3 ones. Recorded with `ast` from the QKeras sources by tests/fixtures/make_qkeras_signatures.py.
Positional calls bind as in QKeras."""

import ast
import inspect
import json
from pathlib import Path

import pytest

import hgq_compat.layers as L

QKERAS = json.loads((Path(__file__).parents[1] / "fixtures" / "qkeras_signatures.json").read_text())["layers"]
#: layers of hgq_compat.layers QKeras has no own constructor for (QBidirectional inherits Keras')
NOT_IN_QKERAS = {"QBidirectional", "QDenseBatchnorm", "QSoftmax", "QuantizedLayerMixin"}
REQUIRED = {"units": 4, "filters": 4, "kernel_size": 3}


def _qkeras(name: str) -> list[tuple[str, object]]:
    """QKeras' named parameters of ``name`` as (name, default or inspect.Parameter.empty)."""
    return [
        (p, inspect.Parameter.empty if d is None else ast.literal_eval(d))
        for p, d in QKERAS[name]["parameters"]
        if p not in ("args", "kwargs")
    ]


def _ours(cls: type) -> list[tuple[str, object]]:
    params = inspect.signature(cls).parameters.values()
    return [(p.name, p.default) for p in params if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]


def test_every_public_layer_is_checked():
    assert set(L.__all__) - set(QKERAS) == NOT_IN_QKERAS


@pytest.mark.parametrize("name", sorted(set(L.__all__) - NOT_IN_QKERAS))
def test_parameters_are_qkeras(name):
    qkeras, ours = _qkeras(name), _ours(getattr(L, name))
    assert ours[: len(qkeras)] == qkeras
    assert len(qkeras) >= 1


def test_dense_batchnorm_is_dense_then_batchnorm():
    """QKeras master's QDenseBatchnorm (not on master's tip): QDense's parameters, then QConv2DBatchnorm's
    batch-normalization ones."""
    bn = [p for p in _qkeras("QConv2DBatchnorm") if p[0] not in dict(_qkeras("QConv2D"))]
    assert bn[0][0] == "axis" and bn[-1] == ("folding_mode", "ema_stats_folding") and len(bn) == 22
    assert _ours(L.QDenseBatchnorm) == _qkeras("QDense") + bn


def _positional_cases() -> list[str]:
    return sorted(
        name
        for name in set(L.__all__) - NOT_IN_QKERAS
        if {p for p, d in _qkeras(name) if d is inspect.Parameter.empty} <= set(REQUIRED)
    )


def _config(layer) -> dict:
    config = layer.get_config()
    config.pop("name")
    return config


@pytest.mark.parametrize("name", _positional_cases())
def test_all_qkeras_arguments_bind_positionally(name):
    """Every QKeras parameter given positionally (its default) gives the layer of the required ones alone."""
    cls, qkeras = getattr(L, name), _qkeras(name)
    required = {p: REQUIRED[p] for p, d in qkeras if d is inspect.Parameter.empty}
    positional = [REQUIRED[p] if d is inspect.Parameter.empty else d for p, d in qkeras]
    assert _config(cls(*positional)) == _config(cls(**required))


def test_positional_values_reach_their_parameters():
    """QKeras users' positional calls."""
    sep = L.QSeparableConv2D(8, (3, 3), (2, 2), "same", None, (1, 1), 2)
    assert (sep.filters, sep.kernel_size, sep.strides, sep.padding, sep.depth_multiplier) == (
        8,
        (3, 3),
        (2, 2),
        "same",
        2,
    )
    assert L.QSeparableConv1D(8, 3, 2).strides == (2,)
    lstm = L.QLSTM(32, "tanh", "sigmoid", False)
    assert (lstm.units, lstm.get_config()["recurrent_activation"], lstm.use_bias) == (32, "sigmoid", False)
    gru = L.QGRU(4, *[d for _, d in _qkeras("QGRU")[1:-1]], True)  # reset_after, QKeras' last parameter
    assert gru.reset_after is True and gru.cell.reset_after is True
    bn = L.QConv2DBatchnorm(4, 3, 1, "same", *[d for _, d in _qkeras("QConv2DBatchnorm")[4:17]], 3)
    assert bn.bn_axis == 3 and bn.padding == "same"
    dense_bn = L.QDenseBatchnorm(5, None, False)
    assert (dense_bn.units, dense_bn.use_bias) == (5, False)


def test_wrong_calls_name_the_layer():
    with pytest.raises(TypeError, match=r"QDense.__init__\(\): missing a required argument: 'units'"):
        L.QDense()
    with pytest.raises(TypeError, match=r"QLSTM.__init__\(\): multiple values for argument 'units'"):
        L.QLSTM(4, units=4)
    with pytest.raises(TypeError, match=r"QConv1D.__init__\(\): too many positional arguments"):
        L.QConv1D(*range(len(_qkeras("QConv1D")) + 1))
