"""Kernel problems: a KernelBench-style PyTorch reference plus the launcher a kernel must export.

One TOML file per problem (format 1)::

    format = 1                      # required, must be 1
    name = "relu"                   # required, [a-z0-9_]+, unique in a problem set
    description = "..."             # required, what to compute (shown to the task model)
    origin = "..."                  # optional, provenance (e.g. the KernelBench problem)
    dtype = "float32"               # optional: float32 (default), float16 or bfloat16
    forbid = ["cublas", "cudnn"]    # optional: libraries the kernel may not call; torch and
                                    # Python embedding are always forbidden (see _static_checks)
    block_size = 256                # optional: block size assumed for occupancy feedback
    reference = '''                 # required: Python source, KernelBench style, that defines
    class Model(nn.Module): ...     #   class Model(nn.Module) with forward(), get_inputs() and
    def get_inputs(): ...           #   get_init_inputs(); it runs only in the GPU harness, never
    def get_init_inputs(): ...      #   in the daemon (it is parsed, not executed, here)
    '''
    [tolerance]                     # optional; defaults by dtype (see DEFAULT_TOLERANCE)
    atol = 1e-4
    rtol = 1e-4
    [entry]                         # required: the host launcher the generated .cu must export
    name = "launch_relu"            #   extern "C", a C identifier
    args = [                        #   in call order; one entry per C parameter:
      { name = "x",   kind = "input", index = 0 },  # get_inputs()[index], const T*
      { name = "out", kind = "output" },            # the result buffer (exactly one), T*
      { name = "n",   kind = "int", value = "numel(x)" },   # int: numel(T), shape(T, dim)
      { name = "eps", kind = "float", value = "1e-5" },     # float literal
    ]

Inputs come from ``get_inputs()`` (fresh random values per trial, seeded), as in KernelBench;
shapes are fixed by the reference source and kept small. Tensor arguments are contiguous and of
the problem's dtype; the output has the reference output's shape.
"""

from __future__ import annotations

import ast
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from gepad.errors import KernelProblemError

__all__ = [
    "DEFAULT_TOLERANCE",
    "EntryArg",
    "EntryPoint",
    "KernelProblem",
    "load_problem",
    "load_problems",
    "parse_problem",
    "shipped_problems",
]

ArgKind = Literal["input", "output", "int", "int64", "float"]

DEFAULT_TOLERANCE: dict[str, tuple[float, float]] = {
    # (atol, rtol). float32 allows for a different summation order over a few thousand terms.
    "float32": (1e-4, 1e-4),
    "float16": (1e-2, 1e-2),
    "bfloat16": (2e-2, 2e-2),
}
_C_TYPE = {"float32": "float", "float16": "__half", "bfloat16": "__nv_bfloat16"}
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAME = re.compile(r"[a-z0-9_]+")
_INT_VALUE = re.compile(
    r"\s*(?:numel\(\s*(?P<numel>\w+)\s*\)|shape\(\s*(?P<shape>\w+)\s*,\s*(?P<dim>-?\d+)\s*\)"
    r"|(?P<lit>-?\d+))\s*"
)
_KNOWN_LIBRARIES = ("cublas", "cudnn", "cutlass", "cub", "thrust")
_TOP_KEYS = {
    "format",
    "name",
    "description",
    "origin",
    "dtype",
    "forbid",
    "block_size",
    "reference",
    "tolerance",
    "entry",
}
_C_KEYWORDS = {"int", "float", "double", "char", "void", "const", "return", "if", "for", "while"}


@dataclass(frozen=True, slots=True)
class EntryArg:
    """One parameter of the launcher, and where its value comes from."""

    name: str
    kind: ArgKind
    index: int | None = None  # input: position in get_inputs()
    value: str | None = None  # int/int64: numel(T) | shape(T, d) | literal; float: literal

    def c_declaration(self, c_type: str) -> str:
        return {
            "input": f"const {c_type}* {self.name}",
            "output": f"{c_type}* {self.name}",
            "int": f"int {self.name}",
            "int64": f"long long {self.name}",
            "float": f"float {self.name}",
        }[self.kind]


