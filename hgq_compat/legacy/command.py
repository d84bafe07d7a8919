"""``hgq-compat convert IN [WEIGHTS] -o OUT.keras [--hgq] [--check-data X.npy|.npz]``.

Prints one table row per layer (QKeras quantizers, the hgq_compat quantizers they became,
bits, parameters), optionally a verification line, and writes the model atomically: a
temporary file in the target directory renamed over ``OUT`` (an existing ``OUT`` only with
``--force``). On any error: a message naming the file and the layer on stderr, exit status 1,
and no output file; interrupted (SIGINT, SIGTERM): one line, exit status 130 / 143, no output.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any, Sequence

import numpy as np

from .._atomic import atomic_path
from .reader import LegacyConversionError


class CommandError(Exception):
    pass


def _check_output(path: str, force: bool = False) -> str:
    out = os.path.abspath(path)
    if not out.endswith(".keras"):
        raise CommandError(f"{path}: the output must be a Keras 3 archive ending in '.keras'")
    if os.path.isdir(out):
        raise CommandError(f"{path}: exists and is a folder, not a file")
    if os.path.lexists(out) and not force:
        raise CommandError(f"{path}: exists; pass --force to replace it")
    directory = os.path.dirname(out)
    if not os.path.isdir(directory):
        raise CommandError(f"{path}: the output directory {directory} does not exist")
    if not os.access(directory, os.W_OK):
        raise CommandError(f"{path}: the output directory {directory} is not writable")
    return out


def check_data_problem(x: Any, input_shape: Sequence[Any] | None = None) -> str | None:
    """Why ``x`` cannot be a model's inputs (empty, not numbers, wrong shape), or None.

    ``input_shape``: the model's input shape without the batch axis (None entries match anything)."""
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        return f"holds {x.dtype} values (dtype kind {x.dtype.kind!r}); expected numbers (float or int)"
    if x.ndim == 0 or x.shape[0] == 0:
        return f"holds no inputs (shape {x.shape}); expected an array of shape (n, ...) with n >= 1"
    if input_shape is not None:
        want = tuple(input_shape)
        if len(x.shape) - 1 != len(want) or any(w is not None and w != s for w, s in zip(want, x.shape[1:])):
            dims = ", ".join("?" if w is None else str(w) for w in want)
            return f"has shape {x.shape} but the model expects inputs of shape (n, {dims})"
    return None


def load_check_data(path: str) -> tuple[Any, Any]:
    """(inputs, reference outputs or None) from a ``.npy`` or ``.npz`` file; CommandError naming
    the file if it holds no inputs or no numbers."""
    x, y = _load_check_arrays(path)
    problem = check_data_problem(x)
    if problem is None and y is not None and np.asarray(y).dtype.kind not in "biuf":
        problem = f"reference outputs hold {np.asarray(y).dtype} values; expected numbers"
    if problem is not None:
        raise CommandError(f"{path}: check data {problem}")
    return x, y


def _load_check_arrays(path: str) -> tuple[Any, Any]:
    if not os.path.exists(path):
        raise CommandError(f"{path}: check data file does not exist")
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise CommandError(f"{path}: cannot read check data ({type(exc).__name__}: {exc})") from exc
    if isinstance(data, np.ndarray):
        return data, None
    with data:
        keys = list(data.keys())
        x_key = next((k for k in ("x", "X", "inputs", "input") if k in keys), None)
        if x_key is None:
            if len(keys) == 1:
                x_key = keys[0]
            else:
                raise CommandError(f"{path}: no inputs in the .npz (expected key 'x' or 'inputs'; found {keys})")
        y_key = next((k for k in ("y", "outputs", "output") if k in keys and k != x_key), None)
        return np.asarray(data[x_key]), (np.asarray(data[y_key]) if y_key else None)


def _as_list(y: Any) -> list[np.ndarray]:
    if isinstance(y, (list, tuple)):
        return [np.asarray(v, dtype=np.float64) for v in y]
    return [np.asarray(y, dtype=np.float64)]


def compare(y: Any, ref: Any) -> tuple[float, float, int]:
    """(max abs difference, fraction of outputs exactly equal, number of outputs)."""
    ys, rs = _as_list(y), _as_list(ref)
    if len(ys) != len(rs) or any(a.shape != b.shape for a, b in zip(ys, rs)):
        raise CommandError(
            f"reference outputs have shapes {[r.shape for r in rs]} but the model gives {[a.shape for a in ys]}"
        )
    diffs = np.concatenate([np.abs(a - b).ravel() for a, b in zip(ys, rs)])
    n = int(diffs.size)
    return (float(diffs.max()) if n else 0.0), (float(np.mean(diffs == 0)) if n else 1.0), n


