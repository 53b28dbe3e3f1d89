"""Scenario model, TOML loader and validator.

A scenario is what the simulated user knows: the seed prompt, the rules the user cares about
(each with the words that show a prompt states it and the complaint the user makes when it is
broken), the tasks the assistant is asked to do, and the simulator's knobs. The loader collects
every problem in a file and raises one `ScenarioError` listing them all, so a scenario author
fixes a file in one pass.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gepad_sim._errors import ScenarioError
from gepad_sim._realistic_spec import (
    REALISTIC_RULE_KEYS,
    REALISTIC_SIM_KEYS,
    REALISTIC_TASK_KEYS,
    REALISTIC_TOP_KEYS,
    RealisticSpec,
    parse_realistic,
)

__all__ = [
    "Rule",
    "Scenario",
    "SimParams",
    "Task",
    "load_scenario",
    "loads_scenario",
    "parse_scenario",
]


@dataclass(frozen=True, slots=True)
class SimParams:
    """The simulator's knobs (the `[sim]` table); the defaults are the spec's."""

    extract_prob: float = 0.7
    distractor_prob: float = 0.3
    forget_prob: float = 0.1
    comply_noise: float = 0.05
    max_useful_lines: int = 12
    line_penalty: float = 0.03
    overfit_penalty: float = 0.05

    @property
    def attainable(self) -> float:
        """The best mean score a prompt can expect: every rule stated, only noise left."""
        return 1.0 - self.comply_noise


@dataclass(frozen=True, slots=True)
class Rule:
    """A convention the simulated user wants followed."""

    id: str
    statement: str
    triggers: tuple[str, ...]
    feedback: str
    # Lower-cased once: the task LM tests every rule against every prompt it sees.
    triggers_lower: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "triggers_lower", tuple(t.lower() for t in self.triggers))

    def is_stated_in(self, text: str) -> bool:
        """True when any trigger occurs in `text`, case-insensitive."""
        lowered = text.lower()
        return any(t in lowered for t in self.triggers_lower)


@dataclass(frozen=True, slots=True)
class Task:
    """One request the simulated user makes; `rules` are the ids of the rules it exercises."""

    id: str
    input: str
    rules: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Scenario:
    """A validated scenario. `source` names where it came from (a path, or `<string>`)."""

    name: str
    seed_prompt: str
    sim: SimParams
    rules: tuple[Rule, ...]
    tasks: tuple[Task, ...]
    source: str = "<string>"
    # "v1" (the original user) or "realistic" (`_realistic.py`); `realistic` holds its extras.
    mode: str = "v1"
    realistic: RealisticSpec | None = None


_TOP_KEYS = frozenset({"name", "seed_prompt", "sim", "rules", "tasks", *REALISTIC_TOP_KEYS})
_RULE_KEYS = frozenset({"id", "statement", "triggers", "feedback", *REALISTIC_RULE_KEYS})
_TASK_KEYS = frozenset({"id", "input", "rules", *REALISTIC_TASK_KEYS})
_PROB_KEYS = ("extract_prob", "distractor_prob", "forget_prob", "comply_noise")
_PENALTY_KEYS = ("line_penalty", "overfit_penalty")
_SIM_KEYS = frozenset({*_PROB_KEYS, *_PENALTY_KEYS, "max_useful_lines", *REALISTIC_SIM_KEYS})


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario TOML file; raises `ScenarioError` naming the file."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ScenarioError(source, [f"cannot read the file: {exc.strerror or exc}"]) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(source, [f"not UTF-8 text: {exc}"]) from exc
    return loads_scenario(text, source)


def loads_scenario(text: str, source: str = "<string>") -> Scenario:
    """Parse and validate scenario TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(source, [f"not valid TOML: {exc}"]) from exc
    return parse_scenario(data, source)


