"""Write the bad-input corpus next to this file (deterministic; run from the repository root:
``python tests/bad_inputs/make_corpus.py``). ``cases.json`` lists each case: its input files,
the words the error must contain, and why the input is bad. ``@SENTINEL@`` in a file is replaced
by the path of a sentinel file when the test runs; its contents must never be read."""

from __future__ import annotations

import json
import pathlib
import zipfile

import h5py
import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
MODELS = HERE.parent / "fixtures" / "qkeras_goldens" / "models"
V3 = HERE.parent / "fixtures" / "published" / "qkeras-v3_3layer.keras"


def sequential(*layers, shape=(4,)) -> dict:
    return {
        "class_name": "Sequential",
        "keras_version": "2.4.0",
        "backend": "tensorflow",
        "config": {
            "name": "hostile",
            "layers": [
                {
                    "class_name": "InputLayer",
                    "config": {"batch_input_shape": [None, *shape], "dtype": "float32", "name": "x"},
                },
                *layers,
            ],
        },
    }


def dense(name: str, units: int = 2, **extra) -> dict:
    return {"class_name": "Dense", "config": {"name": name, "units": units, "activation": "linear", **extra}}


def write_json(name: str, obj: dict) -> None:
    (HERE / name).write_text(json.dumps(obj, indent=1) + "\n")


def mlp_with(edit) -> dict:
    cfg = json.loads((MODELS / "mlp.json").read_text())
    edit(cfg["config"]["layers"])
    return cfg


