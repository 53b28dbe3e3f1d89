"""The realistic simulated user's scenario keys: parsing and validation.

A scenario selects the realistic user with `[sim] mode = "realistic"`. Its extra keys (all
optional, all ignored by the v1 user) are:

- in `[sim]`: the probabilities and sizes of `RealisticParams`;
- at the top level: `vague_complaints`, the complaints that name no rule;
- in a `[[rules]]` table: `phrasings` (more ways the user states the complaint, besides
  `feedback`), `scope_triggers` (words that show a statement of the rule is scoped, e.g.
  `["commit message"]`), `unscoped_statement` (how a reflection that misses the scope states the
  rule; it must contain a trigger and no scope trigger) and `conflicts_with` (the id of the rule
  whose tasks an unscoped statement of this rule breaks) and `flips_to` (the id of the rule
  that replaces this one when the user changes their mind mid-run: `_flip.py`; the new rule
  must appear in no task, and each rule flips at most once);
- in a `[[tasks]]` table: `subject`, the few words an over-specific note about the task uses
  (default: derived from the input).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DEFAULT_VAGUE_COMPLAINTS",
    "REALISTIC_RULE_KEYS",
    "REALISTIC_SIM_KEYS",
    "REALISTIC_TASK_KEYS",
    "REALISTIC_TOP_KEYS",
    "RealisticParams",
    "RealisticSpec",
    "RuleExtras",
    "derive_subject",
    "parse_realistic",
]

DEFAULT_VAGUE_COMPLAINTS: tuple[str, ...] = (
    "Not how we do it here.",
    "This isn't what I wanted.",
    "Meh. Please redo this properly.",
    "No, that's not our style.",
)


@dataclass(frozen=True, slots=True)
class RealisticParams:
    """The realistic user's knobs (in `[sim]`); the defaults are the documented ones."""

    vague_prob: float = 0.25
    vague_extract_prob: float = 0.1
    note_prob: float = 0.3
    forget_base: float = 0.02
    forget_per_line: float = 0.012
    forget_max: float = 0.4
    scope_prob: float = 0.3
    rescope_prob: float = 0.5
    conflict_penalty: float = 0.8
    online_start: float = 0.25
    online_every: int = 40
    online_batch: int = 2
    # A scenario with a `flips_to` rule: when the flip happens (share of the online budget)
    # and how often a reflection that writes one rule of a flip pair drops the other's lines.
    flip_at: float = 0.5
    replace_prob: float = 0.5


_FLOAT_KEYS = (
    "vague_prob",
    "vague_extract_prob",
    "note_prob",
    "forget_base",
    "forget_per_line",
    "forget_max",
    "scope_prob",
    "rescope_prob",
    "conflict_penalty",
    "online_start",
    "flip_at",
    "replace_prob",
)
_INT_KEYS = ("online_every", "online_batch")
REALISTIC_SIM_KEYS = frozenset({"mode", *_FLOAT_KEYS, *_INT_KEYS})
REALISTIC_TOP_KEYS = frozenset({"vague_complaints"})
REALISTIC_RULE_KEYS = frozenset(
    {"phrasings", "scope_triggers", "unscoped_statement", "conflicts_with", "flips_to"}
)
REALISTIC_TASK_KEYS = frozenset({"subject"})
_MODES = ("v1", "realistic")


@dataclass(frozen=True, slots=True)
class RuleExtras:
    phrasings: tuple[str, ...] = ()
    scope_triggers: tuple[str, ...] = ()
    unscoped_statement: str | None = None
    conflicts_with: str | None = None
    flips_to: str | None = None


@dataclass(frozen=True, slots=True)
class RealisticSpec:
    """Everything the realistic user adds to a v1 scenario."""

    params: RealisticParams = RealisticParams()
    vague_complaints: tuple[str, ...] = DEFAULT_VAGUE_COMPLAINTS
    rules: Mapping[str, RuleExtras] = field(default_factory=dict)
    subjects: Mapping[str, str] = field(default_factory=dict)


_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "that",
        "which",
        "for",
        "of",
        "to",
        "in",
        "on",
        "with",
        "and",
        "or",
        "from",
        "by",
        "as",
        "is",
        "are",
        "be",
        "it",
        "its",
        "this",
        "write",
        "add",
        "make",
        "create",
        "implement",
        "explain",
        "document",
        "describe",
        "give",
        "me",
        "our",
        "we",
    ]
)


def derive_subject(task_input: str) -> str:
    """A task's subject: up to three content words of its input, in order."""
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z0-9_-]*", task_input.lower())]
    content = [w for w in words if w not in _STOP]
    return " ".join(content[:3]) or "this task"


