"""Every layer class qkeras-v3 (QKeras ported to Keras 3, PyPI ``qkeras-v3`` 1.2.1) provides, saved by real
qkeras-v3 as a ``.keras`` archive (alone and inside Bidirectional / QBidirectional / RNN / TimeDistributed /
nested models; `make_qkeras_goldens.py --only saved_v3`), converts to a model whose outputs equal qkeras-v3's.

Tolerance as in test_saved_classes.py: exact where the model ends in a quantizer, float32 tolerance (rtol 1e-5,
atol 1e-6) otherwise. The models shared with the QKeras 0.9.0 `saved` section were built with the same seeds:
their converted weights and outputs are compared with the 0.9.0 files too.
"""

from __future__ import annotations

import functools

import keras
import numpy as np
import pytest

from hgq_compat.cli import main
from hgq_compat.legacy import convert_qkeras_model
from tests import golden

from .helpers import MODELS_DIR

ROOT = MODELS_DIR.parent

#: Cases qkeras-v3 itself cannot save (recorded `keras_error`).
NOT_SAVED = {"qadaptiveactivation"}


def _cases() -> list[dict]:
    data, _ = golden.load("saved_v3")
    return data["models"]


def _case(name: str) -> dict:
    return next(c for c in _cases() if c["name"] == name)


@functools.cache
def _converted(name: str) -> keras.Model:
    return convert_qkeras_model(ROOT / _case(name)["keras"])


def _predict(model: keras.Model, x: np.ndarray) -> np.ndarray:
    return keras.ops.convert_to_numpy(model(x, training=False))


def _assert_matches(y: np.ndarray, ref: np.ndarray, exact: bool) -> None:
    assert y.shape == ref.shape
    if exact:
        np.testing.assert_array_equal(y, ref)
    else:
        np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)


CONVERTIBLE = [c["name"] for c in _cases() if c["name"] not in NOT_SAVED]


def test_every_v3_case_was_recorded():
    """qkeras-v3 ran every model and saved it, except the one it cannot save; the wrappers are all there."""
    data, _ = golden.load("saved_v3")
    assert data["versions"]["qkeras"] == "1.2.1" and data["versions"]["keras"].startswith("3.")
    cases = _cases()
    assert len(cases) >= 34
    for c in cases:
        assert "error" not in c and "output" in c, c["name"]
        assert ("keras" in c) == (c["name"] not in NOT_SAVED), c["name"]
    assert _case("qadaptiveactivation")["keras_error"].startswith("ValueError")
    wrappers = {c["wrapper"] for c in cases}
    assert {"QLSTM", "QGRU", "QSimpleRNN", "Bidirectional", "RNN", "TimeDistributed", "nested model"} <= wrappers


@pytest.mark.parametrize("name", CONVERTIBLE)
def test_v3_model_converts_and_matches_qkeras_v3(name):
    case = _case(name)
    y = _predict(_converted(name), golden.array("saved_v3", case["input"]))
    _assert_matches(y, golden.array("saved_v3", case["output"]), case["exact"])


def test_v3_files_agree_with_qkeras_090_files():
    """The models both sections hold: same inputs, qkeras-v3 outputs equal QKeras 0.9.0's bit for bit, and the
    weights read from the .keras archive equal those read from the 0.9.0 .h5 (every sub-layer in its slot)."""
    saved, _ = golden.load("saved")
    by_name = {c["name"]: c for c in saved["models"]}
    shared = [n for n in CONVERTIBLE if n in by_name]
    assert len(shared) >= 25
    for name in shared:
        old, new = by_name[name], _case(name)
        np.testing.assert_array_equal(golden.array("saved", old["input"]), golden.array("saved_v3", new["input"]))
        np.testing.assert_array_equal(golden.array("saved", old["output"]), golden.array("saved_v3", new["output"]))
        from_h5 = convert_qkeras_model(ROOT / old["h5"]).get_weights()
        from_keras = _converted(name).get_weights()
        assert len(from_h5) == len(from_keras), name
        for a, b in zip(from_h5, from_keras):
            np.testing.assert_array_equal(a, b, err_msg=name)


def test_cli_converts_a_v3_wrapper_model(tmp_path, capsys):
    """`hgq-compat convert` on a qkeras-v3 QBidirectional archive, checked against qkeras-v3's outputs."""
    case = _case("qbidirectional_qlstm")
    data = tmp_path / "check.npz"
    np.savez(data, x=golden.array("saved_v3", case["input"]), y=golden.array("saved_v3", case["output"]))
    out = tmp_path / "m.keras"
    rc = main(["convert", str(ROOT / case["keras"]), "-o", str(out), "--check-data", str(data)])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert next(l for l in text.splitlines() if l.startswith("verify")).startswith("verify OK")
    reloaded = keras.saving.load_model(out)
    _assert_matches(
        _predict(reloaded, golden.array("saved_v3", case["input"])), golden.array("saved_v3", case["output"]), False
    )


def _rewrite_weights(src, dst, edit) -> None:
    """Copy the .keras archive ``src`` to ``dst`` with ``edit(h5py.File)`` applied to its model.weights.h5."""
    import io
    import zipfile

    import h5py

    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.namelist():
            data = zin.read(item)
            if item == "model.weights.h5":
                buf = io.BytesIO(data)
                with h5py.File(buf, "a") as f:
                    edit(f)
                data = buf.getvalue()
            zout.writestr(item, data)


def test_v3_sub_layers_nested_too_deep_are_refused(tmp_path):
    def deepen(f):
        f["layers/q_dense"].create_group("/".join(["sub"] * 20) + "/vars").create_dataset("0", data=np.zeros(3))

    bad = tmp_path / "deep.keras"
    _rewrite_weights(ROOT / _case("qdense")["keras"], bad, deepen)
    with pytest.raises(ValueError, match="nested more than 16 levels deep"):
        convert_qkeras_model(bad)


def test_v3_unknown_named_weight_is_refused(tmp_path):
    """A weight saved under a name (like `vars/iteration`) that the layer does not have is named in the error."""
    bad = tmp_path / "named.keras"
    _rewrite_weights(
        ROOT / _case("qdense")["keras"],
        bad,
        lambda f: f["layers/q_dense/vars"].create_dataset("scale", data=np.ones(5, np.float32)),
    )
    with pytest.raises(ValueError, match=r"layer 'layer'.*unexpected weights in the file: \['vars/scale'\]"):
        convert_qkeras_model(bad)