def format_table(rows: list) -> str:
    header = ("layer", "class", "QKeras quantizer(s)", "hgq_compat quantizer(s)", "bits", "params")
    body = [(r.layer, r.class_name, r.qkeras_quantizers, r.hgq_compat_quantizers, r.bits, str(r.params)) for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(header)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    out = [line(header), line(tuple("-" * w for w in widths))]
    out += [line(b) for b in body]
    return "\n".join(out)


def _verify(model: Any, tmp: str, check: tuple, args: Any, out: str, stdout: Any) -> None:
    """Print the verification line; CommandError if the model does not reproduce the check data."""
    x, ref = check
    if len(model.inputs) == 1:
        problem = check_data_problem(x, tuple(model.inputs[0].shape[1:]))
        if problem is not None:
            raise CommandError(f"{args.check_data}: check data {problem}")
    y = model.predict(x, verbose=0)
    if ref is not None:
        maxdiff, frac, n = compare(y, ref)
        status = (
            "OK"
            if np.allclose(
                np.concatenate([v.ravel() for v in _as_list(y)]),
                np.concatenate([v.ravel() for v in _as_list(ref)]),
                rtol=1e-5,
                atol=1e-6,
            )
            else "MISMATCH"
        )
        print(
            f"verify {status}: {n} outputs vs reference outputs in {args.check_data}: "
            f"max |diff| = {maxdiff:.3g}, exact match {frac:.2%}",
            file=stdout,
        )
    else:
        import keras

        again = keras.saving.load_model(tmp, compile=False)
        y2 = again.predict(x, verbose=0)
        maxdiff, frac, n = compare(y2, y)
        status = "OK" if maxdiff == 0 else "MISMATCH"
        print(
            f"verify {status}: {n} outputs of the saved {os.path.basename(out)} reloaded vs the "
            f"converted model (no reference outputs in {args.check_data}): max |diff| = {maxdiff:.3g}, "
            f"exact match {frac:.2%}",
            file=stdout,
        )
    if status != "OK":
        raise CommandError(f"{args.input}: verification failed; {args.output} not written")


def run_convert(args: Any, stdout: Any = None, stderr: Any = None) -> int:
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    try:
        out = _check_output(args.output, getattr(args, "force", False))
        for p in (args.input, args.weights):
            if p is not None and os.path.abspath(p) == out:
                raise CommandError(f"{args.output}: the output would overwrite the input {p}")
        check = load_check_data(args.check_data) if args.check_data else None

        from .converter import convert

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            result = convert(args.input, args.weights, hgq=args.hgq)
        for w in caught:
            if issubclass(w.category, UserWarning) and str(w.message).startswith(
                tuple(str(p) for p in (args.input, args.weights) if p)
            ):
                print(f"hgq-compat convert: warning: {w.message}", file=stderr)
            else:
                warnings.showwarning(w.message, w.category, w.filename, w.lineno)
        model = result.model
        print(
            f"converted {args.input}"
            + (f" + {args.weights}" if args.weights else "")
            + f" ({result.source.kind}, Keras {result.source.keras_version or '?'})"
            + (" in HGQ mode" if args.hgq else ""),
            file=stdout,
        )
        print(format_table(result.rows), file=stdout)
        total = sum(r.params for r in result.rows)
        print(f"total parameters: {total}", file=stdout)

        with atomic_path(out) as tmp:  # renamed over OUT only after the verification passed
            model.save(tmp)
            if check is not None:
                _verify(model, tmp, check, args, out, stdout)
        print(f"wrote {args.output}", file=stdout)
        return 0
    except (LegacyConversionError, CommandError) as exc:
        print(f"hgq-compat convert: error: {exc}", file=stderr)
        return 1
    except NotImplementedError as exc:
        print(f"hgq-compat convert: error: {args.input}: {exc}", file=stderr)
        return 1
    except Exception as exc:  # anything unexpected: still name the file, still no output
        print(f"hgq-compat convert: error: {args.input}: {type(exc).__name__}: {str(exc)[:1000]}", file=stderr)
        return 1


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "convert",
        help="convert a saved QKeras model (.h5, .json + weights, qkeras-v3 .keras) "
        "into a Keras 3 hgq_compat .keras file",
    )
    p.add_argument("input", metavar="IN", help="QKeras model: full-model .h5, model .json, or qkeras-v3 .keras")
    p.add_argument("weights", metavar="WEIGHTS", nargs="?", default=None, help="weights .h5 (for a .json model)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.keras", help="output Keras 3 archive")
    p.add_argument("--force", action="store_true", help="replace OUT.keras if it exists")
    p.add_argument(
        "--hgq",
        action="store_true",
        help="HGQ mode: trainable per-element bitwidths, initialised so the outputs equal the plain conversion",
    )
    p.add_argument(
        "--check-data",
        metavar="X.npy|.npz",
        default=None,
        help="inputs to verify the converted model on; an .npz may hold reference outputs under "
        "'y' or 'outputs' (else the saved file is reloaded and compared)",
    )
    p.set_defaults(func=run_convert)
