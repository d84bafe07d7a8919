"""``hgq-compat migrate PATH...``: rewrite QKeras / Keras 2 scripts and notebooks for hgq_compat on Keras 3.

A LibCST codemod (comments and formatting survive). Rewritten:

- ``qkeras`` imports -> ``hgq_compat`` (same module paths; a submodule or name hgq_compat lacks is
  reported and its import left alone);
- ``tensorflow.keras`` / ``tf.keras`` -> ``keras`` (imports, and attribute chains such as
  ``tf.keras.layers.Dense``, adding ``import keras`` where needed); ``from tensorflow import keras`` ->
  ``import keras``; Keras 2 submodules that moved (``keras.utils.np_utils``, ``keras.layers.core``, ...);
- ``keras.optimizers.*(lr=...)`` -> ``learning_rate=``; ``decay=d`` (ignored by Keras 3) -> the same
  schedule, ``learning_rate=keras.optimizers.schedules.InverseTimeDecay(lr, decay_steps=1, decay_rate=d)``;
- ``K.eval(x)`` / ``K.get_value(x)`` -> ``keras.ops.convert_to_numpy(x)``; ``K.constant(x)`` ->
  ``keras.ops.convert_to_tensor(x, dtype=keras.backend.floatx())``;
- ``t.get_shape()`` -> ``t.shape``; ``t.get_shape().as_list()`` -> ``list(t.shape)``.

Reported with file:line (and left as written) where no mechanical rewrite exists: tfmot pruning,
``fit_generator`` & co., sessions, ``tf.compat.v1``, ``keras.*`` names Keras 3 lacks (``K.sum`` ...),
positional ``self.add_weight(...)``, ``save(..., save_format=...)``. Files are written atomically,
each after a backup ``FILE.bak`` (``FILE.bak.1``, ... when taken) unless ``backup=False``.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import importlib
import importlib.util
import json
import os
import re
import sys
from typing import Iterable, Sequence

import libcst as cst
import libcst.matchers as m
from libcst.helpers import get_full_name_for_node
from libcst.metadata import MetadataWrapper, PositionProvider, QualifiedNameProvider, ScopeProvider

from ._atomic import write_text_atomic

# Keras 2 module paths that moved in Keras 3 (after tensorflow.keras -> keras).
MOVED_MODULES = {
    "keras.utils.np_utils": "keras.utils",
    "keras.utils.generic_utils": "keras.utils",
    "keras.utils.vis_utils": "keras.utils",
    "keras.layers.core": "keras.layers",
    "keras.layers.convolutional": "keras.layers",
    "keras.layers.pooling": "keras.layers",
    "keras.layers.normalization": "keras.layers",
    "keras.layers.recurrent": "keras.layers",
    "keras.layers.merge": "keras.layers",
    "keras.layers.advanced_activations": "keras.layers",
    "keras.layers.embeddings": "keras.layers",
    "keras.layers.experimental.preprocessing": "keras.layers",
    "keras.optimizers.legacy": "keras.optimizers",
}
KERAS_PREFIXES = ("tensorflow.keras", "tensorflow.compat.v2.keras")
REPORTED_MODULES = {
    "tensorflow_model_optimization": "tensorflow_model_optimization (tfmot) needs tf-keras (Keras 2); prune with "
    "HGQ instead (mode='hgq': weights trained to zero bits are pruned)",
    "tensorflow.compat.v1": "tf.compat.v1 (graph mode, sessions) has no Keras 3 counterpart; use eager TF 2 / "
    "keras.ops",
    "tensorflow.python.keras": "tensorflow.python.keras is TensorFlow's internal Keras 2 copy; use the public "
    "keras API",
}
GENERATOR_METHODS = {"fit_generator": "fit", "predict_generator": "predict", "evaluate_generator": "evaluate"}
SESSION_NAMES = (
    "keras.backend.set_session",
    "keras.backend.get_session",
    "tensorflow.Session",
    "tensorflow.InteractiveSession",
)


@dataclasses.dataclass(frozen=True)
class Finding:
    """A place the codemod could not migrate: ``where`` is 'file:line' (notebooks: 'file:cell N:line')."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclasses.dataclass
