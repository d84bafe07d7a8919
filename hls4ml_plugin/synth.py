"""Write, compile and verify an hls4ml project for an hgq_compat model (``hgq-compat synth``).

The project is built in a temporary sibling folder and renamed into place only when the C
simulation has compiled and been compared with Keras, so a failed or interrupted run never
leaves a half-written project. The report's first line always states whether the C simulation
equals Keras bit for bit.
"""

from __future__ import annotations

import json
import os
import re
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hgq_compat._atomic import atomic_dir, check_output_dir

from .ir import Attr

N_RANDOM_DEFAULT = 10_000


class SynthError(Exception):
    """A bad input to `synthesize` (file, folder or data), with a message naming it."""


@dataclass
class LayerRow:
    """One row of the synthesis table: a Keras layer and what hls4ml made of it."""

    name: str
    class_name: str
    weight_bits: tuple[float, float, float] | None  # min, mean, max bits per weight element (Keras quantizers)
    result_bits: tuple[float, float, float] | None  # min, mean, max bits per output element (HLS types)
    ebops: float | None
    hls_types: str


@dataclass
class OutputDifference:
    """How the C simulation's outputs differ from Keras' (same shape, (n, ...) with n inputs)."""

    max_abs_diff: float  # largest |hls - keras| over every output
    n_differ: int  # outputs (elements) that are not equal
    n_outputs: int
    per_output: list[dict[str, float]]  # per output unit (features flattened): max_abs_diff, fraction_differ

    @property
    def fraction_differ(self) -> float:
        return self.n_differ / self.n_outputs if self.n_outputs else 0.0


def measure_difference(y_keras: np.ndarray, y_hls: np.ndarray) -> OutputDifference:
    """`OutputDifference` of ``y_hls`` against ``y_keras`` (float64 arithmetic)."""
    a = np.asarray(y_keras, np.float64)
    b = np.asarray(y_hls, np.float64).reshape(a.shape)
    diff = np.abs(b - a).reshape(a.shape[0], -1)
    differ = (a != b).reshape(a.shape[0], -1)
    per = [
        {"max_abs_diff": float(diff[:, j].max(initial=0.0)), "fraction_differ": float(differ[:, j].mean())}
        for j in range(diff.shape[1])
    ]
    return OutputDifference(float(diff.max(initial=0.0)), int(differ.sum()), int(a.size), per)


@dataclass
class FoldingChange:
    """Keras outputs before vs after `convert_to_folded_model` on the check inputs."""

    folded_layers: list[str]
    max_abs_diff: float
    argmax_agreement: float | None  # fraction of inputs whose argmax over the last axis is unchanged


