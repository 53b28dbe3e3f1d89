"""The request in flight, as one typed value per phase, and its validated JSON form.

A state holds at most one pending request. Each phase's dataclass carries exactly what its
answer handler needs; `pending_from_dict` checks every field, so a corrupt or hand-edited state
raises `StateError` when it is loaded rather than failing later in a handler.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any, Literal

from ._errors import StateError

__all__ = [
    "EVAL_PHASES",
    "Pending",
    "PendingBackfill",
    "PendingChild",
    "PendingConfirm",
    "PendingFull",
    "PendingMerge",
    "PendingMergeGate",
    "PendingParent",
    "PendingReflect",
    "pending_from_dict",
    "pending_to_dict",
]

ReflectMode = Literal["improve", "condense"]
ChildKind = Literal["reflection", "prune"]
MergeKind = Literal["merge", "crossover"]


@dataclass(frozen=True, slots=True)
class PendingFull:
    """A candidate's evaluation on the validation examples it lacks."""

    id: int
    cand: str
    examples: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PendingConfirm:
    """A leading candidate's scores on training examples, at the end of a run's budget."""

    id: int
    cand: str
    examples: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PendingBackfill:
    """A frontier candidate's scores on newly added validation examples."""

    id: int
    cand: str
    examples: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PendingParent:
    """The parent's missing minibatch results, before a reflection or a prune is gated."""

    id: int
    parent: str
    component: str
    batch: tuple[str, ...]
    examples: tuple[str, ...]
    kind: ChildKind = "reflection"
    # For a prune: the component text without the line under test.
    child_text: str = ""
    removed: str = ""


@dataclass(frozen=True, slots=True)
class PendingReflect:
    id: int
    parent: str
    component: str
    batch: tuple[str, ...]
    mode: ReflectMode
    # The over-long proposal to condense (mode "condense").
    text: str = ""


@dataclass(frozen=True, slots=True)
class PendingChild:
    """A proposal's minibatch results, for the gate."""

    id: int
    parent: str
    component: str
    batch: tuple[str, ...]
    child: Mapping[str, str]
    examples: tuple[str, ...]
    kind: ChildKind = "reflection"
    removed: str = ""


@dataclass(frozen=True, slots=True)
class PendingMerge:
    id: int
    a: str
    b: str
    ancestor: str
    component: str
    base: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class PendingMergeGate:
    id: int
    a: str
    b: str
    child: Mapping[str, str]
    origin: MergeKind
    examples: tuple[str, ...]


Pending = (
    PendingFull
    | PendingBackfill
    | PendingParent
    | PendingReflect
    | PendingChild
    | PendingMerge
    | PendingMergeGate
    | PendingConfirm
)
EVAL_PHASES = (
    PendingFull,
    PendingBackfill,
    PendingParent,
    PendingChild,
    PendingMergeGate,
    PendingConfirm,
)

_BY_PHASE: dict[str, type[Any]] = {
    "full": PendingFull,
    "backfill": PendingBackfill,
    "parent": PendingParent,
    "reflect": PendingReflect,
    "child": PendingChild,
    "merge": PendingMerge,
    "merge_gate": PendingMergeGate,
    "confirm": PendingConfirm,
}
_PHASE_OF = {cls: name for name, cls in _BY_PHASE.items()}
_CHOICES: dict[str, tuple[str, ...]] = {
    "mode": ("improve", "condense"),
    "kind": ("reflection", "prune"),
    "origin": ("merge", "crossover"),
}


def pending_to_dict(p: Pending) -> dict[str, Any]:
    data = asdict(p)
    for key, value in data.items():
        if isinstance(value, tuple):
            data[key] = list(value)
        elif isinstance(value, Mapping):
            data[key] = dict(value)
    return {"phase": _PHASE_OF[type(p)], **data}


def _field(cls: type[Any], name: str, value: object) -> object:
    kind = {f.name: f.type for f in fields(cls)}[name]
    where = f"pending {_PHASE_OF[cls]} request: field {name!r}"
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise StateError(f"{where} must be an integer")
        return value
    if kind == "tuple[str, ...]":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise StateError(f"{where} must be a list of strings")
        return tuple(value)
    if kind == "Mapping[str, str]":
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise StateError(f"{where} must map component names to text")
        return dict(value)
    if not isinstance(value, str):
        raise StateError(f"{where} must be a string")
    if name in _CHOICES and value not in _CHOICES[name]:
        raise StateError(f"{where} must be one of {', '.join(_CHOICES[name])}, not {value!r}")
    return value


def pending_from_dict(data: object, candidates: Mapping[str, object]) -> Pending | None:
    """The pending request of a loaded state, checked field by field and against the pool."""
    if data is None:
        return None
    if not isinstance(data, dict):
        raise StateError("the pending request must be an object or null")
    phase = data.get("phase")
    cls = _BY_PHASE.get(phase) if isinstance(phase, str) else None
    if cls is None:
        raise StateError(f"the pending request has an unknown phase {phase!r}")
    names = {f.name for f in fields(cls)}
    given = set(data) - {"phase"}
    required = {f.name for f in fields(cls) if f.default is MISSING}
    missing = required - given
    if missing or given - names:
        raise StateError(
            f"pending {phase} request: missing {sorted(missing)} or unknown {sorted(given - names)}"
        )
    values = {name: _field(cls, name, data[name]) for name in given}
    pending: Pending = cls(**values)
    for ref in ("cand", "parent", "a", "b", "ancestor"):
        cid = values.get(ref)
        if isinstance(cid, str) and cid not in candidates:
            raise StateError(f"pending {phase} request names unknown candidate {cid!r}")
    return pending
