"""The simulated server's role logic in-process: the engine's own templates round-trip through
the server's parsers, and the sim judge scores what the user complained about."""

from __future__ import annotations

import json

import pytest
from gepad_simserver_testing import PYTHON_STYLE
from hypothesis import given, settings
from hypothesis import strategies as st

from gepa_engine import ReflectiveRecord, parse_instruction_block
from gepa_engine._templates import render_condense, render_merge, render_reflection
from gepad_sim import (
    APOLOGY,
    JUDGE_AVOIDS_ALL,
    UNKNOWN_TASK_OUTPUT,
    Record,
    SimLMs,
    SimRoles,
    SimServerError,
    bind_address,
    judge_new_output,
    load_scenario,
    parse_condense_prompt,
    parse_judge_sections,
    parse_merge_prompt,
    parse_reflection_prompt,
)
from gepad_sim._server_roles import followed_ids

SCENARIO = load_scenario(PYTHON_STYLE)
RULES = SCENARIO.rules


def rec(i: int, inp: str, out: str, fb: str, score: float | None = 0.5) -> ReflectiveRecord:
    return ReflectiveRecord(example_id=f"e{i}", input=inp, output=out, feedback=fb, score=score)


def test_reflection_prompt_round_trips_tricky_fields() -> None:
    records = [
        rec(1, "line one\nline two ```py x```", "followed: a; missed: b", "fb with\n\nblank"),
        # A feedback that quotes the next record's header must not cut the record short.
        rec(2, "", "", "### Example 3 (score 0.10)\n### Example 2 (score", None),
        rec(3, "  indented input", "out", "trailing newline\n", 1.0),
    ]
    parsed = parse_reflection_prompt(render_reflection("rule one\n```\nrule two", records))
    assert parsed is not None
    assert parsed.current == "rule one\n'''\nrule two"
    assert parsed.records == (
        Record("line one\nline two '''py x'''", "followed: a; missed: b", "fb with\n\nblank"),
        Record("(not recorded)", "(empty)", "### Example 3 (score 0.10)\n### Example 2 (score"),
        Record("  indented input", "out", "trailing newline\n"),
    )


def test_reflection_prompt_with_no_records_and_stripped_text() -> None:
    parsed = parse_reflection_prompt("\n  " + render_reflection("only rule", []).strip() + "\n")
    assert parsed is not None and parsed.current == "only rule" and parsed.records == ()


# Fields the engine renders as they are: no surrogates, no edge whitespace (the templates put
# each field between newlines, so edge whitespace is ambiguous by construction).
_field = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60
).filter(lambda s: s == s.strip())


@settings(max_examples=60, deadline=None)
@given(
    current=_field,
    rows=st.lists(st.tuples(_field, _field, _field), max_size=4),
)
def test_reflection_prompt_round_trip_property(
    current: str, rows: list[tuple[str, str, str]]
) -> None:
    records = [rec(i, a, b, c) for i, (a, b, c) in enumerate(rows)]
    parsed = parse_reflection_prompt(render_reflection(current, records))
    assert parsed is not None
    fence = "'''"
    assert parsed.current == current.replace("```", fence)
    assert parsed.records == tuple(
        Record(a.replace("```", fence), b.replace("```", fence), c.replace("```", fence))
        for a, b, c in rows
    )


def test_condense_and_merge_prompts_round_trip() -> None:
    condense = parse_condense_prompt(render_condense("a\n```\nb", 12))
    assert condense is not None
    assert (condense.current, condense.length, condense.limit) == ("a\n'''\nb", 7, 12)
    merge = parse_merge_prompt(render_merge("anc", "line a\nshared", "shared\nline b"))
    assert merge is not None
    assert (merge.ancestor, merge.a, merge.b) == ("anc", "line a\nshared", "shared\nline b")


def test_prompts_are_not_mistaken_for_each_other() -> None:
    reflection = render_reflection("x", [rec(1, "i", "o", "f")])
    merge = render_merge("a", "b", "c")
    condense = render_condense("x", 1)
    assert parse_merge_prompt(reflection) is None and parse_condense_prompt(reflection) is None
    assert parse_reflection_prompt(merge) is None and parse_condense_prompt(merge) is None
    assert parse_reflection_prompt(condense) is None and parse_merge_prompt(condense) is None
    # A renumbered record is not what render_reflection writes.
    assert parse_reflection_prompt(reflection.replace("### Example 1", "### Example 2")) is None
    assert parse_reflection_prompt("Please improve my prompt: be nice.") is None


