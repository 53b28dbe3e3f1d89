"""Kernel problem files: the shipped set validates; malformed ones name the field."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from gepad.errors import GepadError, KernelProblemError
from gepad.kernel import (
    DEFAULT_TOLERANCE,
    KernelProblem,
    load_problem,
    load_problems,
    parse_problem,
    shipped_problems,
)

REFERENCE = """
import torch
import torch.nn as nn

class Model(nn.Module):
    def forward(self, x):
        return torch.relu(x)

def get_inputs():
    return [torch.randn(4, 5)]

def get_init_inputs():
    return []
"""


def _valid() -> dict[str, Any]:
    return {
        "format": 1,
        "name": "relu_small",
        "description": "ReLU.",
        "reference": REFERENCE,
        "entry": {
            "name": "launch_relu",
            "args": [
                {"name": "x", "kind": "input", "index": 0},
                {"name": "out", "kind": "output"},
                {"name": "n", "kind": "int", "value": "numel(x)"},
            ],
        },
    }


def test_shipped_problems_validate() -> None:
    problems = shipped_problems()
    assert [p.name for p in problems] == ["layernorm", "matmul", "relu", "softmax", "sum_rows"]
    for p in problems:
        assert isinstance(p, KernelProblem)
        assert p.path is not None and p.path.name == f"{p.name}.toml"
        assert p.prototype().startswith(f'extern "C" void {p.entry.name}(')
        assert "KernelBench" in p.origin
        assert "cublas" in p.forbid
        brief = p.brief()
        assert p.prototype() in brief and "class Model" in brief
    by_name = {p.name: p for p in problems}
    assert by_name["layernorm"].prototype() == (
        'extern "C" void launch_layernorm(const float* x, float* out, int rows, int cols, '
        "float eps)"
    )
    assert by_name["matmul"].prototype() == (
        'extern "C" void launch_matmul(const float* a, const float* b, float* out, int m, int k, '
        "int n)"
    )


def test_shipped_problems_carry_the_kernelbench_notice() -> None:
    folder = Path(shipped_problems()[0].path or "").parent
    notice = (folder / "NOTICE").read_text()
    assert "KernelBench" in notice and "MIT License" in notice
    assert "Copyright (c) 2023 Anne Ouyang, Simon Guo, Azalia Mirhoseini" in notice


def test_defaults_come_from_the_dtype() -> None:
    p = parse_problem(_valid(), where="t.toml")
    assert (p.atol, p.rtol) == DEFAULT_TOLERANCE["float32"]
    half = parse_problem({**_valid(), "dtype": "float16"}, where="t.toml")
    assert (half.atol, half.rtol) == DEFAULT_TOLERANCE["float16"] and half.c_type == "__half"
    tuned = parse_problem({**_valid(), "tolerance": {"atol": 0.001}}, where="t.toml")
    assert (tuned.atol, tuned.rtol) == (0.001, DEFAULT_TOLERANCE["float32"][1])


def _with(path: str, value: Any) -> dict[str, Any]:
    """A copy of the valid problem with one field replaced (or removed, for value=...)."""
    data = _valid()
    data["entry"] = {**data["entry"], "args": [dict(a) for a in data["entry"]["args"]]}
    target: Any = data
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    last: Any = int(keys[-1]) if keys[-1].isdigit() else keys[-1]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "field", "says"),
    [
        ("format", 2, "format", "must be 1"),
        ("name", ..., "name", "is required"),
        ("name", "Bad Name", "name", "[a-z0-9_]+"),
        ("description", "  ", "description", "must not be empty"),
        ("reference", "def broken(:", "reference", "not valid Python"),
        ("reference", "def get_inputs(): pass", "reference", "class Model"),
        (
            "reference",
            REFERENCE.replace("def get_init_inputs", "def other"),
            "reference",
            "get_init_inputs",
        ),
        ("dtype", "float64", "dtype", "must be one of"),
        ("tolerance", {"atol": 5}, "tolerance.atol", "[0, 1)"),
        ("tolerance", {"abs": 0.1}, "tolerance.abs", "not a known key"),
        ("forbid", ["mkl"], "forbid[0]", "must be one of"),
        ("block_size", 2048, "block_size", "1..1024"),
        ("colour", "red", "colour", "not a known key"),
        ("entry", ..., "entry", "must be a table"),
        ("entry.name", "2fast", "entry.name", "C identifier"),
        ("entry.args.0.kind", "tensor", "entry.args[0].kind", "must be input"),
        ("entry.args.0.index", ..., "entry.args[0].index", "is required"),
        ("entry.args.1.name", "x", "entry.args[1].name", "duplicates 'x'"),
        ("entry.args.0", {"name": "y", "kind": "output"}, "entry.args", "exactly one output"),
        ("entry.args.2.value", "len(x)", "entry.args[2].value", "numel(T), shape(T, dim)"),
        ("entry.args.2.value", "numel(y)", "entry.args[2].value", "refers to 'y'"),
        ("entry.args.2.kind", "float", "entry.args[2].value", "float literal"),
        ("entry.args.1.value", "3", "entry.args[1].value", "only for int"),
    ],
)
def test_malformed_problems_name_the_field(path: str, value: Any, field: str, says: str) -> None:
    with pytest.raises(KernelProblemError) as info:
        parse_problem(_with(path, value), where="bad.toml")
    err = info.value
    assert isinstance(err, GepadError)
    assert err.field == field
    assert says in err.reason
    assert str(err).startswith(f"bad.toml: {field}: ")


def test_load_from_files_and_directories(tmp_path: Path) -> None:
    shipped = Path(shipped_problems()[0].path or "").parent
    (tmp_path / "relu.toml").write_text((shipped / "relu.toml").read_text())
    (tmp_path / "copy.toml").write_text((shipped / "relu.toml").read_text())
    with pytest.raises(KernelProblemError, match="'relu' is also defined by"):
        load_problems(tmp_path)
    (tmp_path / "copy.toml").unlink()
    (p,) = load_problems(tmp_path)
    assert p.name == "relu" and p.path == tmp_path / "relu.toml"
    (tmp_path / "broken.toml").write_text("format = 1\nname = [")
    with pytest.raises(KernelProblemError) as info:
        load_problem(tmp_path / "broken.toml")
    assert info.value.field == "(toml)" and "broken.toml" in str(info.value)
    with pytest.raises(KernelProblemError, match="does not exist"):
        load_problem(tmp_path / "missing.toml")


def test_shipped_files_parse_as_plain_toml() -> None:
    for p in shipped_problems():
        assert p.path is not None
        data = tomllib.loads(p.path.read_text())
        assert data["name"] == p.name
