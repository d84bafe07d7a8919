"""``hgq-compat migrate``: each rewrite, the reports, dry run, backups, idempotence, notebooks, an
unparseable file, and QKeras 0.9.0's own example scripts migrated and run on synthetic data."""

import json
import runpy
import shutil
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

from hgq_compat import migrate
from hgq_compat.cli import main

EXAMPLES = Path(__file__).resolve().parent / "fixtures" / "qkeras_examples"


def _migrate(code: str) -> tuple[str, list[str]]:
    new, findings = migrate.migrate_source(textwrap.dedent(code), "x.py")
    return new, [str(f) for f in findings]


def test_qkeras_imports():
    new, findings = _migrate("""\
        import qkeras  # the package
        import qkeras.utils as qu
        from qkeras import QDense, quantized_bits
        from qkeras.utils import load_qmodel
        from qkeras.qlayers import QActivation
        from qkeras import *
        q = qkeras.quantized_bits(4, 0)
        """)
    assert new == textwrap.dedent("""\
        import hgq_compat  # the package
        import hgq_compat.utils as qu
        from hgq_compat import QDense, quantized_bits
        from hgq_compat.utils import load_qmodel
        from hgq_compat.qlayers import QActivation
        from hgq_compat import *
        q = hgq_compat.quantized_bits(4, 0)
        """)
    assert findings == []


def test_qkeras_names_hgq_compat_lacks_are_reported_not_rewritten():
    code = "import qkeras.experimental as qo\nfrom qkeras import QDense, QMobileNetSeparableConv2D\n"
    new, findings = _migrate(code)
    assert new == code
    assert findings[0].startswith("x.py:1: qkeras.experimental has no counterpart in hgq_compat")
    assert findings[1].startswith("x.py:2: hgq_compat has no QMobileNetSeparableConv2D: not ported")


def test_qtools_imports_map_to_hgq_compat_qtools():
    new, findings = _migrate("""\
        from qkeras.qtools import run_qtools
        from qkeras.qtools import settings as qtools_settings
        from qkeras.qtools.quantized_operators import divider_factory, quantizer_impl
        import qkeras.qtools.qtools_util as qu
        from qkeras.qtools.DnC import divide_and_conquer
        from qkeras import qtools
        """)
    assert findings == []
    assert new == textwrap.dedent("""\
        from hgq_compat.qtools import run_qtools
        from hgq_compat.qtools import settings as qtools_settings
        from hgq_compat.qtools.quantized_operators import divider_factory, quantizer_impl
        import hgq_compat.qtools.qtools_util as qu
        from hgq_compat.qtools.DnC import divide_and_conquer
        from hgq_compat import qtools
        """)


def test_tf_keras_imports_and_chains():
    new, findings = _migrate("""\
        \"\"\"Doc.\"\"\"
        import numpy as np
        import tensorflow as tf
        from tensorflow.keras.layers import Dense  # a comment
        from tensorflow import keras as k, nn
        import tensorflow.keras.backend as K
        from keras.utils.np_utils import to_categorical

        x = tf.keras.layers.Dense(3,
                                  activation="relu")  # kept
        y = tf.nn.relu
        """)
    assert new == textwrap.dedent("""\
        \"\"\"Doc.\"\"\"
        import numpy as np
        import tensorflow as tf
        from keras.layers import Dense  # a comment
        from tensorflow import nn
        import keras as k
        import keras.backend as K
        from keras.utils import to_categorical
        import keras

        x = keras.layers.Dense(3,
                                  activation="relu")  # kept
        y = tf.nn.relu
        """)
    assert findings == []
    new, _ = _migrate("from tensorflow import keras\nm = keras.Model\n")
    assert new == "import keras\nm = keras.Model\n"