@dataclass(frozen=True, slots=True)
class EntryPoint:
    name: str
    args: tuple[EntryArg, ...]


@dataclass(frozen=True, slots=True)
class KernelProblem:
    """A validated problem. `reference` is Python source; it is never executed in the daemon."""

    name: str
    description: str
    reference: str
    entry: EntryPoint
    dtype: str = "float32"
    atol: float = 1e-4
    rtol: float = 1e-4
    forbid: tuple[str, ...] = ("cublas", "cudnn")
    block_size: int = 256
    origin: str = ""
    path: Path | None = None

    @property
    def c_type(self) -> str:
        return _C_TYPE[self.dtype]

    def prototype(self) -> str:
        """The exact C declaration the generated source must define."""
        params = ", ".join(a.c_declaration(self.c_type) for a in self.entry.args)
        return f'extern "C" void {self.entry.name}({params})'

    def brief(self) -> str:
        """The task as a model sees it: what to compute, the reference, the launcher to write."""
        forbid = ", ".join(self.forbid) if self.forbid else "nothing beyond torch"
        return (
            f"Problem: {self.name}\n{self.description.strip()}\n\n"
            f"PyTorch reference:\n```python\n{self.reference.strip()}\n```\n\n"
            f"Write one CUDA source file (.cu) that defines this host launcher:\n"
            f"    {self.prototype()};\n"
            f"All pointers are device pointers to contiguous {self.dtype} data; the launcher "
            f"launches the kernel(s) on the default stream. Forbidden: torch/ATen, {forbid}."
        )


def _fail(where: str, field: str, reason: str) -> KernelProblemError:
    return KernelProblemError(where, field, reason)


def _require(data: Mapping[str, Any], key: str, kind: type, where: str, field: str) -> Any:
    if key not in data:
        raise _fail(where, field, "is required")
    value = data[key]
    if kind is int and isinstance(value, bool):
        raise _fail(where, field, f"must be an integer, got {value!r}")
    if not isinstance(value, kind):
        raise _fail(where, field, f"must be {kind.__name__}, got {type(value).__name__}")
    return value


def _check_reference(source: str, where: str) -> None:
    try:
        tree = ast.parse(source, filename=f"{where}:reference")
    except SyntaxError as exc:
        raise _fail(
            where, "reference", f"is not valid Python: line {exc.lineno}: {exc.msg}"
        ) from None
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    models = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Model"]
    if not models:
        raise _fail(where, "reference", "must define class Model(nn.Module)")
    methods = {n.name for n in models[0].body if isinstance(n, ast.FunctionDef)}
    if "forward" not in methods:
        raise _fail(where, "reference", "class Model must define forward()")
    for fn in ("get_inputs", "get_init_inputs"):
        if fn not in functions:
            raise _fail(where, "reference", f"must define a top-level function {fn}()")


