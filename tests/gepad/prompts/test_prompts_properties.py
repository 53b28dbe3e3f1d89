"""Random sequences of prompt operations against a model of what they must do.

Invariants checked after every step: exactly one current version per component, versions
1..n in insert order, at most one pending and none ever in auto mode, pinned components never
swap on a proposal, the in-memory state equals the committed database, and only PromptError
subclasses are ever raised. A `restart` step closes and reopens everything.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gepad.errors import PromptError, PromptVersionError, UnknownComponentError
from gepad.prompts import PromptService
from gepad.store import Store

COMPONENTS = ["general", "kernel", "extra"]  # "extra" starts unknown
SEEDS = {"general": "seed general", "kernel": "seed kernel"}
TEXTS = ["alpha", "beta", "gamma", "seed general"]


@dataclass
class Model:
    texts: list[str]  # index v-1 holds version v's text
    current: int
    pending: int | None = None
    pinned: bool = False
    held: set[int] = field(default_factory=set)


component = st.sampled_from(COMPONENTS)
version = st.integers(min_value=1, max_value=8)
text = st.sampled_from(TEXTS)
operation = st.one_of(
    st.tuples(st.just("set"), component, text),
    st.tuples(st.just("propose"), component, text),
    st.tuples(st.just("approve"), component, version),
    st.tuples(st.just("reject"), component, version),
    st.tuples(st.just("rollback"), component, version),
    st.tuples(st.just("pin"), component, st.booleans()),
    st.tuples(st.just("restart")),
)


def _apply(model: dict[str, Model], policy: str, op: tuple[Any, ...]) -> type[Exception] | None:
    """Update the model; return the error the service must raise (model then unchanged)."""
    kind = op[0]
    if kind == "restart":
        return None
    name = op[1]
    m = model.get(name)
    if kind == "set":
        if m is None:
            model[name] = Model(texts=[op[2]], current=1)
        else:
            m.texts.append(op[2])
            m.current = len(m.texts)
        return None
    if m is None:
        return UnknownComponentError
    if kind == "propose":
        m.texts.append(op[2])
        n = len(m.texts)
        if m.pinned:
            m.held.add(n)
        elif policy == "review":
            m.pending = n
        else:
            m.current, m.pending = n, None
        return None
    if kind in ("approve", "reject"):
        if m.pending != op[2]:
            return PromptVersionError
        if kind == "approve":
            m.current = op[2]
        m.pending = None
        return None
    if kind == "rollback":
        v = op[2]
        if v > len(m.texts) or v == m.current or v == m.pending:
            return PromptVersionError
        m.texts.append(m.texts[v - 1])
        m.current = len(m.texts)
        return None
    m.pinned = op[2]
    return None


async def _call(service: PromptService, op: tuple[Any, ...]) -> None:
    kind, name, arg = op
    if kind == "set":
        await service.set_text(name, arg)
    elif kind == "propose":
        await service.propose(name, arg, score=0.5, candidate_id=None)
    elif kind == "approve":
        await service.approve(name, arg)
    elif kind == "reject":
        await service.reject(name, arg)
    elif kind == "rollback":
        await service.rollback(name, arg)
    else:
        await service.pin(name, arg)


def _check(db: Path, service: PromptService, model: dict[str, Model], policy: str) -> None:
    assert service.components() == sorted(model)
    con = sqlite3.connect(db)
    try:
        for name, m in model.items():
            rows = con.execute(
                "SELECT version, text, status FROM prompt_versions WHERE component = ? ORDER BY id",
                (name,),
            ).fetchall()
            assert [r[0] for r in rows] == list(range(1, len(m.texts) + 1))
            assert [r[1] for r in rows] == m.texts
            statuses = {r[0]: r[2] for r in rows}
            assert [v for v, s in statuses.items() if s == "current"] == [m.current]
            pending = [v for v, s in statuses.items() if s == "pending"]
            assert pending == ([] if m.pending is None else [m.pending])
            if policy == "auto":
                assert not pending
            assert {v for v, s in statuses.items() if s == "held"} == m.held
            cs = con.execute(
                "SELECT current_version, pending_version, pinned FROM components "
                "WHERE component = ?",
                (name,),
            ).fetchone()
            assert cs == (m.current, m.pending, int(m.pinned))
            state = service.current(name)
            assert (state.version, state.text, state.pinned) == (
                m.current,
                m.texts[m.current - 1],
                m.pinned,
            )
            assert (state.pending.version if state.pending else None) == m.pending
    finally:
        con.close()


async def _run(policy: str, ops: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "gepad.db"
        store = await Store.open(db)
        service = PromptService(store, swap_policy=policy, seeds=SEEDS)  # type: ignore[arg-type]
        await service.start()
        model = {name: Model(texts=[t], current=1) for name, t in SEEDS.items()}
        try:
            for op in ops:
                expected = _apply(model, policy, op)
                if op[0] == "restart":
                    await store.close()
                    store = await Store.open(db)
                    service = PromptService(store, swap_policy=policy, seeds=SEEDS)  # type: ignore[arg-type]
                    await service.start()
                elif expected is None:
                    await _call(service, op)
                else:
                    try:
                        await _call(service, op)
                    except PromptError as exc:
                        assert isinstance(exc, expected), (op, exc)
                    else:
                        raise AssertionError(f"{op} should have raised {expected.__name__}")
                _check(db, service, model, policy)
        finally:
            await store.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=st.sampled_from(["auto", "review"]), ops=st.lists(operation, max_size=25))
def test_random_operation_sequences_keep_the_invariants(
    policy: str, ops: list[tuple[Any, ...]]
) -> None:
    asyncio.run(_run(policy, ops))
