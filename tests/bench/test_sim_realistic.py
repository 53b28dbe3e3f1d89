"""The realistic simulated user, its scenario keys, online runs and paired reporting."""

from __future__ import annotations

from pathlib import Path

import pytest

from gepad_sim import (
    RunContext,
    ScenarioError,
    load_scenario,
    loads_scenario,
    paired_diffs,
    run_named,
    run_optimizer,
)
from gepad_sim._lms import Record
from gepad_sim._realistic import NOTE_TEMPLATES, RealisticLMs

SCENARIOS = Path(__file__).resolve().parents[2] / "bench" / "scenarios"
REALISTIC = ("realistic-python", "realistic-docs", "realistic-cuda", "realistic-scoped")

SMALL = """
name = "tiny"
seed_prompt = "seed"
[sim]
mode = "realistic"
comply_noise = 0.0
vague_prob = 0.0
note_prob = 0.0
forget_base = 0.0
forget_per_line = 0.0
extract_prob = 1.0
[[rules]]
id = "terse"
statement = "Keep commit messages terse."
unscoped_statement = "Be terse."
triggers = ["terse"]
scope_triggers = ["commit"]
conflicts_with = "thorough"
feedback = "Too long."
phrasings = ["Shorter, please."]
[[rules]]
id = "thorough"
statement = "In documentation, be thorough."
unscoped_statement = "Be thorough."
triggers = ["thorough"]
scope_triggers = ["documentation"]
conflicts_with = "terse"
feedback = "Too thin."
[[tasks]]
id = "c1"
input = "commit message one"
rules = ["terse"]
[[tasks]]
id = "d1"
input = "document function one"
rules = ["thorough"]
[[tasks]]
id = "c2"
input = "commit message two"
rules = ["terse"]
[[tasks]]
id = "d2"
input = "document function two"
rules = ["thorough"]
"""


@pytest.mark.parametrize("name", REALISTIC)
def test_shipped_realistic_scenarios_are_big_enough(name: str) -> None:
    s = load_scenario(SCENARIOS / f"{name}.toml")
    assert s.mode == "realistic" and s.realistic is not None
    assert len(s.rules) >= 8 and len(s.tasks) >= 30
    # Complaints vary: every rule has more than one wording.
    assert all(s.realistic.rules[r.id].phrasings for r in s.rules)


