"""The per-example Pareto frontier: invariants over arbitrary score tables."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gepa_engine._frontier import Frontier

scores = st.sampled_from([0.0, 0.25, 0.5, 1.0])
tables = st.dictionaries(
    st.sampled_from([f"c{i}" for i in range(8)]),
    st.dictionaries(st.sampled_from([f"e{i}" for i in range(10)]), scores, min_size=1),
    min_size=1,
)


def _build(table: dict[str, dict[str, float]]) -> tuple[Frontier, dict[str, float]]:
    f = Frontier()
    for cid, row in table.items():
        for ex, v in row.items():
            f.add_score(cid, ex, v)
    means = {c: sum(r.values()) / len(r) for c, r in table.items()}
    return f, means


@given(tables)
@settings(max_examples=300, deadline=None)
def test_every_member_is_best_somewhere_and_none_is_dominated(
    table: dict[str, dict[str, float]],
) -> None:
    f, means = _build(table)
    members = f.survivors(means)
    assert members, "a non-empty table always has a frontier"
    for c in members:
        best_somewhere = [
            ex for ex, v in table[c].items() if v == max(r[ex] for r in table.values() if ex in r)
        ]
        assert best_somewhere, f"{c} is on the frontier but best nowhere"
        # Not dominated: no other member is at least as good on every example c has, and
        # some member-free example shows c strictly ahead of each other member.
        for other in members:
            if other == c:
                continue
            ahead = [
                ex for ex in table[c] if ex not in table[other] or table[c][ex] > table[other][ex]
            ]
            assert ahead, f"{c} is dominated by {other}"


@given(tables)
@settings(max_examples=200, deadline=None)
def test_incremental_updates_match_a_rebuild(table: dict[str, dict[str, float]]) -> None:
    f, _means = _build(table)
    for ex in {e for r in table.values() for e in r}:
        best = max(r[ex] for r in table.values() if ex in r)
        assert f.front(ex) == {c for c, r in table.items() if r.get(ex) == best}


def test_removing_an_example_updates_wins() -> None:
    f = Frontier()
    f.add_score("c0", "e0", 1.0)
    f.add_score("c1", "e0", 0.5)
    f.add_score("c1", "e1", 1.0)
    assert f.wins("c0") == 1
    f.remove_example("e0")
    assert f.wins("c0") == 0
    assert f.survivors({"c0": 1.0, "c1": 0.75}) == ("c1",)


def test_of_two_identical_candidates_the_stronger_survives() -> None:
    f = Frontier()
    for c in ("c0", "c1"):
        f.add_score(c, "e0", 1.0)
    assert f.survivors({"c0": 0.5, "c1": 0.9}) == ("c1",)