class FileResult:
    path: str
    old: str
    new: str
    findings: list[Finding]
    error: bool = False  # unreadable / unparseable: left untouched

    @property
    def changed(self) -> bool:
        return self.new != self.old


# ---------------------------------------------------------------------------- what exists


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _has_name(module: str, name: str) -> bool:
    try:
        return hasattr(importlib.import_module(module), name)
    except Exception:  # noqa: BLE001 (a module that fails to import has no names)
        return False


def _keras_chain_exists(dotted: str) -> bool:
    import keras

    obj = keras
    for part in dotted.split(".")[1:]:
        try:
            obj = getattr(obj, part)
        except Exception:  # noqa: BLE001
            return False
    return True


def _keras_prefix(qualified: str) -> str | None:
    """``tensorflow.keras.X`` -> ``keras.X``; ``keras.X`` as it is; else None."""
    for prefix in KERAS_PREFIXES:
        if qualified == prefix or qualified.startswith(prefix + "."):
            return "keras" + qualified[len(prefix) :]
    return qualified if qualified == "keras" or qualified.startswith("keras.") else None


def _keras_name(qualified: str) -> str | None:
    """``tensorflow.keras.X`` / ``keras.X`` (Keras 2 paths moved) as the Keras 3 dotted name, else None."""
    qualified = _keras_prefix(qualified)
    if qualified is None:
        return None
    for old, new in MOVED_MODULES.items():
        if qualified == old or qualified.startswith(old + "."):
            return new + qualified[len(old) :]
    return qualified


def _reported_module(module: str) -> str | None:
    for prefix, why in REPORTED_MODULES.items():
        if module == prefix or module.startswith(prefix + "."):
            return why
    return None


def _map_module(module: str) -> tuple[str | None, str | None]:
    """(new dotted module or None when unchanged, problem or None) for an imported module path."""
    why = _reported_module(module)
    if why:
        return None, why
    if module == "qkeras" or module.startswith("qkeras."):
        new = "hgq_compat" + module[len("qkeras") :]
        if not _module_exists(new):
            return None, f"{module} has no counterpart in hgq_compat (not ported); import left as it was"
        return new, None
    new = _keras_name(module)
    if new is None or new == module:
        return None, None
    if not _module_exists(new):
        return None, f"{module} does not exist in Keras 3 ({new}); import left as it was"
    return new, None


def _star_unavailable() -> dict[str, str]:
    from . import _star

    return _star.UNAVAILABLE


def _unavailable_name(module: str, name: str) -> str:
    if module == "hgq_compat":
        from . import _star

        if name in _star.UNAVAILABLE:
            return f"hgq_compat has no {name}: {_star.UNAVAILABLE[name]}"
    return f"{module} has no {name}; import left as it was"


# ---------------------------------------------------------------------------- the codemod


def _pure_chain(node: cst.BaseExpression) -> bool:
    """``a.b.c`` (names and attributes only, no calls or subscripts in between)."""
    while isinstance(node, cst.Attribute):
        node = node.value
    return isinstance(node, cst.Name)


def _dotted(name: str) -> cst.BaseExpression:
    return cst.parse_expression(name)


