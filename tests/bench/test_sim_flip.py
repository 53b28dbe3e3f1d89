"""The flip scenario: a rule flips mid-run; its keys, semantics, measures and sim-server answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gepad.learning._drift_prompts import (
    parse_contradictions,
    parse_forget,
    parse_instructions,
    render_contradiction,
    render_forget,
    render_remove_rule,
    render_supersede,
)
from gepad.store import Example
from gepad_sim import ScenarioError, load_scenario, loads_scenario, run_named, split_tasks
from gepad_sim._flip import (
    flip_arrivals,
    flip_pairs,
    flip_task,
    flipped_by_input,
    follows_new_rule,
    post_flip_auc,
)
from gepad_sim._lms import Record
from gepad_sim._realistic import RealisticLMs
from gepad_sim._server_roles import SimRoles

SCENARIOS = Path(__file__).resolve().parents[2] / "bench" / "scenarios"

TINY = """
name = "tiny-flip"
seed_prompt = "seed"
[sim]
mode = "realistic"
comply_noise = 0.0
vague_prob = 0.0
note_prob = 0.0
forget_base = 0.0
forget_per_line = 0.0
extract_prob = 1.0
replace_prob = 1.0
[[rules]]
id = "tabs"
statement = "Indent with tabs."
triggers = ["tabs"]
feedback = "Tabs please, not spaces."
flips_to = "spaces"
[[rules]]
id = "spaces"
statement = "Indent with four spaces."
triggers = ["four spaces"]
feedback = "We moved to four-space indents."
phrasings = ["The formatter wants 4-space indentation now."]
[[tasks]]
id = "t1"
input = "Write a loop."
rules = ["tabs"]
[[tasks]]
id = "t2"
input = "Write a class."
rules = ["tabs"]
[[tasks]]
id = "t3"
input = "Write a function."
rules = []
[[tasks]]
id = "t4"
input = "Write a test."
rules = ["tabs"]
"""


def _example(i: int, comment: str, context: str = "Write a loop.") -> Example:
    return Example(
        id=i, kind="thumbs_down", component="general", workspace=None, file=None,
        language=None, context=context, output="x", corrected=None, comment=comment,
        outcome=None, generation_id=None, prompt_version=None, split="train", retired=False,
        created_at=0.0, content_hash=str(i),
    )  # fmt: skip


def test_the_shipped_flip_scenario_loads_and_old_examples_outnumber_new_ones() -> None:
    sc = load_scenario(SCENARIOS / "realistic-flip.toml")
    assert flip_pairs(sc) == {"single_quotes": "double_quotes"}
    split = split_tasks(sc.tasks, 0)
    pre, post = flip_arrivals(sc, split.train, split.val, 600)
    old = sum("single_quotes" in t.rules for t, _ in pre)
    new = sum("double_quotes" in t.rules for t, _ in post)
    assert 0 < new < old
    assert not any("single_quotes" in t.rules for t, _ in post)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('flips_to = "spaces"', 'flips_to = "tabs"', "'flips_to' must name another rule id"),
        ('flips_to = "spaces"', 'flips_to = "nosuch"', "'flips_to' must name another rule id"),
        ('id = "t4"\ninput = "Write a test."\nrules = ["tabs"]',
         'id = "t4"\ninput = "Write a test."\nrules = ["spaces"]', "a flip's new rule"),
        ('feedback = "We moved to four-space indents."',
         'feedback = "We moved to four-space indents."\nflips_to = "tabs"', "cannot flip again"),
    ],
)  # fmt: skip
def test_bad_flip_keys_are_named(old: str, new: str, message: str) -> None:
    assert old in TINY
    with pytest.raises(ScenarioError, match=message):
        loads_scenario(TINY.replace(old, new))


def test_a_rule_whose_partner_is_stated_too_is_followed_about_half_the_time() -> None:
    sc = loads_scenario(TINY)
    lms = RealisticLMs(sc, 0)
    t1 = sc.tasks[0]
    assert lms.run_task("Indent with tabs.", t1).score == 1.0
    assert lms.run_task("Indent with four spaces.", t1).score == 0.0
    both = [
        lms.run_task("Indent with tabs.\nIndent with four spaces.", t1).score for _ in range(400)
    ]
    assert 0.4 < sum(both) / len(both) < 0.6
    flipped = flip_task(t1, flip_pairs(sc))
    assert flipped.rules == ("spaces",) and flipped.input == t1.input
    assert lms.run_task("Indent with four spaces.", flipped).score == 1.0


def test_reflecting_on_a_new_complaint_replaces_the_old_rule() -> None:
    sc = loads_scenario(TINY)
    lms = RealisticLMs(sc, 0)
    flipped = flip_task(sc.tasks[0], flip_pairs(sc))
    out = lms.run_task("Indent with tabs.", flipped)
    assert out.missed == ("spaces",)
    assert "four-space" in out.feedback or "4-space" in out.feedback
    new = lms.reflect("Indent with tabs.", [Record(flipped.input, out.output, out.feedback)])
    assert follows_new_rule(sc, new) is True  # replace_prob = 1: the tabs line is gone


def test_online_flip_runs_report_post_flip_auc_and_whether_the_new_rule_is_followed() -> None:
    sc = load_scenario(SCENARIOS / "realistic-flip.toml")
    result = run_named(sc, "gepad", seed=0, budget=200, online=True)
    assert result.post_flip_auc is not None and 0.0 <= result.post_flip_auc <= 1.0
    assert isinstance(result.follows_new_rule, bool)
    doc = result.to_json()
    assert "post_flip_auc" in doc and "follows_new_rule" in doc
    flip_clock = round(sc.realistic.params.flip_at * 200)  # type: ignore[union-attr]
    marks = [v for m, v in result.heldout_curve if m >= flip_clock]
    assert result.post_flip_auc == pytest.approx(sum(marks) / len(marks))
    batch = run_named(sc, "gepad", seed=0, budget=200)
    assert batch.post_flip_auc is None  # the flip happens in online runs only


def test_post_flip_auc_and_follows_new_rule() -> None:
    sc = loads_scenario(TINY)
    assert post_flip_auc([(0, 0.0), (40, 0.5), (80, 1.0)], 40, 80) == 0.75
    assert post_flip_auc([(0, 0.0)], 40, 80) is None
    assert follows_new_rule(sc, "Indent with four spaces.") is True
    assert follows_new_rule(sc, "Indent with tabs.\nIndent with four spaces.") is False
    assert follows_new_rule(loads_scenario(TINY.replace('flips_to = "spaces"\n', "")), "x") is None


def test_the_sim_server_flips_late_and_held_out_tasks_only() -> None:
    sc = load_scenario(SCENARIOS / "realistic-flip.toml")
    split = split_tasks(sc.tasks, 3)
    flipped = flipped_by_input(sc, 3, 600)
    _, post = flip_arrivals(sc, split.train, split.val, 600)
    assert set(flipped) == {t.input for t, _ in post} | {t.input for t in split.test}
    assert flipped_by_input(sc, 3, None) == {}


def test_the_sim_reflection_model_answers_the_contradiction_template_from_the_rules() -> None:
    sc = loads_scenario(TINY)
    roles = SimRoles(sc, 0, drift_error=0.0)
    items = [
        _example(3, "Tabs please, not spaces."),
        _example(5, "Some other remark."),
        _example(8, "The formatter wants 4-space indentation now."),
    ]
    prompt = render_contradiction(items, {8})
    answer = roles.answer("reflect", "", prompt).text
    found = parse_contradictions(answer, {3, 5, 8}, {8})
    assert [(c.newer, c.older) for c in found] == [(8, 3)]
    forget = roles.answer("reflect", "", render_forget("tabs", items)).text
    assert parse_forget(forget, {3, 5, 8}) == [3]
    removed = roles.answer(
        "reflect", "", render_remove_rule("tabs", "Be kind.\nIndent with tabs.")
    ).text
    assert parse_instructions(removed) == "Be kind."
    superseded = roles.answer(
        "reflect", "", render_supersede([(items[0], items[2])], "Be kind.\nIndent with tabs.")
    ).text
    assert parse_instructions(superseded) == "Be kind.\nIndent with four spaces."
    unrelated = roles.answer(
        "reflect", "", render_supersede([(items[1], items[2])], "Be kind.\nIndent with tabs.")
    ).text
    assert parse_instructions(unrelated) == "Be kind.\nIndent with tabs."


def test_the_sim_reflection_model_errs_at_its_error_rate() -> None:
    sc = loads_scenario(TINY)
    roles = SimRoles(sc, 0, drift_error=0.3)
    items = [
        _example(3, "Tabs please, not spaces."),
        _example(8, "We moved to four-space indents."),
    ]
    misses = 0
    for n in range(300):
        # Distinct requests (the context differs), so each answer is its own draw.
        items[0] = _example(3, "Tabs please, not spaces.", context=f"Write loop {n}.")
        found = json.loads(roles.answer("reflect", "", render_contradiction(items, {8})).text)
        pairs = found["contradictions"]
        misses += not any(p["older"] == 3 and p["reason"] != "seems opposite" for p in pairs)
    assert 0.2 < misses / 300 < 0.4


def test_garbage_answers_are_rejected_with_a_reason() -> None:
    asked, new = {3, 5, 8}, {8}
    cases = {
        "sure, 3 contradicts 8": "not JSON",
        "[1, 2]": "not a JSON object",
        '{"contradictions": [], "extra": 1}': "keys",
        '{"contradictions": {"newer": 8}}': "must be a list",
        '{"contradictions": [{"newer": 8, "older": 4}]}': "item 4 was not asked about",
        '{"contradictions": [{"newer": 5, "older": 3}]}': "is not a NEW item",
        '{"contradictions": [{"newer": 8, "older": "3"}]}': "must be an item id",
        '{"contradictions": [{"newer": 8, "older": true}]}': "must be an item id",
        '{"contradictions": [{"newer": 8}]}': "must be an object of newer, older and reason",
    }
    from gepad.learning._drift_prompts import DriftAnswerError

    for text, reason in cases.items():
        with pytest.raises(DriftAnswerError, match=reason):
            parse_contradictions(text, asked, new)
    fenced = '```json\n{"contradictions": [{"newer": 8, "older": 3, "reason": "flip"}]}\n```'
    assert [(c.newer, c.older, c.reason) for c in parse_contradictions(fenced, asked, new)] == [
        (8, 3, "flip")
    ]
    with pytest.raises(DriftAnswerError, match="not asked about"):
        parse_forget('{"about": [3, 9]}', asked)
    with pytest.raises(DriftAnswerError, match="one ``` block"):
        parse_instructions("no block here")