@dataclass
class SynthReport:
    """Outcome of `synthesize`."""

    output_dir: str
    backend: str
    io_type: str
    n_inputs: int
    n_outputs: int
    mismatches: int
    input_source: str
    convert_seconds: float
    compile_seconds: float
    warnings: list[str] = field(default_factory=list)
    layers: list[LayerRow] = field(default_factory=list)
    input_precision: str | None = None  # the declared input type, e.g. 'fixed<16,6,TRN,WRAP>'
    inexact: dict[str, str] = field(default_factory=dict)  # approximated Keras layer -> reason (allow_inexact)
    difference: OutputDifference | None = None  # measured, always filled by synthesize
    folding: FoldingChange | None = None  # fold_batchnorm: what folding changed in Keras

    @property
    def exact(self) -> bool:
        """True when the C simulation equalled Keras on every checked output, no layer was
        approximated and no warning says exactness could not be guaranteed."""
        return self.mismatches == 0 and not self.warnings and not self.inexact

    def status_line(self) -> str:
        entry = f" (inputs quantized to {self.input_precision} on entry)" if self.input_precision else ""
        if self.folding:
            entry += " (Keras: the batch-norm-folded model)"
        if self.inexact:
            d = self.difference
            return (
                f"INEXACT (allow_inexact): max abs diff {d.max_abs_diff:.6g} between the C simulation and Keras; "
                f"{d.n_differ} of {d.n_outputs} outputs differ ({100 * d.fraction_differ:.3g}%) on "
                f"{self.n_inputs} inputs ({self.input_source}){entry}; approximated: {', '.join(self.inexact)}"
            )
        if self.mismatches:
            return (
                f"NOT EXACT: {self.mismatches} of {self.n_outputs} outputs differ between the C simulation and "
                f"Keras ({self.n_inputs} inputs, {self.input_source}){entry}"
            )
        if self.warnings:
            return (
                f"EXACTNESS NOT GUARANTEED: 0 mismatches on {self.n_inputs} inputs ({self.input_source}){entry}, "
                f"but {len(self.warnings)} warning(s): {self.warnings[0]}"
            )
        return (
            f"EXACT: the C simulation equals Keras bit for bit on {self.n_inputs} inputs "
            f"({self.n_outputs} outputs, {self.input_source}){entry}"
        )

    def format(self) -> str:
        header = ("layer", "class", "weight bits min/mean/max", "result bits min/mean/max", "EBOPs", "HLS types")
        body = [
            (
                r.name,
                r.class_name,
                _fmt_bits(r.weight_bits),
                _fmt_bits(r.result_bits),
                "-" if r.ebops is None else f"{r.ebops:,.0f}",
                r.hls_types,
            )
            for r in self.layers
        ]
        widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(header)]
        lines = [self.status_line(), ""]
        lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in body]
        total = sum(r.ebops for r in self.layers if r.ebops is not None)
        lines += [
            "",
            f"total EBOPs: {total:,.0f}",
            f"backend {self.backend}, {self.io_type}; project: {self.output_dir}",
            f"convert {self.convert_seconds:.1f} s, compile {self.compile_seconds:.1f} s",
        ]
        if self.input_precision:
            lines.append(
                f"inputs: quantized to {self.input_precision} on entry (the hls4ml input type); the Keras "
                "reference is the model with that input quantizer first"
            )
        if self.folding:
            fc = self.folding
            agree = "-" if fc.argmax_agreement is None else f"{100 * fc.argmax_agreement:.2f}%"
            lines.append(
                f"batch norm folded into {', '.join(fc.folded_layers) or 'no layer'}: Keras outputs change by "
                f"at most {fc.max_abs_diff:.6g} (argmax agreement {agree}) on the check inputs; the C "
                "simulation is compared with the folded model"
            )
        if self.inexact:
            per = self.difference.per_output
            shown = ", ".join(
                f"[{j}] {p['max_abs_diff']:.3g} / {100 * p['fraction_differ']:.3g}%" for j, p in enumerate(per[:16])
            )
            lines.append(f"per output (max abs diff / outputs differing): {shown}{' ...' if len(per) > 16 else ''}")
            lines += [f"approximated: {reason}" for reason in self.inexact.values()]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status_line(), "exact": self.exact, **asdict(self)}


def _fmt_bits(bits: tuple[float, float, float] | None) -> str:
    return "-" if bits is None else f"{bits[0]:g}/{bits[1]:.2f}/{bits[2]:g}"


def _stats(a: np.ndarray) -> tuple[float, float, float] | None:
    a = np.asarray(a, np.float64).ravel()
    return None if a.size == 0 else (float(a.min()), float(a.mean()), float(a.max()))


def random_inputs(shape: tuple[int, ...], n: int = N_RANDOM_DEFAULT, seed: int = 0) -> np.ndarray:
    """float32 inputs covering every regime of an input quantizer: near-zero values, values at
    exact half steps (rounding ties), typical values and values far out of range (overflow)."""
    rng = np.random.default_rng(seed)
    scale = rng.choice([0.05, 1.0, 4.0, 50.0], size=(n,) + (1,) * len(shape))
    x = rng.normal(0.0, 1.0, (n,) + tuple(shape)) * scale
    n_ties = n // 10
    x[:n_ties] = np.round(rng.normal(0.0, 4.0, (n_ties,) + tuple(shape)) * 32) / 32 + 1 / 64
    return x.astype(np.float32)