def parse_scenario(data: Mapping[str, Any], source: str = "<string>") -> Scenario:
    """Validate an already-parsed TOML document and build the `Scenario`."""
    problems: list[str] = []
    _unknown_keys(data, _TOP_KEYS, "top level", problems)

    name = _required_str(data, "name", "top level", problems)
    seed_prompt = _required_str(data, "seed_prompt", "top level", problems, allow_empty=True)
    sim = _parse_sim(data.get("sim"), problems)
    rules = _parse_rules(data.get("rules"), problems)
    rule_ids = {r.id for r in rules}
    tasks = _parse_tasks(data.get("tasks"), rule_ids, problems)
    mode, realistic = parse_realistic(data, rule_ids, problems)

    if problems:
        raise ScenarioError(source, problems)
    assert name is not None and seed_prompt is not None and sim is not None
    return Scenario(
        name=name,
        seed_prompt=seed_prompt,
        sim=sim,
        rules=rules,
        tasks=tasks,
        source=source,
        mode=mode,
        realistic=realistic if mode == "realistic" else None,
    )


def _unknown_keys(
    table: Mapping[str, Any], allowed: frozenset[str], where: str, problems: list[str]
) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        names = ", ".join(repr(k) for k in unknown)
        noun = "key" if len(unknown) == 1 else "keys"
        known = ", ".join(sorted(allowed))
        problems.append(f"{where}: unknown {noun} {names} (allowed: {known})")


def _type_name(value: object) -> str:
    return type(value).__name__


def _required_str(
    table: Mapping[str, Any],
    key: str,
    where: str,
    problems: list[str],
    *,
    allow_empty: bool = False,
) -> str | None:
    if key not in table:
        problems.append(f"{where}: missing required key {key!r}")
        return None
    value = table[key]
    if not isinstance(value, str):
        problems.append(f"{where}: {key!r} must be a string, not {_type_name(value)}")
        return None
    if not allow_empty and not value.strip():
        problems.append(f"{where}: {key!r} must not be empty")
        return None
    return value


def _is_number(value: object) -> bool:
    # bool is an int subclass; `extract_prob = true` is a mistake, not 1.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _parse_sim(raw: object, problems: list[str]) -> SimParams | None:
    if raw is None:
        return SimParams()
    if not isinstance(raw, Mapping):
        problems.append(f"top level: 'sim' must be a table ([sim]), not {_type_name(raw)}")
        return None
    _unknown_keys(raw, _SIM_KEYS, "[sim]", problems)
    values: dict[str, Any] = {}
    ok = True
    for key in _PROB_KEYS:
        if key in raw:
            v = raw[key]
            if not _is_number(v) or not math.isfinite(v):
                problems.append(f"[sim]: {key!r} must be a number, not {_type_name(v)}")
                ok = False
            elif not 0.0 <= v <= 1.0:
                problems.append(f"[sim]: {key!r} is a probability and must be in [0, 1], got {v}")
                ok = False
            else:
                values[key] = float(v)
    for key in _PENALTY_KEYS:
        if key in raw:
            v = raw[key]
            if not _is_number(v) or not math.isfinite(v):
                problems.append(f"[sim]: {key!r} must be a number, not {_type_name(v)}")
                ok = False
            elif v < 0:
                problems.append(f"[sim]: {key!r} must be >= 0, got {v}")
                ok = False
            else:
                values[key] = float(v)
    if "max_useful_lines" in raw:
        v = raw["max_useful_lines"]
        if not isinstance(v, int) or isinstance(v, bool):
            problems.append(f"[sim]: 'max_useful_lines' must be an integer, not {_type_name(v)}")
            ok = False
        elif v < 0:
            problems.append(f"[sim]: 'max_useful_lines' must be >= 0, got {v}")
            ok = False
        else:
            values["max_useful_lines"] = v
    return SimParams(**values) if ok else None


def _array_of_tables(
    raw: object, key: str, problems: list[str]
) -> list[tuple[int, Mapping[str, Any]]]:
    """The `[[key]]` entries as (1-based position, table); reports a missing or mistyped key."""
    if raw is None:
        problems.append(f"top level: missing required key {key!r} (an array of [[{key}]] tables)")
        return []
    if not isinstance(raw, list):
        problems.append(
            f"top level: {key!r} must be an array of [[{key}]] tables, not {_type_name(raw)}"
        )
        return []
    entries: list[tuple[int, Mapping[str, Any]]] = []
    for pos, item in enumerate(raw, start=1):
        if isinstance(item, Mapping):
            entries.append((pos, item))
        else:
            problems.append(f"[[{key}]] #{pos}: must be a table, not {_type_name(item)}")
    return entries