def parse_realistic(
    data: Mapping[str, Any], rule_ids: set[str], problems: list[str]
) -> tuple[str, RealisticSpec | None]:
    """The scenario's mode and, for a realistic one, its spec; problems are appended."""
    sim = data.get("sim")
    sim = sim if isinstance(sim, Mapping) else {}
    mode = sim.get("mode", "v1")
    if mode not in _MODES:
        problems.append(f"[sim]: 'mode' must be one of {', '.join(_MODES)}, got {mode!r}")
        return "v1", None
    values: dict[str, Any] = {}
    for key in _FLOAT_KEYS:
        if key in sim:
            v = sim[key]
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                problems.append(f"[sim]: {key!r} must be a number, not {type(v).__name__}")
            elif not 0.0 <= v <= 1.0:
                problems.append(f"[sim]: {key!r} must be in [0, 1], got {v}")
            else:
                values[key] = float(v)
    for key in _INT_KEYS:
        if key in sim:
            v = sim[key]
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                problems.append(f"[sim]: {key!r} must be an integer >= 1, got {v!r}")
            else:
                values[key] = v
    vague = data.get("vague_complaints", list(DEFAULT_VAGUE_COMPLAINTS))
    if (
        not isinstance(vague, list)
        or not vague
        or not all(isinstance(v, str) and v.strip() for v in vague)
    ):
        problems.append("top level: 'vague_complaints' must be a non-empty list of strings")
        vague = list(DEFAULT_VAGUE_COMPLAINTS)
    extras: dict[str, RuleExtras] = {}
    for pos, table in enumerate(_tables(data.get("rules")), start=1):
        rid = table.get("id")
        where = f"[[rules]] #{pos} (id {rid!r})"
        extra = _rule_extras(table, where, rule_ids, problems)
        if isinstance(rid, str) and extra is not None:
            extras[rid] = extra
    subjects: dict[str, str] = {}
    for pos, table in enumerate(_tables(data.get("tasks")), start=1):
        tid = table.get("id")
        subject = table.get("subject")
        if subject is not None and (not isinstance(subject, str) or not subject.strip()):
            problems.append(f"[[tasks]] #{pos} (id {tid!r}): 'subject' must be a non-empty string")
        elif isinstance(tid, str):
            text = table.get("input")
            subjects[tid] = subject or derive_subject(text if isinstance(text, str) else "")
    _check_flips(data, extras, problems)
    spec = RealisticSpec(
        params=RealisticParams(**values),
        vague_complaints=tuple(vague),
        rules=extras,
        subjects=subjects,
    )
    return str(mode), spec


def _tables(raw: object) -> list[Mapping[str, Any]]:
    return [t for t in raw if isinstance(t, Mapping)] if isinstance(raw, list) else []


def _strings(
    table: Mapping[str, Any], key: str, where: str, problems: list[str]
) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.append(f"{where}: {key!r} must be a list of non-empty strings")
        return ()
    return tuple(value)


def _rule_extras(
    table: Mapping[str, Any], where: str, rule_ids: set[str], problems: list[str]
) -> RuleExtras | None:
    phrasings = _strings(table, "phrasings", where, problems)
    scope = _strings(table, "scope_triggers", where, problems)
    unscoped = table.get("unscoped_statement")
    conflicts = table.get("conflicts_with")
    triggers = [t.lower() for t in table.get("triggers", []) if isinstance(t, str)]
    ok = True
    if unscoped is not None:
        low = unscoped.lower() if isinstance(unscoped, str) else ""
        if not isinstance(unscoped, str) or not any(t in low for t in triggers):
            problems.append(f"{where}: 'unscoped_statement' must be a string holding a trigger")
            ok = False
        elif any(s.lower() in low for s in scope):
            problems.append(f"{where}: 'unscoped_statement' must not contain a scope trigger")
            ok = False
    if scope and unscoped is None:
        problems.append(f"{where}: 'scope_triggers' needs an 'unscoped_statement'")
        ok = False
    statement = table.get("statement")
    if (
        scope
        and isinstance(statement, str)
        and not any(s.lower() in statement.lower() for s in scope)
    ):
        problems.append(f"{where}: a scoped rule's 'statement' must contain a scope trigger")
        ok = False
    if conflicts is not None and (not isinstance(conflicts, str) or conflicts not in rule_ids):
        problems.append(f"{where}: 'conflicts_with' must name a rule id, got {conflicts!r}")
        ok = False
    flips = table.get("flips_to")
    if flips is not None and (
        not isinstance(flips, str) or flips not in rule_ids or flips == table.get("id")
    ):
        problems.append(f"{where}: 'flips_to' must name another rule id, got {flips!r}")
        ok = False
    if not ok:
        return None
    return RuleExtras(
        phrasings=phrasings,
        scope_triggers=scope,
        unscoped_statement=unscoped,
        conflicts_with=conflicts,
        flips_to=flips,
    )


def _check_flips(
    data: Mapping[str, Any], extras: Mapping[str, RuleExtras], problems: list[str]
) -> None:
    """A flip's new rule is asked for only after the flip: in no task, flipping no further."""
    targets: dict[str, str] = {}
    for rid, extra in extras.items():
        new = extra.flips_to
        if new is None:
            continue
        if new in targets:
            problems.append(f"rules {targets[new]!r} and {rid!r} both flip to {new!r}")
        targets[new] = rid
        if new in extras and extras[new].flips_to is not None:
            problems.append(f"rule {new!r} is a flip's new rule and cannot flip again")
    if not targets:
        return
    for pos, table in enumerate(_tables(data.get("tasks")), start=1):
        rules = table.get("rules", [])
        named = sorted(t for t in targets if isinstance(rules, list) and t in rules)
        if named:
            problems.append(
                f"[[tasks]] #{pos} (id {table.get('id')!r}): lists {', '.join(map(repr, named))}, "
                "a flip's new rule; tasks name the old rule and the flip swaps it"
            )