class _Migrator(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (PositionProvider, QualifiedNameProvider, ScopeProvider)

    def __init__(self, where: str, line_offset: int = 0) -> None:
        super().__init__()
        self.where = where
        self.line_offset = line_offset
        self.findings: list[Finding] = []
        self.need_keras = False
        self.keras_bound = False
        self.rename: set[cst.Name] = set()  # references of `import qkeras[...]` bindings -> hgq_compat
        self.inner: set[cst.CSTNode] = set()
        self.import_depth = 0
        self.keep_tensorflow = False
        self.star = False

    # -- helpers
    def report(self, node: cst.CSTNode, message: str) -> None:
        line = self.get_metadata(PositionProvider, node).start.line + self.line_offset
        finding = Finding(f"{self.where}:{line}", message)
        if finding not in self.findings:
            self.findings.append(finding)

    def qnames(self, node: cst.CSTNode) -> set[str]:
        try:
            return {q.name for q in self.get_metadata(QualifiedNameProvider, node, set())}
        except KeyError:
            return set()

    def keras_qname(self, node: cst.CSTNode) -> str | None:
        for q in sorted(self.qnames(node)):
            k = _keras_name(q)
            if k is not None:
                return k
        return None

    # -- module
    def visit_Module(self, node: cst.Module) -> None:
        scope = self.get_metadata(ScopeProvider, node)
        # `import tensorflow.keras` binds `tensorflow`: keep that binding when it is used for more than Keras
        self.keep_tensorflow = bool(m.findall(node, m.Attribute(value=m.Name("tensorflow"), attr=~m.Name("keras"))))
        if "keras" in scope:
            self.keras_bound = True
        self.star = any(m.matches(s, _STAR_IMPORT) for s in node.body)
        for assignment in scope["qkeras"] if "qkeras" in scope else ():
            stmt = getattr(assignment, "node", None)
            if isinstance(stmt, cst.Import) and all(
                _map_module(get_full_name_for_node(a.name))[0]
                for a in stmt.names
                if a.asname is None and get_full_name_for_node(a.name).split(".")[0] == "qkeras"
            ):
                for ref in assignment.references:
                    if isinstance(ref.node, cst.Name):
                        self.rename.add(ref.node)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if not self.need_keras or self.keras_bound:
            return updated_node
        body = list(updated_node.body)
        is_import = m.SimpleStatementLine(body=[m.OneOf(m.Import(), m.ImportFrom())])
        index = next((i for i, s in enumerate(body) if m.matches(s, is_import)), None)
        if index is None:
            index = 0
            while index < len(body) and m.matches(
                body[index], m.SimpleStatementLine(body=[m.Expr(value=m.SimpleString() | m.ConcatenatedString())])
            ):
                index += 1
        else:
            while index < len(body) and m.matches(body[index], is_import):
                index += 1
        body.insert(index, cst.parse_statement("import keras\n"))
        return updated_node.with_changes(body=body)

    # -- imports
    def visit_Import(self, node: cst.Import) -> None:
        self.import_depth += 1

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self.import_depth += 1

    def leave_Import(self, original_node: cst.Import, updated_node: cst.Import) -> cst.Import:
        self.import_depth -= 1
        aliases = []
        for alias in original_node.names:
            module = get_full_name_for_node(alias.name)
            new, problem = _map_module(module)
            if problem:
                self.report(original_node, problem)
            if new is None:
                aliases.append(alias)
                continue
            asname = alias.asname
            if module.split(".")[0] == "tensorflow":
                if asname is None:  # `import tensorflow.keras[.x]` bound `tensorflow`; uses become keras.x
                    if self.keep_tensorflow:
                        aliases.append(
                            alias.with_changes(
                                name=cst.Name("tensorflow"), comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                            )
                        )
                    new = "keras"
                    self.keras_bound = True
                elif get_full_name_for_node(asname.name) == "keras" and new == "keras":
                    asname = None
            aliases.append(alias.with_changes(name=_dotted(new), asname=asname))
        return updated_node.with_changes(names=aliases)

    def leave_ImportFrom(
        self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom
    ) -> cst.ImportFrom | cst.FlattenSentinel:
        self.import_depth -= 1
        if original_node.relative or original_node.module is None:
            return updated_node
        module = get_full_name_for_node(original_node.module)
        star = isinstance(original_node.names, cst.ImportStar)
        names = [] if star else list(original_node.names)
        if module == "tensorflow" and any(get_full_name_for_node(a.name) == "keras" for a in names):
            keep = [a for a in names if get_full_name_for_node(a.name) != "keras"]
            out: list[cst.BaseSmallStatement | cst.BaseStatement] = []
            for a in names:
                if get_full_name_for_node(a.name) == "keras":
                    asname = a.asname.name.value if a.asname and a.asname.name.value != "keras" else None
                    out.append(
                        cst.Import(
                            names=[
                                cst.ImportAlias(
                                    name=cst.Name("keras"), asname=cst.AsName(cst.Name(asname)) if asname else None
                                )
                            ]
                        )
                    )
            if keep:
                keep[-1] = keep[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                out.insert(0, updated_node.with_changes(names=keep))
            return cst.FlattenSentinel(out)
        new, problem = _map_module(module)
        if problem:
            self.report(original_node, problem)
        if new is None:
            return updated_node
        missing = [
            get_full_name_for_node(a.name)
            for a in names
            if not _has_name(new, get_full_name_for_node(a.name))
            and not _module_exists(f"{new}.{get_full_name_for_node(a.name)}")
        ]
        if missing:
            for name in missing:
                self.report(original_node, _unavailable_name(new, name))
            return updated_node
        return updated_node.with_changes(module=_dotted(new))

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.FlattenSentinel:
        if len(updated_node.body) <= len(original_node.body):
            return updated_node
        # `from tensorflow import keras, nn` became two statements: one line each
        body = [s.with_changes(semicolon=cst.MaybeSentinel.DEFAULT) for s in updated_node.body]
        return cst.FlattenSentinel(
            [updated_node.with_changes(body=[body[0]])] + [cst.SimpleStatementLine(body=[s]) for s in body[1:]]
        )

    # -- names and attribute chains
    def visit_Name(self, node: cst.Name) -> None:
        if not self.star or self.import_depth or node.value not in _star_unavailable():
            return
        try:
            scope = self.get_metadata(ScopeProvider, node)
        except KeyError:
            return
        if scope is not None and node.value not in scope:
            self.report(node, f"{node.value} (from `from qkeras import *`): {_star_unavailable()[node.value]}")

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        if original_node in self.rename:
            return updated_node.with_changes(value="hgq_compat")
        return updated_node

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.inner.add(node.value)
        if self.import_depth or node in self.inner or not _pure_chain(node):
            return
        q = self.keras_qname(node)
        if q is None:
            for name in self.qnames(node):
                if name.startswith("tensorflow.compat.v1.") and not name.startswith("tensorflow.compat.v1.keras"):
                    self.report(node, f"{name}: {REPORTED_MODULES['tensorflow.compat.v1']}")
                if name in SESSION_NAMES:
                    self.report(node, f"{name}: Keras 3 / TF 2 run eagerly without sessions; remove it")
            return
        if q in ("keras.backend.eval", "keras.backend.get_value", "keras.backend.constant"):
            return  # rewritten by leave_Call
        if q in SESSION_NAMES:
            self.report(node, f"{q}: Keras 3 runs eagerly without sessions; remove it")
        elif not _keras_chain_exists(q):
            hint = ""
            import keras

            last = q.rsplit(".", 1)[-1]
            if q.startswith("keras.backend.") and hasattr(keras.ops, last):
                hint = f"; use keras.ops.{last} (check its arguments)"
            self.report(node, f"{q} does not exist in Keras 3{hint}")

    def leave_Attribute(self, original_node: cst.Attribute, updated_node: cst.Attribute) -> cst.BaseExpression:
        if self.import_depth:
            return updated_node
        qnames = self.qnames(original_node)
        if original_node.attr.value == "keras" and any(_keras_name(q) == "keras" for q in qnames):
            self.need_keras = True
            return cst.Name("keras")
        moved = [p for p in map(_keras_prefix, qnames) if p in MOVED_MODULES]
        if moved and _pure_chain(original_node):  # keras.utils.np_utils.to_categorical -> keras.utils.to_categorical
            node: cst.BaseExpression = updated_node
            for _ in range(moved[0].count(".") - MOVED_MODULES[moved[0]].count(".")):
                node = node.value  # type: ignore[attr-defined]
            return node
        if original_node.attr.value in GENERATOR_METHODS and original_node not in self.inner:
            new = GENERATOR_METHODS[original_node.attr.value]
            self.report(
                original_node,
                f".{original_node.attr.value}() is gone in Keras 3: .{new}() takes generators "
                f"and keras.utils.PyDataset (check steps_per_epoch and workers arguments)",
            )
        return updated_node

    # -- calls
    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        func = original_node.func
        q = self.keras_qname(func) if isinstance(func, (cst.Name, cst.Attribute)) else None
        positional = [a for a in original_node.args if a.keyword is None and not a.star]
        keywords = {a.keyword.value: a for a in original_node.args if a.keyword is not None}
        if q in ("keras.backend.eval", "keras.backend.get_value"):
            if len(original_node.args) == 1 and positional:
                self.need_keras = True
                arg = updated_node.args[0].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                return updated_node.with_changes(func=_dotted("keras.ops.convert_to_numpy"), args=[arg])
            self.report(original_node, f"{q}(...): use keras.ops.convert_to_numpy(x)")
        elif q == "keras.backend.constant":
            plain = len(original_node.args) == len(positional) + len(keywords)  # no *args / **kwargs
            if plain and len(positional) == 1 and set(keywords) <= {"dtype"}:
                self.need_keras = True
                value = updated_node.args[0].with_changes(
                    keyword=None, equal=cst.MaybeSentinel.DEFAULT, comma=cst.MaybeSentinel.DEFAULT
                )
                dtype = updated_node.args[1].value if "dtype" in keywords else _dotted("keras.backend.floatx()")
                return updated_node.with_changes(
                    func=_dotted("keras.ops.convert_to_tensor"),
                    args=[
                        value.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                        cst.Arg(
                            keyword=cst.Name("dtype"),
                            value=dtype,
                            equal=cst.AssignEqual(
                                whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
                            ),
                        ),
                    ],
                )
            self.report(
                original_node,
                "K.constant(value, dtype, shape, name): use keras.ops.convert_to_tensor "
                "(and keras.ops.broadcast_to for shape)",
            )
        elif q is not None and q.startswith("keras.optimizers.") and not q.startswith("keras.optimizers.schedules"):
            return self._optimizer(original_node, updated_node)
        if m.matches(original_node, m.Call(func=m.Attribute(attr=m.Name("get_shape")), args=[])):
            return cst.Attribute(value=updated_node.func.value, attr=cst.Name("shape"))
        if m.matches(
            original_node,
            m.Call(
                func=m.Attribute(
                    value=m.Call(func=m.Attribute(attr=m.Name("get_shape")), args=[]), attr=m.Name("as_list")
                ),
                args=[],
            ),
        ):
            return cst.Call(func=cst.Name("list"), args=[cst.Arg(updated_node.func.value)])
        if m.matches(func, m.Attribute(value=m.Name("self"), attr=m.Name("add_weight"))) and positional:
            self.report(
                original_node,
                "self.add_weight(...) with positional arguments: Keras 3's order is (shape, "
                "initializer, dtype, trainable, ...); pass shape=, name= by keyword",
            )
        if m.matches(func, m.Attribute(attr=m.Name("save"))) and "save_format" in keywords:
            self.report(
                original_node,
                "save(..., save_format=...) is gone in Keras 3: the file name decides "
                "(model.save('model.keras'); '.h5' for HDF5)",
            )
        return updated_node

    def _optimizer(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        """``lr=`` -> ``learning_rate=``; ``decay=d`` (Keras 2: lr / (1 + d * iterations)) -> InverseTimeDecay."""
        args = list(updated.args)
        names = [a.keyword.value if a.keyword else None for a in args]
        if "lr" in names and "learning_rate" not in names:
            i = names.index("lr")
            args[i] = args[i].with_changes(keyword=cst.Name("learning_rate"))
            names[i] = "learning_rate"
        if "decay" in names:
            i = names.index("decay")
            decay = args[i].value
            try:
                zero = ast.literal_eval(cst.Module([]).code_for_node(decay)) == 0
            except (ValueError, SyntaxError):
                zero = False
            lr_index = names.index("learning_rate") if "learning_rate" in names else 0 if names[0] is None else None
            if zero:
                del args[i], names[i]
            elif lr_index is not None:  # the learning rate is the first positional argument of every optimizer
                j = lr_index
                lr = cst.Module([]).code_for_node(args[j].value)
                d = cst.Module([]).code_for_node(decay)
                args[j] = args[j].with_changes(
                    value=cst.parse_expression(
                        f"keras.optimizers.schedules.InverseTimeDecay({lr}, decay_steps=1, decay_rate={d})"
                    )
                )
                del args[i], names[i]
                self.need_keras = True
            else:
                self.report(
                    original,
                    "optimizer decay= without a learning rate: Keras 3 ignores decay; pass "
                    "learning_rate=keras.optimizers.schedules.InverseTimeDecay(lr, 1, decay)",
                )
            if args:
                args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated.with_changes(args=args)


# ---------------------------------------------------------------------------- files

_PYTHON_CELL_MAGICS = ("time", "timeit", "capture", "prun")
_MAGIC = re.compile(r"^(\s*)([%!].*|[\w.]+\?\??)$")


# What `from qkeras import *` leaked and scripts use unqualified: known to the codemod as these imports.
STAR_LEAKS = {
    "K": "import tensorflow.keras.backend as K\n",
    "tf": "import tensorflow as tf\n",
    "keras": "from tensorflow import keras\n",
}
_STAR_IMPORT = m.SimpleStatementLine(
    body=[m.ImportFrom(module=m.Name("qkeras") | m.Name("hgq_compat"), names=m.ImportStar())]
)


def _star_leaks(module: cst.Module) -> str:
    """Imports standing for the names a top-level ``from qkeras import *`` gave and the module does not bind."""
    if not any(m.matches(s, _STAR_IMPORT) for s in module.body):
        return ""
    wrapper = MetadataWrapper(module)
    scope = wrapper.resolve(ScopeProvider)[wrapper.module]
    return "".join(code for name, code in STAR_LEAKS.items() if name not in scope)


def migrate_source(source: str, where: str, context: str = "") -> tuple[str, list[Finding]]:
    """(new source, findings) for Python ``source``; raises ``cst.ParserSyntaxError``.

    ``context``: import statements that ran before (earlier notebook cells), so that ``tf.keras``
    in a cell is known when ``tf`` was imported in an earlier one; they are not part of the output.
    After ``from qkeras import *``, ``K``, ``tf`` and ``keras`` are known as QKeras' star import gave them."""
    module = cst.parse_module(source)  # syntax errors with the source's own line numbers
    if context:
        module = cst.parse_module(context + source)
    context = _star_leaks(module) + context
    if context:
        module = cst.parse_module(context + source)
    migrator = _Migrator(where, -context.count("\n"))
    new = MetadataWrapper(module).visit(migrator)
    findings = [f for f in migrator.findings if int(f.where.rsplit(":", 1)[1]) > 0]
    if context:
        n_context = len(MetadataWrapper(cst.parse_module(context)).visit(_Migrator(where)).body)
        new = new.with_changes(header=[], body=new.body[n_context:])
    return new.code, findings


def _top_level_imports(source: str) -> str:
    """The top-level import statements of ``source`` (one per line, as code)."""
    module = cst.parse_module(source)
    return "".join(
        module.code_for_node(s.with_changes(leading_lines=[]))
        for s in module.body
        if m.matches(s, m.SimpleStatementLine(body=[m.OneOf(m.Import(), m.ImportFrom())]))
    )


def _migrate_python(path: str, text: str) -> FileResult:
    try:
        new, findings = migrate_source(text, path)
    except cst.ParserSyntaxError as exc:
        return FileResult(
            path,
            text,
            text,
            [Finding(f"{path}:{exc.raw_line}", f"cannot parse: {exc.message}; left untouched")],
            error=True,
        )
    return FileResult(path, text, new, findings)


def _migrate_cell(code: str, where: str, context: str) -> tuple[str, list[Finding], str]:
    """(new code, findings, context for the next cells) of a notebook code cell; IPython magics and
    shell lines are left as they are (a cell magic other than %%time & co. leaves the whole cell)."""
    head = ""
    cell_magic = re.match(r"\s*%%(\w+)[^\n]*(\n|$)", code)
    if cell_magic:
        if cell_magic.group(1) not in _PYTHON_CELL_MAGICS:
            return code, [], context  # %%bash, %%html, ...: not Python
        head, code = code[: cell_magic.end()], code[cell_magic.end() :]
    lines = code.split("\n")
    magics = [line for line in lines if _MAGIC.match(line)]
    masked_code = "\n".join(_MAGIC.sub(r"\1pass  # hgq-compat-magic", line) for line in lines)
    try:
        new, findings = migrate_source(masked_code, where, context)
    except cst.ParserSyntaxError as exc:
        exc.raw_line += head.count("\n")
        raise
    new_lines = new.split("\n")
    masked = [i for i, line in enumerate(new_lines) if line.endswith("pass  # hgq-compat-magic")]
    for i, original in zip(masked, magics):
        new_lines[i] = original
    shift = head.count("\n")
    findings = [Finding(f"{where} {int(f.where.rsplit(':', 1)[1]) + shift}", f.message) for f in findings]
    return head + "\n".join(new_lines), findings, context + _top_level_imports(new + "\n")


def _migrate_notebook(path: str, text: str) -> FileResult:
    try:
        notebook = json.loads(text)
        cells = notebook["cells"]
    except (ValueError, KeyError, TypeError) as exc:
        return FileResult(
            path, text, text, [Finding(f"{path}:1", f"not a notebook ({exc}); left untouched")], error=True
        )
    findings: list[Finding] = []
    changed = False
    context = ""
    for n, cell in enumerate(cells, 1):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        code = "".join(source) if isinstance(source, list) else source
        try:
            new, cell_findings, context = _migrate_cell(code, f"{path}:cell {n}:line", context)
        except cst.ParserSyntaxError as exc:
            return FileResult(
                path,
                text,
                text,
                [Finding(f"{path}:cell {n}:line {exc.raw_line}", f"cannot parse: {exc.message}; left untouched")],
                error=True,
            )
        findings.extend(cell_findings)
        if new != code:
            changed = True
            cell["source"] = new.splitlines(keepends=True) if isinstance(source, list) else new
    if not changed:
        return FileResult(path, text, text, findings)
    indent = len(text.split("\n", 2)[1]) - len(text.split("\n", 2)[1].lstrip()) if text.count("\n") > 1 else 1
    new_text = json.dumps(notebook, indent=indent or None, ensure_ascii=False) + ("\n" if text.endswith("\n") else "")
    return FileResult(path, text, new_text, findings)


def migrate_file(path: str) -> FileResult:
    """Migrate one file's text (nothing written): ``.ipynb`` notebooks' code cells, else Python."""
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        return FileResult(path, "", "", [Finding(f"{path}:1", f"cannot read ({exc}); left untouched")], error=True)
    return _migrate_notebook(path, text) if path.endswith(".ipynb") else _migrate_python(path, text)


def find_files(paths: Iterable[str]) -> list[str]:
    """The files to migrate: given files as they are, folders searched for *.py and *.ipynb
    (hidden folders, __pycache__ and .ipynb_checkpoints skipped)."""
    out = []
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
                out.extend(os.path.join(root, f) for f in sorted(files) if f.endswith((".py", ".ipynb")))
        else:
            out.append(path)
    return out


def backup_path(path: str) -> str:
    """``FILE.bak``, or ``FILE.bak.1``, ``FILE.bak.2``, ... when taken (an older backup is never overwritten)."""
    candidate, n = f"{path}.bak", 0
    while os.path.lexists(candidate):
        n += 1
        candidate = f"{path}.bak.{n}"
    return candidate


def diff(result: FileResult) -> str:
    return "".join(
        difflib.unified_diff(
            result.old.splitlines(keepends=True),
            result.new.splitlines(keepends=True),
            fromfile=_diff_name("a", result.path),
            tofile=_diff_name("b", result.path),
        )
    )


def _diff_name(side: str, path: str) -> str:
    return path if os.path.isabs(path) else f"{side}/{path}"


def run(paths: Sequence[str], dry_run: bool = False, backup: bool = True, out=None, err=None) -> int:
    """Migrate ``paths``; print diffs (dry run) or write files, findings on ``err``. Exit status: 1 when
    anything could not be migrated (a finding, an unparseable or missing file), else 0."""
    out = out or sys.stdout
    err = err or sys.stderr
    status = 0
    changed = 0
    files = find_files(paths)
    for path in files:
        if not os.path.isfile(path):
            print(f"{path}: no such file", file=err)
            status = 1
            continue
        result = migrate_file(path)
        for finding in result.findings:
            print(finding, file=err)
        if result.findings:
            status = 1
        if not result.changed:
            continue
        changed += 1
        if dry_run:
            out.write(diff(result))
            continue
        mode = os.stat(path).st_mode & 0o7777
        if backup:
            write_text_atomic(backup_path(path), result.old)
        write_text_atomic(path, result.new)
        os.chmod(path, mode)
    verb = "would change" if dry_run else "changed"
    print(f"hgq-compat migrate: {verb} {changed} of {len(files)} file(s)", file=err)
    return status