def _where(kind: str, pos: int, table: Mapping[str, Any]) -> str:
    ident = table.get("id")
    return f"[[{kind}]] #{pos} (id {ident!r})" if isinstance(ident, str) else f"[[{kind}]] #{pos}"


def _str_list(
    table: Mapping[str, Any],
    key: str,
    where: str,
    problems: list[str],
    *,
    required: bool,
    non_empty: bool,
) -> tuple[str, ...] | None:
    if key not in table:
        if required:
            problems.append(f"{where}: missing required key {key!r}")
            return None
        return ()
    value = table[key]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(f"{where}: {key!r} must be a list of strings")
        return None
    if non_empty and not value:
        problems.append(f"{where}: {key!r} must not be empty")
        return None
    return tuple(value)


def _check_unique(
    items: list[tuple[str, str]], what: str, problems: list[str], fmt: Callable[[str], str] = repr
) -> None:
    """`items` are (value, where) pairs; reports every value seen more than once."""
    seen: dict[str, list[str]] = {}
    for value, where in items:
        seen.setdefault(value, []).append(where)
    for value, wheres in seen.items():
        if len(wheres) > 1:
            problems.append(f"duplicate {what} {fmt(value)} in {', '.join(wheres)}")


def _parse_rules(raw: object, problems: list[str]) -> tuple[Rule, ...]:
    rules: list[Rule] = []
    ids: list[tuple[str, str]] = []
    feedbacks: list[tuple[str, str]] = []
    for pos, table in _array_of_tables(raw, "rules", problems):
        where = _where("rules", pos, table)
        _unknown_keys(table, _RULE_KEYS, where, problems)
        rid = _required_str(table, "id", where, problems)
        statement = _required_str(table, "statement", where, problems)
        feedback = _required_str(table, "feedback", where, problems)
        triggers = _str_list(table, "triggers", where, problems, required=True, non_empty=True)
        if triggers is not None:
            for t in triggers:
                if not t.strip():
                    problems.append(f"{where}: 'triggers' must not contain an empty string")
                    triggers = None
                    break
        if statement is not None and triggers is not None:
            lowered = statement.lower()
            if not any(t.lower() in lowered for t in triggers):
                problems.append(
                    f"{where}: the statement {statement!r} contains none of its triggers "
                    f"{list(triggers)!r} (case-insensitive), so it would not count as stated"
                )
        if rid is not None:
            ids.append((rid, where))
        if feedback is not None:
            feedbacks.append((feedback, where))
        if None not in (rid, statement, feedback, triggers):
            assert rid is not None and statement is not None
            assert feedback is not None and triggers is not None
            rules.append(Rule(id=rid, statement=statement, triggers=triggers, feedback=feedback))
    _check_unique(ids, "rule id", problems)
    _check_unique(feedbacks, "feedback string", problems)
    return tuple(rules)


def _parse_tasks(raw: object, rule_ids: set[str], problems: list[str]) -> tuple[Task, ...]:
    tasks: list[Task] = []
    ids: list[tuple[str, str]] = []
    entries = _array_of_tables(raw, "tasks", problems)
    if raw is not None and isinstance(raw, list) and not raw:
        problems.append("top level: 'tasks' must hold at least one [[tasks]] table")
    for pos, table in entries:
        where = _where("tasks", pos, table)
        _unknown_keys(table, _TASK_KEYS, where, problems)
        tid = _required_str(table, "id", where, problems)
        text = _required_str(table, "input", where, problems)
        task_rules = _str_list(table, "rules", where, problems, required=False, non_empty=False)
        if task_rules is not None:
            unknown = [r for r in task_rules if r not in rule_ids]
            if unknown:
                names = ", ".join(repr(r) for r in unknown)
                problems.append(f"{where}: names rule id(s) that no [[rules]] defines: {names}")
            dupes = sorted({r for r in task_rules if task_rules.count(r) > 1})
            if dupes:
                problems.append(
                    f"{where}: lists rule(s) more than once: {', '.join(repr(r) for r in dupes)}"
                )
        if tid is not None:
            ids.append((tid, where))
        if tid is not None and text is not None and task_rules is not None:
            tasks.append(Task(id=tid, input=text, rules=task_rules))
    _check_unique(ids, "task id", problems)
    return tuple(tasks)