def test_keras2_module_paths_that_moved():
    new, findings = _migrate("""\
        import tensorflow.keras
        import tensorflow as tf
        import keras.utils.np_utils
        from keras.layers.core import Dense, Flatten
        m = tensorflow.keras.layers.Dense(2)
        c = tensorflow.constant(1)
        y = keras.utils.np_utils.to_categorical([1], 2)
        w = tf.keras.layers.experimental.preprocessing.Rescaling(1.0)
        o = keras.optimizers.legacy.Adam(lr=1e-3)
        from tensorflow.keras.layers.experimental import preprocessing
        """)
    assert new == textwrap.dedent("""\
        import tensorflow, keras
        import tensorflow as tf
        import keras.utils
        from keras.layers import Dense, Flatten
        m = keras.layers.Dense(2)
        c = tensorflow.constant(1)
        y = keras.utils.to_categorical([1], 2)
        w = keras.layers.Rescaling(1.0)
        o = keras.optimizers.Adam(learning_rate=1e-3)
        from tensorflow.keras.layers.experimental import preprocessing
        """)
    assert findings == [
        "x.py:10: tensorflow.keras.layers.experimental does not exist in Keras 3 "
        "(keras.layers.experimental); import left as it was"
    ]
    ns: dict = {}
    exec(new.rsplit("from tensorflow", 1)[0], ns)
    assert ns["y"].tolist() == [[0.0, 1.0]] and int(ns["c"]) == 1
    assert float(ns["o"].learning_rate) == pytest.approx(1e-3)


def test_optimizer_lr_and_decay_rewritten_to_the_same_schedule():
    new, findings = _migrate("""\
        import tensorflow as tf
        from tensorflow.keras.optimizers import Adam
        a = Adam(lr=0.01, decay=1e-3)
        b = tf.keras.optimizers.SGD(lr=0.1, momentum=0.9, decay=0.0)
        """)
    assert (
        "a = Adam(learning_rate=keras.optimizers.schedules.InverseTimeDecay(0.01, decay_steps=1, decay_rate=1e-3))"
    ) in new
    assert "b = keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)" in new
    assert findings == []
    ns: dict = {}
    exec(new, ns)
    steps = np.array([0, 1, 10, 1000], dtype=np.float32)
    schedule = keras.optimizers.schedules.deserialize(ns["a"].get_config()["learning_rate"])
    lr = [float(keras.ops.convert_to_numpy(schedule(s))) for s in steps]  # learning rate at each iteration
    keras2 = np.float32(0.01) / (np.float32(1.0) + np.float32(1e-3) * steps)  # Keras 2: lr / (1 + decay * iterations)
    assert np.array_equal(np.asarray(lr, dtype=np.float32), keras2)
    assert float(ns["b"].learning_rate) == pytest.approx(0.1) and float(ns["b"].momentum) == pytest.approx(0.9)
    _, findings = _migrate("import keras\nc = keras.optimizers.Adam(decay=1e-3)\n")
    assert findings[0].startswith("x.py:2: optimizer decay= without a learning rate")
    new, _ = _migrate("import keras\nc = keras.optimizers.SGD(0.5, decay=0.)\nd = keras.optimizers.SGD(0.5, decay=2)\n")
    assert new.splitlines()[1:] == [
        "c = keras.optimizers.SGD(0.5)",
        "d = keras.optimizers.SGD(keras.optimizers.schedules.InverseTimeDecay(0.5, decay_steps=1, decay_rate=2))",
    ]


def test_backend_eval_constant_and_get_shape():
    new, findings = _migrate("""\
        import tensorflow.keras.backend as K
        a = K.constant([1, 2])
        v = K.eval(a * 2)
        w = K.get_value(a)
        s = a.get_shape()
        l = a.get_shape().as_list()
        """)
    assert new == textwrap.dedent("""\
        import keras.backend as K
        import keras
        a = keras.ops.convert_to_tensor([1, 2], dtype=keras.backend.floatx())
        v = keras.ops.convert_to_numpy(a * 2)
        w = keras.ops.convert_to_numpy(a)
        s = a.shape
        l = list(a.shape)
        """)
    assert findings == []
    ns: dict = {}
    exec(new, ns)
    assert ns["v"].dtype == np.float32 and ns["v"].tolist() == [2.0, 4.0] and ns["w"].tolist() == [1.0, 2.0]
    assert tuple(ns["s"]) == (2,) and ns["l"] == [2]