def main() -> None:
    cases = []

    def case(name, files, expect, why):
        if len(files) == 1 and files[0].endswith(".json"):
            files = [*files, "empty_weights.h5"]  # so that the model itself is what fails
        cases.append({"name": name, "files": files, "expect": expect, "why": why})

    with h5py.File(HERE / "empty_weights.h5", "w") as f:
        f.attrs["layer_names"] = np.array([], dtype="S")

    lam = {
        "class_name": "Lambda",
        "config": {
            "name": "evil",
            "function": ["4wEAAAAAAAAA", None, None],
            "function_type": "lambda",
            "module": "builtins",
            "arguments": {},
        },
    }
    write_json("lambda.json", sequential(dense("d1"), lam))
    case("lambda", ["lambda.json"], ["layer 'evil' (Lambda)", "run Python code"], "marshalled Python bytecode")

    lookup = {"class_name": "StringLookup", "config": {"name": "lookup", "vocabulary": "@SENTINEL@", "dtype": "string"}}
    write_json("stringlookup_path.json", sequential(lookup, shape=(1,)))
    case(
        "stringlookup_path",
        ["stringlookup_path.json"],
        ["layer 'lookup' (StringLookup)", "@SENTINEL@"],
        "vocabulary read from a file outside the model",
    )

    nested = sequential(
        dense("d1"),
        {
            "class_name": "Sequential",
            "config": {
                "name": "inner",
                "layers": [{"class_name": "IntegerLookup", "config": {"name": "ilookup", "vocabulary": "@SENTINEL@"}}],
            },
        },
    )
    write_json("integerlookup_nested.json", nested)
    case(
        "integerlookup_nested",
        ["integerlookup_nested.json"],
        ["layer 'ilookup' (IntegerLookup)", "@SENTINEL@"],
        "the file-reading layer hides in a nested model",
    )

    write_json(
        "textvectorization_path.json",
        sequential(
            {"class_name": "TextVectorization", "config": {"name": "tv", "vocabulary": "@SENTINEL@"}}, shape=(1,)
        ),
    )
    case(
        "textvectorization_path", ["textvectorization_path.json"], ["layer 'tv' (TextVectorization)"], "vocabulary file"
    )

    write_json(
        "tfsmlayer.json",
        sequential(
            {
                "class_name": "TFSMLayer",
                "config": {"name": "savedmodel", "filepath": "@SENTINEL@", "call_endpoint": "serve"},
            }
        ),
    )
    case(
        "tfsmlayer",
        ["tfsmlayer.json"],
        ["layer 'savedmodel' (TFSMLayer)", "SavedModel"],
        "loads and runs a TensorFlow SavedModel from a path",
    )

    write_json(
        "function_reference.json",
        sequential(
            dense(
                "d1",
                activation={
                    "module": "keras.layers",
                    "class_name": "function",
                    "config": "TFSMLayer",
                    "registered_name": "function",
                },
            )
        ),
    )
    case(
        "function_reference",
        ["function_reference.json"],
        ["layer 'd1' (TFSMLayer)"],
        "a layer class smuggled in as an activation function",
    )

    write_json(
        "nonmodeling_function.json",
        sequential(
            dense(
                "d1",
                activation={
                    "module": "keras.saving",
                    "class_name": "function",
                    "config": "load_model",
                    "registered_name": "function",
                },
            )
        ),
    )
    case(
        "nonmodeling_function",
        ["nonmodeling_function.json"],
        ["layer 'd1' (Dense)"],
        "keras.saving.load_model as an activation (Keras' safe mode refuses it)",
    )

    write_json("huge_units.json", sequential(dense("wide", units=10**9)))
    case("huge_units", ["huge_units.json"], ["layer 'wide' (Dense)", "corrupt or hostile"], "a kernel of 4e9 weights")

    write_json("huge_kernel.json", sequential(dense("wide", units=100_000), shape=(100_000,)))
    case(
        "huge_kernel",
        ["huge_kernel.json"],
        ["layer 'wide' (Dense)", "10,000,000,000 weights"],
        "each number is plausible, the kernel (1e10 weights) is not",
    )

    write_json("huge_shape.json", sequential(dense("d1"), shape=(10**12,)))
    case("huge_shape", ["huge_shape.json"], ["layer 'd1' (Dense)", "dimension above"], "an input of 1e12 features")

    deep = "quantized_bits(alpha=" * 40 + "1" + ")" * 40
    write_json("deep_quantizer_string.json", mlp_with(lambda layers: layers[1]["config"].update(activation=deep)))
    case(
        "deep_quantizer_string",
        ["deep_quantizer_string.json", str(MODELS.relative_to(HERE.parent.parent) / "mlp_weights.h5")],
        ["layer 'q_in' (QActivation)", "nested deeper than 16 levels at position"],
        "RecursionError before",
    )

    long = "quantized_bits(" + "1," * 5000 + "1)"
    write_json("long_quantizer_string.json", mlp_with(lambda layers: layers[1]["config"].update(activation=long)))
    case(
        "long_quantizer_string",
        ["long_quantizer_string.json", str(MODELS.relative_to(HERE.parent.parent) / "mlp_weights.h5")],
        ["layer 'q_in' (QActivation)", "characters, more than the 4096 accepted"],
        "the error echoed it all",
    )

    bad_bits = mlp_with(lambda layers: layers[1]["config"].update(activation="quantized_bits(4.5,0.5)"))
    write_json("fractional_bits.json", bad_bits)
    case(
        "fractional_bits",
        ["fractional_bits.json", str(MODELS.relative_to(HERE.parent.parent) / "mlp_weights.h5")],
        ["layer 'q_in' (QActivation)", "quantized_bits: bits=4.5 is not accepted"],
        "non-integer bitwidth",
    )

    po2 = mlp_with(lambda layers: layers[1]["config"].update(activation="quantized_po2(1000000000)"))
    write_json("po2_huge_bits.json", po2)
    case(
        "po2_huge_bits",
        ["po2_huge_bits.json", str(MODELS.relative_to(HERE.parent.parent) / "mlp_weights.h5")],
        ["layer 'q_in' (QActivation)", "quantized_po2: bits=1000000000 is not accepted"],
        "took 10-20 s to fail",
    )

    deep_cfg: object = "x"
    for _ in range(200):
        deep_cfg = {"a": deep_cfg}
    (HERE / "deep_config.json").write_text(json.dumps(sequential(dense("d1", kernel_regularizer=deep_cfg))) + "\n")
    case("deep_config", ["deep_config.json"], ["nested more than 100 levels"], "deeply nested config")

    (HERE / "deep_json.json").write_text('{"class_name": "Sequential", "config": ' + "[" * 5_000 + "]" * 5_000 + "}\n")
    case("deep_json", ["deep_json.json"], ["deep_json.json", "nested too deeply"], "RecursionError in json")

    # --- truncated and corrupt files
    data = (MODELS / "mlp.h5").read_bytes()
    (HERE / "truncated.h5").write_bytes(data[: len(data) // 3])
    case("truncated_h5", ["truncated.h5"], ["truncated.h5", "truncated"], "cut after a third")
    data = V3.read_bytes()
    (HERE / "truncated.keras").write_bytes(data[: len(data) // 3])
    case("truncated_keras", ["truncated.keras"], ["truncated.keras", "truncated"], "cut after a third")

    with h5py.File(HERE / "lambda.h5", "w") as f:
        f.attrs["model_config"] = json.dumps(sequential(dense("d1"), lam))
        f.attrs["keras_version"] = "2.4.0"
        root = f.create_group("model_weights")
        root.attrs["layer_names"] = np.array([b"d1"], dtype="S")
    case("lambda_h5", ["lambda.h5"], ["layer 'evil' (Lambda)"], "Lambda in a full-model .h5")

    with zipfile.ZipFile(HERE / "lookup.keras", "w") as zf:
        for member, text in (
            ("metadata.json", json.dumps({"keras_version": "3.15.0"})),
            ("config.json", json.dumps(sequential(lookup, shape=(1,)))),
        ):
            zf.writestr(zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0)), text)  # byte-identical reruns
    case("lookup_keras", ["lookup.keras"], ["layer 'lookup' (StringLookup)"], "vocabulary path in a .keras archive")

    # --- fuzz seeds: right signatures, garbage bodies; wrong types in the config
    rng = np.random.default_rng(13)
    (HERE / "garbage.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + rng.bytes(2000))
    case("garbage_h5", ["garbage.h5"], ["garbage.h5"], "HDF5 signature, random body")
    (HERE / "garbage.keras").write_bytes(b"PK\x03\x04" + rng.bytes(2000))
    case("garbage_keras", ["garbage.keras"], ["garbage.keras"], "zip signature, random body")
    write_json("layers_not_a_list.json", {"class_name": "Sequential", "config": {"name": "m", "layers": "x"}})
    case("layers_not_a_list", ["layers_not_a_list.json"], ["layers_not_a_list.json"], "wrong type")
    write_json("units_string.json", sequential(dense("d1", units="many")))
    case("units_string", ["units_string.json"], ["layer 'd1' (Dense)"], "wrong type")
    write_json("huge_name.json", sequential(dense("n" * 100_000, units="many")))
    case("huge_name", ["huge_name.json"], ["layer 'nnnnnnnn", "(Dense)"], "a 100,000-character name is not echoed")
    write_json(
        "bad_quantizer_syntax.json",
        mlp_with(lambda layers: layers[1]["config"].update(activation="quantized_bits(4,0,$)")),
    )
    case(
        "bad_quantizer_syntax",
        ["bad_quantizer_syntax.json", str(MODELS.relative_to(HERE.parent.parent) / "mlp_weights.h5")],
        ["layer 'q_in' (QActivation)", "unexpected character '$' at position 19"],
        "fuzz seed",
    )
    (HERE / "not_utf8.json").write_bytes(b"{\xff\xfe" + rng.bytes(100))
    case("not_utf8", ["not_utf8.json"], ["not_utf8.json"], "binary junk named .json")

    (HERE / "cases.json").write_text(json.dumps({"cases": cases}, indent=1) + "\n")


if __name__ == "__main__":
    main()