def _parse_arg(raw: Any, i: int, where: str) -> EntryArg:
    field = f"entry.args[{i}]"
    if not isinstance(raw, dict):
        raise _fail(where, field, f"must be a table, got {type(raw).__name__}")
    unknown = set(raw) - {"name", "kind", "index", "value"}
    if unknown:
        raise _fail(where, f"{field}.{sorted(unknown)[0]}", "is not a known key")
    name = _require(raw, "name", str, where, f"{field}.name")
    if not _IDENT.fullmatch(name) or name in _C_KEYWORDS:
        raise _fail(where, f"{field}.name", f"must be a C identifier, got {name!r}")
    kind = _require(raw, "kind", str, where, f"{field}.kind")
    if kind not in ("input", "output", "int", "int64", "float"):
        raise _fail(
            where, f"{field}.kind", f"must be input, output, int, int64 or float; got {kind!r}"
        )
    index = raw.get("index")
    value = raw.get("value")
    if kind == "input":
        index = _require(raw, "index", int, where, f"{field}.index")
        if index < 0:
            raise _fail(where, f"{field}.index", f"must be >= 0, got {index}")
    elif index is not None:
        raise _fail(where, f"{field}.index", f"is only for kind = input, not {kind}")
    if kind in ("int", "int64", "float"):
        value = _require(raw, "value", str, where, f"{field}.value")
        if kind == "float":
            try:
                number = float(value)
            except ValueError:
                raise _fail(
                    where, f"{field}.value", f"must be a float literal, got {value!r}"
                ) from None
            if not math.isfinite(number):
                raise _fail(where, f"{field}.value", f"must be finite, got {value!r}")
        elif not _INT_VALUE.fullmatch(value):
            raise _fail(
                where,
                f"{field}.value",
                f"must be numel(T), shape(T, dim) or an integer literal; got {value!r}",
            )
    elif value is not None:
        raise _fail(where, f"{field}.value", f"is only for int, int64 and float args, not {kind}")
    return EntryArg(name=name, kind=kind, index=index, value=value)


def _parse_entry(raw: Any, where: str) -> EntryPoint:
    if not isinstance(raw, dict):
        raise _fail(where, "entry", "must be a table with name and args")
    unknown = set(raw) - {"name", "args"}
    if unknown:
        raise _fail(where, f"entry.{sorted(unknown)[0]}", "is not a known key")
    name = _require(raw, "name", str, where, "entry.name")
    if not _IDENT.fullmatch(name) or name in _C_KEYWORDS:
        raise _fail(where, "entry.name", f"must be a C identifier, got {name!r}")
    raw_args = _require(raw, "args", list, where, "entry.args")
    args = tuple(_parse_arg(a, i, where) for i, a in enumerate(raw_args))
    names = [a.name for a in args]
    for i, n in enumerate(names):
        if n in names[:i]:
            raise _fail(where, f"entry.args[{i}].name", f"duplicates {n!r}")
    outputs = [i for i, a in enumerate(args) if a.kind == "output"]
    if len(outputs) != 1:
        raise _fail(where, "entry.args", f"must have exactly one output, found {len(outputs)}")
    inputs = [a for a in args if a.kind == "input"]
    if not inputs:
        raise _fail(where, "entry.args", "must have at least one input")
    indices = sorted(a.index for a in inputs if a.index is not None)
    if indices != list(range(len(indices))):
        raise _fail(
            where, "entry.args", f"input indices must be 0..{len(indices) - 1}, got {indices}"
        )
    tensors = {a.name for a in args if a.kind in ("input", "output")}
    for i, a in enumerate(args):
        if a.kind in ("int", "int64") and a.value is not None:
            m = _INT_VALUE.fullmatch(a.value)
            ref = (m["numel"] or m["shape"]) if m else None
            if ref is not None and ref not in tensors:
                raise _fail(
                    where, f"entry.args[{i}].value", f"refers to {ref!r}, which is not a tensor arg"
                )
    return EntryPoint(name=name, args=args)