def test_not_mechanical_is_reported_with_lines():
    code = textwrap.dedent("""\
        import tensorflow as tf
        import tensorflow.compat.v1 as tf1
        import tensorflow_model_optimization as tfmot
        from tensorflow.keras import backend as K
        model.fit_generator(gen, steps_per_epoch=3)
        K.set_session(tf1.Session())
        z = K.sum(x)
        y = tf.compat.v1.placeholder(tf.float32)
        model.save("m.h5", save_format="h5")
        class L(tf.keras.layers.Layer):
            def build(self, input_shape):
                self.w = self.add_weight("w", (3, 3))
        """)
    new, findings = _migrate(code)
    by_line: dict = {}
    for f in findings:
        by_line.setdefault(int(f.split(":")[1]), []).append(f)
    assert sorted(by_line) == [2, 3, 5, 6, 7, 8, 9, 12]
    assert "tfmot" in by_line[3][0] and "HGQ" in by_line[3][0]
    assert ".fit()" in by_line[5][0] and "sessions" in by_line[6][0] and "keras.ops.sum" in by_line[7][0]
    assert "tensorflow.compat.v1.placeholder" in by_line[8][0]
    assert "save_format" in by_line[9][0] and "add_weight" in by_line[12][0]
    assert "from keras import backend as K" in new and "class L(keras.layers.Layer)" in new


def test_names_from_the_star_import():
    new, findings = _migrate("""\
        from qkeras import *
        x = K.eval(K.constant([1.5]))
        opt = keras.optimizers.Adam(lr=0.1)
        d = tf.keras.layers.Dense(2)
        o = QMobileNetSeparableConv2D(2, 3)
        """)
    assert new == textwrap.dedent("""\
        from hgq_compat import *
        x = keras.ops.convert_to_numpy(keras.ops.convert_to_tensor([1.5], dtype=keras.backend.floatx()))
        opt = keras.optimizers.Adam(learning_rate=0.1)
        d = keras.layers.Dense(2)
        o = QMobileNetSeparableConv2D(2, 3)
        """)
    assert findings == [
        "x.py:5: QMobileNetSeparableConv2D (from `from qkeras import *`): not ported; use "
        "QDepthwiseConv2D followed by a 1x1 QConv2D"
    ]
    ns: dict = {}
    exec(
        new.replace("o = QMobileNetSeparableConv2D(2, 3)\n", ""), ns
    )  # keras, K, tf come from hgq_compat's star import
    assert ns["x"].tolist() == [1.5] and isinstance(ns["d"], keras.layers.Dense)


def test_idempotent(tmp_path):
    for f in EXAMPLES.glob("*.py"):
        shutil.copy(f, tmp_path / f.name)
    main(["migrate", str(tmp_path)])
    first = {f.name: f.read_text() for f in tmp_path.glob("*.py")}
    assert first != {f.name: f.read_text() for f in EXAMPLES.glob("*.py")}
    main(["migrate", str(tmp_path)])
    assert {f.name: f.read_text() for f in tmp_path.glob("*.py")} == first
    assert len(list(tmp_path.glob("*.bak*"))) == 4  # the second run wrote no backups: nothing changed


def test_dry_run_backup_and_exit_status(tmp_path, capsys):
    path = tmp_path / "s.py"
    original = "from qkeras import QDense\n"
    path.write_text(original)
    assert main(["migrate", "--dry-run", str(path)]) == 0
    out = capsys.readouterr().out
    assert "-from qkeras import QDense\n+from hgq_compat import QDense\n" in out
    assert path.read_text() == original and not list(tmp_path.glob("*.bak*"))
    assert main(["migrate", str(path)]) == 0
    assert path.read_text() == "from hgq_compat import QDense\n"
    assert (tmp_path / "s.py.bak").read_text() == original
    path.write_text(original)
    assert main(["migrate", str(path)]) == 0
    assert (tmp_path / "s.py.bak").read_text() == original and (tmp_path / "s.py.bak.1").read_text() == original
    other = tmp_path / "t.py"
    other.write_text("import tensorflow.compat.v1 as tf\n")
    assert main(["migrate", "--no-backup", str(other)]) == 1
    assert not (tmp_path / "t.py.bak").exists()
    assert main(["migrate", str(tmp_path / "missing.py")]) == 1
    assert f"{tmp_path / 'missing.py'}: no such file" in capsys.readouterr().err