def load_model(path: str | os.PathLike, weights: str | os.PathLike | None = None) -> Any:
    """An hgq_compat model from any model file (`hgq_compat.loading.load_model`: ``.keras`` or
    Keras 3 ``.h5`` as saved; QKeras ``.h5``, ``.json`` + weights and qkeras-v3 ``.keras``
    converted), with loading failures reported as `SynthError` naming the file."""
    from hgq_compat._safety import UnsafeModelError
    from hgq_compat.legacy import LegacyConversionError
    from hgq_compat.loading import load_model as load_any

    path = str(path)
    try:
        return load_any(path, weights)
    except (LegacyConversionError, NotImplementedError):
        raise
    except (UnsafeModelError, FileNotFoundError) as exc:
        raise SynthError(str(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - Keras' own loading errors, named with the file
        raise SynthError(f"{path}: cannot load the Keras model ({type(exc).__name__}: {exc})") from exc


def _record_location(tmp: Path, output_dir: Path) -> None:
    """hls4ml's config records where the project lives: point it at the final folder."""
    config = tmp / "hls4ml_config.yml"
    if config.exists():
        text = config.read_text()
        config.write_text(re.sub(r"(?m)^OutputDir:.*$", f"OutputDir: {output_dir}", text))


def node_owners(layer_names: list[str], node_names: list[str]) -> dict[str, list[str]]:
    """hls4ml node names by the Keras layer they come from: the layer of the same name, else the
    layer whose name plus '_' is the longest prefix of the node's ('dense_1_quantizer' belongs to
    'dense_1', not to 'dense'). Nodes in graph order."""
    known = set(layer_names)
    owners: dict[str, list[str]] = {}
    for node in node_names:
        owner = (
            node
            if node in known
            else max((name for name in layer_names if node.startswith(f"{name}_")), key=len, default=None)
        )
        if owner is not None:
            owners.setdefault(owner, []).append(node)
    return owners


def _layer_rows(model: Any, hls_model: Any) -> list[LayerRow]:
    from hgq_compat.training.model import layer_ebops

    from .ir import FixedPointQuantizer

    ebops = layer_ebops(model)
    rows = []
    import keras

    layers = [
        layer
        for layer in model._flatten_layers(include_self=False, recursive=True)
        if layer.__class__.__name__ != "InputLayer" and not isinstance(layer, keras.Model)
    ]
    owned = node_owners([layer.name for layer in layers], [node.name for node in hls_model.graph.values()])
    nodes = {node.name: node for node in hls_model.graph.values()}
    for layer in layers:
        mine = [nodes[name] for name in owned.get(layer.name, [])]
        quantizer = getattr(layer, "output_quantizer", None)
        if not mine and quantizer is None and layer.name not in ebops:
            continue
        weight_bits = _keras_weight_bits(layer)
        result_node = next(
            (n for n in reversed(mine) if isinstance(n, FixedPointQuantizer)), mine[-1] if mine else None
        )
        result_bits = None
        types = []
        if result_node is None and quantizer is not None:  # uniform quantizer fused into the producer's type
            from keras import ops

            result_bits = _stats(np.ravel(ops.convert_to_numpy(quantizer.bits())))
            types.append("fused into the previous layer's result type")
        elif result_node is not None:
            if isinstance(result_node, FixedPointQuantizer):
                result_bits = _stats(np.asarray(result_node.mask_kbi[1]))
                uniform = all(np.unique(np.asarray(a)).size == 1 for a in result_node.mask_kbi)
                types.append("result: quantizer node, " + ("uniform" if uniform else "per-element") + " precision")
            else:
                prec = result_node.get_output_variable().type.precision
                result_bits = (float(prec.width),) * 3
        for node in mine:
            for var in ("weight", "bias"):
                t = node.get_attr(f"{var}_t")
                if t is not None and node.get_attr(f"{var}_data") is not None:
                    types.append(f"{var} {t.precision.definition_cpp()}")
            if not isinstance(node, FixedPointQuantizer):
                types.append(f"result {node.get_output_variable().type.precision.definition_cpp()}")
        types = list(dict.fromkeys(types))  # a layer of many nodes (recurrent: one set per time step) repeats types
        rows.append(
            LayerRow(
                layer.name,
                layer.__class__.__name__,
                weight_bits,
                result_bits,
                ebops.get(layer.name),
                "; ".join(types) or "-",
            )
        )
    return rows


def _keras_weight_bits(layer: Any) -> tuple[float, float, float] | None:
    """min/mean/max bits per element over the layer's non-bias weights (Keras quantizers)."""
    from hgq_compat.report import weight_bits_array

    roles = [r for r in (layer.weight_roles() if hasattr(layer, "weight_roles") else []) if r != "bias"]
    bits = [np.ravel(weight_bits_array(layer, role)) for role in roles]
    return _stats(np.concatenate(bits)) if bits else None


def _check_inputs(in_shape: tuple[int, ...], check_data: Any, n_random: int, precision: Any) -> tuple[np.ndarray, str]:
    """The inputs synth compares on, and how they were chosen: ``check_data`` as float32, or
    ``n_random`` random inputs, half of them on the input type's grid when the inputs are quantized
    on entry (`inputs.grid_inputs`)."""
    if check_data is not None:
        return np.ascontiguousarray(np.asarray(check_data, dtype=np.float32)), "check data"
    if precision is None:
        return random_inputs(in_shape, n_random), f"{n_random} random inputs"
    from .inputs import grid_inputs

    n_grid = n_random // 2
    x = np.concatenate([random_inputs(in_shape, n_random - n_grid), grid_inputs(in_shape, precision, n_grid, 1)])
    return x, f"{n_random} random inputs, {n_grid} of them on the input type's grid or half a step off it"


def synthesize(
    model: Any,
    output_dir: str | os.PathLike,
    backend: str = "Vitis",
    io_type: str = "io_parallel",
    check_data: np.ndarray | None = None,
    n_random: int = N_RANDOM_DEFAULT,
    force: bool = False,
    hls_config: dict | None = None,
    input_precision: Any = None,
    allow_inexact: bool = False,
    fold_batchnorm: bool = False,
    **kwargs: Any,
) -> SynthReport:
    """Write the hls4ml project of ``model`` to ``output_dir``, compile its C simulation (g++)
    and compare it with ``model.predict`` on ``check_data`` (float32 array of model inputs) or,
    if None, on ``n_random`` random inputs. Returns a `SynthReport`; the project is moved into
    ``output_dir`` only after the comparison (atomic). Extra keyword arguments go to
    ``hls4ml.converters.convert_from_keras_model`` (``part``, ``clock_period``, ...).

    ``input_precision`` (e.g. ``'fixed<16,6>'``, see `hls4ml_plugin.convert`): the inputs are
    quantized to that type on entry, in hls4ml and in the Keras reference (the model with that
    input quantizer first); half of the random inputs are then drawn on that type's grid or half
    a step off it (`inputs.grid_inputs`). Without it, a float input takes the input type of the
    hls4ml config (``hls_config``; hls4ml's ``fixed<16,6>`` by default), likewise. The report
    states the type.

    ``fold_batchnorm`` / ``allow_inexact``: see `hls4ml_plugin.convert`. With folding, the report
    gives the change of the Keras outputs from folding (`FoldingChange`); with approximated layers
    its status is INEXACT with the measured `OutputDifference` (also filled when exact).
    """
    from . import convert, quantize_inputs

    if backend not in ("Vivado", "Vitis"):
        raise SynthError(f"backend={backend!r} is not accepted; accepted: 'Vivado', 'Vitis'")
    if io_type not in ("io_parallel", "io_stream"):
        raise SynthError(f"io_type={io_type!r} is not accepted; accepted: 'io_parallel', 'io_stream'")
    precision = None
    if input_precision is not None:
        from .inputs import parse_input_precision

        precision = parse_input_precision(input_precision)
    output_dir = Path(output_dir).absolute()
    check_output_dir(output_dir, force, SynthError, force_hint="pass --force (force=True) to replace it")
    if len(model.inputs) != 1:
        raise NotImplementedError(f"model {model.name!r} has {len(model.inputs)} inputs; synth supports one input")
    in_shape = tuple(model.inputs[0].shape[1:])
    from hgq_compat.legacy.converter import nonfinite_weights

    nonfinite = nonfinite_weights(model)
    for line in nonfinite:
        warnings.warn(f"model {model.name!r}: {line}", stacklevel=2)
    if check_data is not None:
        from hgq_compat.legacy.command import check_data_problem

        problem = check_data_problem(check_data, in_shape)
        if problem is not None:
            raise SynthError(f"check data {problem}")
    with atomic_dir(output_dir) as tmp_name:
        tmp = Path(tmp_name)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            t0 = time.perf_counter()
            hls_model = convert(
                model,
                tmp,
                backend=backend,
                io_type=io_type,
                hls_config=hls_config,
                compile=False,
                input_precision=precision,
                allow_inexact=allow_inexact,
                fold_batchnorm=fold_batchnorm,
                **kwargs,
            )
            reference = hls_model.hgq_compat_keras_model  # model, or model with the input quantizer first
            if precision is None:  # a float input quantized to the type from the hls4ml config
                precision = getattr(reference, Attr.INPUT_PRECISION, None)
            t1 = time.perf_counter()
            hls_model.compile()
            t2 = time.perf_counter()
        x, source = _check_inputs(in_shape, check_data, n_random, precision)
        from . import InputQuantizedWarning

        notes = sorted(
            {
                str(w.message)
                for w in caught
                if not issubclass(w.category, InputQuantizedWarning)
                and ("bit for bit" in str(w.message) or "exact" in str(w.message))
            }
        )
        notes += [
            f"{line}: fixed point has no NaN/inf, so the C simulation cannot equal Keras where they are used"
            for line in nonfinite
        ]
        y_keras = np.asarray(reference.predict(x, verbose=0, batch_size=4096))
        y_hls = np.asarray(hls_model.predict(x)).reshape(y_keras.shape)
        mismatches = int(np.sum(y_keras != y_hls))
        folding = None
        if fold_batchnorm:
            unfolded = model if precision is None else quantize_inputs(model, precision)
            y_orig = np.asarray(unfolded.predict(x, verbose=0, batch_size=4096))
            agree = (
                float(np.mean(np.argmax(y_orig, -1) == np.argmax(y_keras, -1)))
                if y_orig.ndim >= 2 and y_orig.shape[-1] > 1
                else None
            )
            folding = FoldingChange(
                list(hls_model.hgq_compat_folded),
                float(np.max(np.abs(y_orig.astype(np.float64) - y_keras), initial=0.0)),
                agree,
            )
        report = SynthReport(
            str(output_dir),
            backend,
            io_type,
            int(x.shape[0]),
            int(y_keras.size),
            mismatches,
            source,
            t1 - t0,
            t2 - t1,
            notes,
            _layer_rows(reference, hls_model),
            None if precision is None else str(precision),
            dict(hls_model.hgq_compat_inexact),
            measure_difference(y_keras, y_hls),
            folding,
        )
        (tmp / "hgq_compat_report.txt").write_text(report.format() + "\n")
        (tmp / "hgq_compat_report.json").write_text(json.dumps(report.to_dict(), indent=1) + "\n")
        _record_location(tmp, output_dir)
    return report