def test_the_scoped_scenario_has_conflicting_pairs() -> None:
    s = load_scenario(SCENARIOS / "realistic-scoped.toml")
    assert s.realistic is not None
    conflicts = {r: e.conflicts_with for r, e in s.realistic.rules.items() if e.conflicts_with}
    assert len(conflicts) >= 4
    assert all(conflicts[b] == a for a, b in conflicts.items())


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (('mode = "realistic"', 'mode = "fancy"'), "'mode' must be one of"),
        (("vague_prob = 0.0", "vague_prob = 2.0"), "'vague_prob' must be in"),
        (('unscoped_statement = "Be terse."', 'unscoped_statement = "Be short."'), "trigger"),
        (('conflicts_with = "thorough"', 'conflicts_with = "nosuch"'), "conflicts_with"),
        (('statement = "Keep commit messages terse."', 'statement = "Be terse always."'), "scope"),
    ],
)
def test_bad_realistic_keys_are_named(patch: tuple[str, str], message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        loads_scenario(SMALL.replace(*patch))


def test_an_unscoped_rule_breaks_the_other_rules_tasks_and_the_scoped_one_does_not() -> None:
    lms = RealisticLMs(
        loads_scenario(SMALL.replace("[sim]\n", "[sim]\nconflict_penalty = 1.0\n")), 1
    )
    task = {t.id: t for t in loads_scenario(SMALL).tasks}
    unscoped = "Be terse.\nIn documentation, be thorough."
    assert lms.run_task(unscoped, task["d1"]).score == 0.0
    assert lms.run_task(unscoped, task["c1"]).score == 1.0
    scoped = "Keep commit messages terse.\nIn documentation, be thorough."
    assert lms.run_task(scoped, task["d1"]).score == 1.0


def test_complaints_never_name_rule_ids_and_outputs_are_opaque() -> None:
    lms = RealisticLMs(loads_scenario(SMALL), 3)
    task = loads_scenario(SMALL).tasks[0]
    out = lms.run_task("seed", task)
    assert out.score == 0.0 and out.feedback in ("Too long.", "Shorter, please.")
    assert "terse" not in out.output and out.output.startswith("[answer ")


def test_reflection_extracts_from_the_complaint_and_notes_are_known_only_to_the_simulator() -> None:
    text = SMALL.replace("note_prob = 0.0", "note_prob = 1.0")
    lms = RealisticLMs(loads_scenario(text), 5)
    task = loads_scenario(text).tasks[0]
    out = lms.run_task("seed", task)
    new = lms.reflect("seed", [Record(out.input, out.output, out.feedback)])
    lines = new.splitlines()
    assert "seed" in lines and any("terse" in line.lower() for line in lines)
    notes = [line for line in lines if lms.is_note(line)]
    assert len(notes) == 1
    # A note is free wording about the task's subject, not the v1 verbatim-quote form.
    assert not notes[0].startswith("For inputs like '")
    assert any(notes[0].startswith(t.split("{")[0]) for t in NOTE_TEMPLATES)


def test_rewrites_forget_more_of_a_longer_prompt() -> None:
    text = SMALL.replace("forget_base = 0.0", "forget_base = 0.05").replace(
        "forget_per_line = 0.0", "forget_per_line = 0.02"
    )
    lms = RealisticLMs(loads_scenario(text), 7)
    short = "\n".join(f"rule {i}" for i in range(3))
    long = "\n".join(f"rule {i}" for i in range(20))
    kept_short = sum(len(lms.reflect(short, []).splitlines()) for _ in range(300)) / (300 * 3)
    kept_long = sum(len(lms.reflect(long, []).splitlines()) for _ in range(300)) / (300 * 20)
    assert kept_long < kept_short - 0.15


def test_online_runs_feed_data_and_measure_the_curve_and_prequential_score() -> None:
    s = load_scenario(SCENARIOS / "realistic-python.toml")
    seen: list[int] = []

    def watcher(ctx: RunContext) -> str:
        assert ctx.online and len(ctx.train) < 14
        total = len(ctx.train) + len(ctx.val)
        while ctx.rollouts_left > 0:
            ctx.lms.run_task(ctx.scenario.seed_prompt, ctx.train[0])
            total += len(ctx.arrivals())
            seen.append(total)
        return ctx.scenario.seed_prompt

    r = run_optimizer(s, watcher, name="watch", seed=0, budget=200, online=True)
    assert seen[0] < seen[-1], "examples arrived during the run"
    assert r.online_auc is not None and r.prequential is not None
    assert [mark for mark, _ in r.heldout_curve][:3] == [0, 40, 80]


def test_online_gepad_and_reference_both_run_and_batch_runs_have_no_online_fields() -> None:
    s = load_scenario(SCENARIOS / "realistic-docs.toml")
    g = run_named(s, "gepad", seed=1, budget=160, online=True)
    ref = run_named(s, "reference", seed=1, budget=160, online=True)
    assert g.online_auc is not None and ref.online_auc is not None
    assert g.rollouts_used <= 160
    batch = run_named(s, "gepad", seed=1, budget=100)
    assert batch.online_auc is None and "online_auc" not in batch.to_json()


def test_online_runs_need_a_realistic_scenario() -> None:
    s = load_scenario(SCENARIOS / "python-style.toml")
    with pytest.raises(Exception, match="realistic"):
        run_named(s, "seed", seed=0, budget=10, online=True)


def test_paired_differences_report_mean_stderr_and_wins_ties_losses() -> None:
    s = load_scenario(SCENARIOS / "realistic-cuda.toml")
    runs = [run_named(s, o, seed=k, budget=60) for o in ("gepad", "seed") for k in range(4)]
    (row,) = paired_diffs(runs, "seed")
    assert row.optimizer == "gepad" and len(row.diffs) == 4
    wins, ties, losses = row.counts()
    assert wins + ties + losses == 4
    assert row.stderr >= 0
    assert row.mean == pytest.approx(sum(row.diffs) / 4)