def parse_problem(
    data: Mapping[str, Any], *, where: str, path: Path | None = None
) -> KernelProblem:
    """Validate one problem's parsed TOML; errors name `where` and the field."""
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise _fail(where, sorted(unknown)[0], "is not a known key")
    fmt = _require(data, "format", int, where, "format")
    if fmt != 1:
        raise _fail(where, "format", f"must be 1, got {fmt}")
    name = _require(data, "name", str, where, "name")
    if not _NAME.fullmatch(name):
        raise _fail(where, "name", f"must match [a-z0-9_]+, got {name!r}")
    description = _require(data, "description", str, where, "description")
    if not description.strip():
        raise _fail(where, "description", "must not be empty")
    reference = _require(data, "reference", str, where, "reference")
    _check_reference(reference, where)
    dtype = data.get("dtype", "float32")
    if dtype not in DEFAULT_TOLERANCE:
        raise _fail(where, "dtype", f"must be one of {', '.join(DEFAULT_TOLERANCE)}; got {dtype!r}")
    atol, rtol = DEFAULT_TOLERANCE[dtype]
    if "tolerance" in data:
        tol = data["tolerance"]
        if not isinstance(tol, dict):
            raise _fail(where, "tolerance", "must be a table with atol and/or rtol")
        for key in tol:
            if key not in ("atol", "rtol"):
                raise _fail(where, f"tolerance.{key}", "is not a known key (atol, rtol)")
            value = tol[key]
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not (0 <= value < 1)
            ):
                raise _fail(where, f"tolerance.{key}", f"must be a number in [0, 1), got {value!r}")
        atol = float(tol.get("atol", atol))
        rtol = float(tol.get("rtol", rtol))
    forbid_raw = data.get("forbid", ["cublas", "cudnn"])
    if not isinstance(forbid_raw, list) or not all(isinstance(f, str) for f in forbid_raw):
        raise _fail(where, "forbid", "must be a list of library names")
    for i, lib in enumerate(forbid_raw):
        if lib not in _KNOWN_LIBRARIES:
            raise _fail(
                where, f"forbid[{i}]", f"must be one of {', '.join(_KNOWN_LIBRARIES)}; got {lib!r}"
            )
    block_size = data.get("block_size", 256)
    if (
        isinstance(block_size, bool)
        or not isinstance(block_size, int)
        or not 1 <= block_size <= 1024
    ):
        raise _fail(where, "block_size", f"must be an integer in 1..1024, got {block_size!r}")
    origin = data.get("origin", "")
    if not isinstance(origin, str):
        raise _fail(where, "origin", f"must be str, got {type(origin).__name__}")
    return KernelProblem(
        name=name,
        description=description.strip(),
        reference=reference,
        entry=_parse_entry(data.get("entry"), where),
        dtype=dtype,
        atol=atol,
        rtol=rtol,
        forbid=tuple(forbid_raw),
        block_size=block_size,
        origin=origin,
        path=path,
    )


def load_problem(path: Path) -> KernelProblem:
    """Read and validate one problem file."""
    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _fail(where, "(file)", "does not exist") from None
    except UnicodeDecodeError as exc:
        raise _fail(where, "(file)", f"is not UTF-8: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise _fail(where, "(toml)", str(exc)) from None
    return parse_problem(data, where=where, path=path)


def _unique(problems: Iterable[KernelProblem]) -> tuple[KernelProblem, ...]:
    seen: dict[str, KernelProblem] = {}
    for p in problems:
        if p.name in seen:
            where = str(p.path or p.name)
            raise _fail(where, "name", f"{p.name!r} is also defined by {seen[p.name].path}")
        seen[p.name] = p
    return tuple(sorted(seen.values(), key=lambda p: p.name))


def load_problems(directory: Path) -> tuple[KernelProblem, ...]:
    """Every ``*.toml`` problem in `directory`, sorted by name; names must be unique."""
    if not directory.is_dir():
        raise _fail(str(directory), "(directory)", "is not a directory")
    return _unique(load_problem(p) for p in sorted(directory.glob("*.toml")))


def shipped_problems() -> tuple[KernelProblem, ...]:
    """The small problems that ship with gepad (gepad/kernel/problems/)."""
    folder = resources.files("gepad.kernel").joinpath("problems")
    found: list[KernelProblem] = []
    for item in sorted(folder.iterdir(), key=lambda t: t.name):
        if item.name.endswith(".toml"):
            where = f"gepad/kernel/problems/{item.name}"
            data = tomllib.loads(item.read_text(encoding="utf-8"))
            found.append(parse_problem(data, where=where, path=Path(str(item))))
    return _unique(found)