def test_unparseable_file_is_reported_and_untouched(tmp_path, capsys):
    bad = tmp_path / "bad.py"
    good = tmp_path / "good.py"
    bad.write_text("from qkeras import QDense\nprint 'python 2'\n")
    good.write_text("from qkeras import QDense\n")
    assert main(["migrate", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:2: cannot parse" in err
    assert bad.read_text() == "from qkeras import QDense\nprint 'python 2'\n" and not (tmp_path / "bad.py.bak").exists()
    assert good.read_text() == "from hgq_compat import QDense\n"


def test_notebook(tmp_path):
    notebook = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# from qkeras import QDense\n", "text"]},
            {
                "cell_type": "code",
                "execution_count": 1,
                "metadata": {"tags": ["a"]},
                "outputs": [{"name": "stdout", "output_type": "stream", "text": ["tf.keras\n"]}],
                "source": [
                    "%matplotlib inline\n",
                    "from qkeras import QDense  # q\n",
                    "import tensorflow as tf\n",
                    "from tensorflow.keras import backend as K",
                ],
            },
            {
                "cell_type": "code",
                "execution_count": 2,
                "metadata": {},
                "outputs": [],
                "source": ["x = tf.keras.layers.Dense(2)\n", "!ls\n", "opt = tf.keras.optimizers.Adam(lr=0.1)"],
            },
            {
                "cell_type": "code",
                "execution_count": 3,
                "metadata": {},
                "outputs": [],
                "source": ["%%bash\n", "echo from qkeras import QDense\n"],
            },
            {
                "cell_type": "code",
                "execution_count": 4,
                "metadata": {},
                "outputs": [],
                "source": ["%%time\n", "y = K.eval(x)"],
            },
        ],
        "metadata": {"kernelspec": {"name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(notebook, indent=1) + "\n")
    assert main(["migrate", "--no-backup", str(path)]) == 0
    new = json.loads(path.read_text())
    assert new["cells"][1]["source"] == [
        "%matplotlib inline\n",
        "from hgq_compat import QDense  # q\n",
        "import tensorflow as tf\n",
        "from keras import backend as K",
    ]
    assert new["cells"][2]["source"] == [
        "import keras\n",
        "x = keras.layers.Dense(2)\n",
        "!ls\n",
        "opt = keras.optimizers.Adam(learning_rate=0.1)",
    ]
    assert new["cells"][3] == notebook["cells"][3]  # %%bash: not Python
    assert new["cells"][4]["source"] == ["%%time\n", "y = keras.ops.convert_to_numpy(x)"]
    for cell, old in zip(new["cells"], notebook["cells"]):
        assert {k: v for k, v in cell.items() if k != "source"} == {k: v for k, v in old.items() if k != "source"}
    assert new["cells"][0] == notebook["cells"][0] and new["metadata"] == notebook["metadata"]
    assert path.read_text().startswith('{\n "cells"')  # the original indent
    assert main(["migrate", str(path)]) == 0 and not (tmp_path / "n.ipynb.bak").exists()  # idempotent


def test_notebook_with_an_unparseable_cell_is_untouched(tmp_path, capsys):
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "outputs": [],
                "execution_count": None,
                "source": ["from qkeras import QDense\n"],
            },
            {
                "cell_type": "code",
                "metadata": {},
                "outputs": [],
                "execution_count": None,
                "source": ["x = 1\n", "print 'python 2'\n"],
            },
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "bad.ipynb"
    text = json.dumps(notebook, indent=1)
    path.write_text(text)
    assert main(["migrate", str(path)]) == 1
    assert f"{path}:cell 2:line 2: cannot parse" in capsys.readouterr().err
    assert path.read_text() == text and not (tmp_path / "bad.ipynb.bak").exists()


# ---------------------------------------------------------------------------- QKeras' examples, migrated and run


@pytest.fixture
def synthetic_mnist(monkeypatch, tmp_path):
    """mnist.load_data -> small seeded uint8 arrays (no network); fit() runs one epoch; cwd and
    temporary folders in tmp_path."""
    rng = np.random.default_rng(7)

    def load_data(*args, **kwargs):
        return (
            (rng.integers(0, 256, (128, 28, 28), dtype=np.uint8), rng.integers(0, 10, 128, dtype=np.uint8)),
            (rng.integers(0, 256, (32, 28, 28), dtype=np.uint8), rng.integers(0, 10, 32, dtype=np.uint8)),
        )

    fit = keras.Model.fit

    def fit_one_epoch(self, *args, **kwargs):
        kwargs["epochs"] = kwargs.get("initial_epoch", 0) + 1
        kwargs["verbose"] = 0
        return fit(self, *args, **kwargs)

    import tempfile

    monkeypatch.setattr(keras.datasets.mnist, "load_data", load_data)
    monkeypatch.setattr(keras.Model, "fit", fit_one_epoch)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _migrated(tmp_path: Path, name: str, capsys) -> tuple[Path, int, str]:
    path = tmp_path / name
    shutil.copy(EXAMPLES / name, path)
    status = main(["migrate", "--no-backup", str(path)])
    return path, status, capsys.readouterr().err


def test_example_mnist_trains(synthetic_mnist, capsys):
    path, status, err = _migrated(synthetic_mnist, "example_mnist.py", capsys)
    assert status == 1 and f"{path}:41: tf.compat.v1" in err  # `import tensorflow.compat.v1 as tf` (unused)
    ns = runpy.run_path(str(path), run_name="__main__")
    assert len(ns["history"].history["loss"]) == 1 and np.isfinite(ns["history"].history["loss"][0])
    p_test = np.fromfile(synthetic_mnist / "p_test.bin", dtype=np.float32)
    assert p_test.shape == (32 * 10,) and np.all(np.isfinite(p_test))
    assert ns["all_weights"].size == ns["model"].count_params()
    decay = keras.optimizers.schedules.deserialize(ns["OPTIMIZER"].get_config()["learning_rate"])  # Adam(lr, decay)
    assert float(decay(4)) == pytest.approx(0.0001 / (1 + 0.000025 * 4), rel=1e-6)


def test_example_act_runs(synthetic_mnist, capsys):
    path, status, err = _migrated(synthetic_mnist, "example_act.py", capsys)
    assert status == 0, err
    runpy.run_path(str(path), run_name="__main__")
    out = capsys.readouterr().out
    assert " a = [0.1943]" in out and "qa = [0.1875]" in out  # quantized_relu(6,2): step 1/16
    assert "qb_111 = [-1. -1. -1. -1. -1.  1.  1.  1.  1.  1.  1.]" in out  # quantized_bits(1,1,1): +-1


def test_example_keras_to_qkeras_runs(synthetic_mnist, capsys):
    path, status, err = _migrated(synthetic_mnist, "example_keras_to_qkeras.py", capsys)
    assert status == 0, err
    ns = runpy.run_path(str(path), run_name="__main__")
    qmodel = ns["qmodel"]
    assert [type(qmodel.get_layer(n)).__name__ for n in ("conv2d_0_m", "act0_m", "dense")] == [
        "QConv2D",
        "QActivation",
        "QDense",
    ]
    dumped = sorted(synthetic_mnist.glob("quantized_model_dump-*/*.bin"))
    assert [p.name for p in dumped] == ["act0_m.bin", "act1_m.bin", "act2_m.bin", "input0.bin", "input1.bin"]
    act2 = np.fromfile(dumped[2], dtype=np.float32)
    assert act2.size == 10 * int(np.prod(qmodel.get_layer("act2_m").output.shape[1:]))


def test_example_prune_reports_tfmot(tmp_path, capsys):
    path, status, err = _migrated(tmp_path, "example_mnist_prune.py", capsys)
    assert status == 1
    assert [line for line in (39, 40, 41) if f"{path}:{line}: tensorflow_model_optimization" in err] == [39, 40, 41]
    assert "from hgq_compat import QDense" in path.read_text()