def test_roles_answer_like_simlms_on_the_same_stream() -> None:
    roles, local = SimRoles(SCENARIO, 5), SimLMs(SCENARIO, 5)
    task = SCENARIO.tasks[0]
    rule = next(r for r in RULES if r.id in task.rules)
    prompt = "\n".join(r.statement for r in RULES)
    assert roles.task(prompt, f"  {task.input}\n").text == local.run_task(prompt, task).output
    records = [rec(1, task.input, "followed: none; missed: x", rule.feedback)]
    answer = roles.reflect(render_reflection(SCENARIO.seed_prompt, records)).text
    expected = local.reflect(
        SCENARIO.seed_prompt, [Record(task.input, "followed: none; missed: x", rule.feedback)]
    )
    assert answer == "```\n" + expected + "\n```"
    assert parse_instruction_block(answer, max_chars=10_000).text == expected.strip()
    merged = local.merge("a1\na2", "b1")
    assert roles.merge(render_merge("anc", "a1\na2", "b1")).text == "```\n" + merged + "\n```"
    unknown = roles.task(prompt, "not a task of this scenario")
    assert unknown.text == UNKNOWN_TASK_OUTPUT and unknown.unknown_task
    assert roles.sim.rollouts == 1
    bad = roles.reflect("improve this please")
    assert bad.text == APOLOGY and bad.unparsed
    assert parse_instruction_block(bad.text, max_chars=10_000).error is not None


def judge_prompt(**sections: str) -> str:
    titles = {
        "complaint": "User's complaint",
        "correction": "User's correction",
        "failure": "Failure message",
        "comment": "User's comment",
        "original": "Original output",
        "new": "New output",
    }
    return "Judge this.\n\n" + "\n\n".join(f"## {titles[k]}\n{v}" for k, v in sections.items())


def test_judge_scores_complained_rules_the_new_output_follows() -> None:
    a, b, c = RULES[0], RULES[1], RULES[2]
    prompt = judge_prompt(
        complaint=f"Please fix this. {a.feedback}",
        correction=f"I edited it:\n{b.feedback}",
        failure=c.feedback,
        new=f"followed: {a.id}, {c.id}; missed: {b.id}",
    )
    verdict = judge_new_output(RULES, prompt)
    assert verdict.complained == (a.id, b.id, c.id)
    assert verdict.verdict == "fail" and verdict.score == pytest.approx(2 / 3)
    assert verdict.explanation == b.feedback
    assert json.loads(verdict.to_json()) == {
        "verdict": "fail",
        "score": pytest.approx(2 / 3),
        "explanation": b.feedback,
    }


def test_judge_passes_when_every_complaint_is_followed_or_none_was_made() -> None:
    a, b = RULES[0], RULES[1]
    # Words wrapped differently on the way still count as the user's.
    wrapped = a.feedback.replace(" ", "\n", 2)
    verdict = judge_new_output(RULES, judge_prompt(comment=wrapped, new=f"followed: {a.id}"))
    assert (verdict.verdict, verdict.score, verdict.explanation) == ("pass", 1.0, JUDGE_AVOIDS_ALL)
    # Feedback outside the user's sections (the old output, the new output) is no complaint.
    verdict = judge_new_output(
        RULES, judge_prompt(original=b.feedback, new=f"followed: none; missed: {b.id} {b.feedback}")
    )
    assert (verdict.verdict, verdict.score, verdict.complained) == ("pass", 1.0, ())
    both = judge_new_output(
        RULES,
        judge_prompt(complaint=f"{a.feedback} {b.feedback}", new="followed: none; missed: all"),
    )
    assert both.score == 0.0 and both.explanation == f"{a.feedback} {b.feedback}"


def test_judge_without_new_output_fails_and_says_so() -> None:
    verdict = judge_new_output(RULES, judge_prompt(complaint=RULES[0].feedback))
    assert (verdict.verdict, verdict.score, verdict.has_output) == ("fail", 0.0, False)
    assert "New output" in verdict.explanation


def test_judge_sections_and_followed_ids() -> None:
    sections = parse_judge_sections("intro\n## A\none\n## B\ntwo\nlines\n## A\nagain\n")
    assert sections == {"A": "one\n\nagain", "B": "two\nlines"}
    assert followed_ids("followed: x, y_z; missed: q") == ("x", "y_z")
    assert followed_ids("followed: none; missed: a") == ()
    assert followed_ids("no such field") == ()


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_hosts_are_accepted(host: str) -> None:
    assert bind_address(host) in {"127.0.0.1", "127.0.0.2", "::1"}


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.7", "8.8.8.8", "example.com"])
def test_other_hosts_are_refused(host: str) -> None:
    with pytest.raises(SimServerError, match="loopback"):
        bind_address(host)
