"""The simulated LMs and the split, against expectations worked out from the spec by hand.

Where a probability is 0 or 1 the outcome is certain. Elsewhere the expectation is computed from
a separate `random.Random(seed)`, replaying the spec's draws in the spec's order; a wrong draw
order or a wrong comparison shows up as a different outcome.
"""

from __future__ import annotations

import random
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gepad_sim import (
    LOOKS_RIGHT,
    Record,
    Rule,
    Scenario,
    SimLMs,
    SimParams,
    Task,
    over_specific_line,
    over_specific_pattern,
    prompt_lines,
    split_tasks,
)

RULES = (
    Rule("snake", "Name functions in snake_case.", ("snake_case",), "camelCase again."),
    Rule("hints", "Add type hints.", ("type hints", "annotations"), "Where are the hints?"),
    Rule("paths", "Use pathlib for paths.", ("pathlib",), "os.path again."),
)
T_ALL = Task(
    "t1",
    "Write a helper that returns the current user's display name.",
    ("snake", "hints", "paths"),
)
T_NONE = Task("t2", "Explain generators.", ())


def scenario(**sim: float) -> Scenario:
    return Scenario(
        name="unit",
        seed_prompt="You are a coding assistant.",
        sim=SimParams(**sim),  # type: ignore[arg-type]
        rules=RULES,
        tasks=(T_ALL, T_NONE),
    )


def fillers(n: int) -> list[str]:
    return [f"Filler line {i}." for i in range(n)]


# -- prompt reading -------------------------------------------------------------------------------


def test_lines_are_non_empty_stripped_lines() -> None:
    assert prompt_lines("  a  \n\n\t\n b\r\nc ") == ["a", "b", "c"]
    assert prompt_lines("") == []


def test_over_specific_line_format_quotes_the_first_40_chars() -> None:
    text = "Write a function that formats a duration in seconds as 1h 02m 03s."
    assert over_specific_line(text) == (
        "For inputs like 'Write a function that formats a duration', be extra careful."
    )
    assert over_specific_line("short") == "For inputs like 'short', be extra careful."


@pytest.mark.parametrize(
    ("line", "pattern"),
    [
        ("For inputs like 'abc', be extra careful.", "abc"),
        ("For inputs like 'it's a, b', 'c', be extra careful.", "it's a, b', 'c"),
        ("For inputs like '', be extra careful.", ""),
        ("For inputs like 'abc' be extra careful.", None),
        ("for inputs like 'abc', be extra careful.", None),
        ("For inputs like 'abc', be extra careful", None),
        ("For inputs like 'abc', be extra careful. Really.", None),
        ("For inputs like ', be extra careful.", None),
    ],
)
def test_over_specific_pattern_parsing(line: str, pattern: str | None) -> None:
    assert over_specific_pattern(line) == pattern


@given(st.text())
def test_over_specific_round_trip(task_input: str) -> None:
    assert over_specific_pattern(over_specific_line(task_input)) == task_input[:40]


# -- task LM --------------------------------------------------------------------------------------


def test_no_rule_task_scores_one_and_draws_nothing() -> None:
    lms = SimLMs(scenario(comply_noise=1.0), seed=3)
    out = lms.run_task("anything", T_NONE)
    assert out.score == 1.0 and out.feedback == LOOKS_RIGHT
    assert out.output == "followed: none; missed: none"
    # No draw was taken: the next stated rule sees the stream's first number.
    replay = random.Random(3)
    first, second = replay.random(), replay.random()
    assert second >= first + 1e-12  # so a consumed draw would flip the outcome below
    lms2 = SimLMs(scenario(comply_noise=first + 1e-12), seed=3)
    lms2.run_task("x", T_NONE)
    assert lms2.run_task("snake_case", Task("t", "i", ("snake",))).missed == ("snake",)


def test_stated_rules_comply_and_unstated_rules_are_missed() -> None:
    lms = SimLMs(scenario(comply_noise=0.0), seed=0)
    out = lms.run_task("Use SNAKE_CASE.\nAnnotations everywhere.", T_ALL)
    assert out.followed == ("snake", "hints")
    assert out.missed == ("paths",)
    assert out.score == pytest.approx(2 / 3)
    assert out.feedback == "os.path again."
    assert out.output == "followed: snake, hints; missed: paths"
    assert out.task_id == "t1" and out.input == T_ALL.input
    assert lms.rollouts == 1


def test_feedback_joins_missed_rules_with_a_space_in_task_order() -> None:
    lms = SimLMs(scenario(comply_noise=0.0), seed=0)
    out = lms.run_task("nothing stated", T_ALL)
    assert out.score == 0.0
    assert out.feedback == "camelCase again. Where are the hints? os.path again."
    assert out.output == "followed: none; missed: snake, hints, paths"


def test_all_followed_gives_looks_right() -> None:
    lms = SimLMs(scenario(comply_noise=0.0), seed=0)
    out = lms.run_task("snake_case, type hints, pathlib", T_ALL)
    assert (out.score, out.feedback) == (1.0, LOOKS_RIGHT)


def test_comply_noise_draws_once_per_stated_rule_in_order() -> None:
    seed = 11
    noise = 0.5
    prompt = "snake_case\npathlib"  # hints is not stated: no draw for it
    replay = random.Random(seed)
    u_snake, u_paths = replay.random(), replay.random()
    expected_followed = tuple(
        rid for rid, u in (("snake", u_snake), ("paths", u_paths)) if u >= noise
    )
    lms = SimLMs(scenario(comply_noise=noise), seed=seed)
    assert lms.run_task(prompt, T_ALL).followed == expected_followed
    # The second call continues the same stream.
    u2_snake, u2_paths = replay.random(), replay.random()
    expected2 = tuple(rid for rid, u in (("snake", u2_snake), ("paths", u2_paths)) if u >= noise)
    assert lms.run_task(prompt, T_ALL).followed == expected2


def test_comply_rate_matches_noise_over_many_calls() -> None:
    lms = SimLMs(scenario(comply_noise=0.25), seed=5)
    task = Task("t", "i", ("snake",))
    n = 4000
    rate = sum(lms.run_task("snake_case", task).score for _ in range(n)) / n
    assert rate == pytest.approx(0.75, abs=0.03)


def test_line_penalty_beyond_max_useful_lines() -> None:
    sc = scenario(comply_noise=0.0, line_penalty=0.5, max_useful_lines=12)
    lms = SimLMs(sc, seed=0)
    at_limit = "\n".join(["snake_case", *fillers(11)])  # 12 lines: no penalty
    over = "\n".join(["snake_case", *fillers(13)])  # 14 lines: 0.5 * 2 = 1.0
    task = Task("t", "i", ("snake",))
    assert all(lms.run_task(at_limit, task).score == 1.0 for _ in range(50))
    assert all(lms.run_task(over, task).score == 0.0 for _ in range(50))


def test_line_penalty_partial_value() -> None:
    # 13 lines, penalty 0.3 per extra line, noise 0.1: p_fail = 0.4 exactly.
    seed = 21
    sc = scenario(comply_noise=0.1, line_penalty=0.3, max_useful_lines=12)
    prompt = "\n".join(["snake_case", *fillers(12)])
    replay = random.Random(seed)
    expected = [1.0 if replay.random() >= 0.1 + 0.3 else 0.0 for _ in range(200)]
    lms = SimLMs(sc, seed=seed)
    task = Task("t", "i", ("snake",))
    assert [lms.run_task(prompt, task).score for _ in range(200)] == expected


def test_overfit_penalty_applies_to_other_tasks_only() -> None:
    sc = scenario(comply_noise=0.0, overfit_penalty=0.5)
    lms = SimLMs(sc, seed=0)
    own = Task("own", "Write a kernel that adds two float vectors, fast.", ("snake",))
    other = Task("other", "Document the CLI.", ("snake",))
    prompt = "\n".join(
        [
            "snake_case",
            over_specific_line(own.input),
            "For inputs like 'Something else entirely', be extra careful.",
        ]
    )
    # Two over-specific lines: p_fail = 0.5 * 2 = 1.0 everywhere except on `own`.
    assert all(lms.run_task(prompt, other).score == 0.0 for _ in range(50))
    assert all(lms.run_task(prompt, own).score == 1.0 for _ in range(50))


def test_specialist_line_sets_p_fail_to_zero_but_does_not_state_rules() -> None:
    sc = scenario(comply_noise=0.99, line_penalty=1.0, max_useful_lines=0)
    lms = SimLMs(sc, seed=0)
    prompt = "snake_case\n" + over_specific_line(T_ALL.input)
    for _ in range(50):
        out = lms.run_task(prompt, T_ALL)
        assert out.followed == ("snake",)
        assert out.missed == ("hints", "paths")


def test_specialist_line_matches_by_input_prefix() -> None:
    sc = scenario(comply_noise=1.0)
    lms = SimLMs(sc, seed=0)
    prompt = "snake_case\nFor inputs like 'Write a', be extra careful."
    assert lms.run_task(prompt, Task("a", "Write a parser.", ("snake",))).score == 1.0
    assert lms.run_task(prompt, Task("b", "Please write a parser.", ("snake",))).score == 0.0


def test_p_fail_is_capped_at_one() -> None:
    sc = scenario(comply_noise=0.9, overfit_penalty=1.0)
    lms = SimLMs(sc, seed=0)
    prompt = "snake_case\nFor inputs like 'zzz', be extra careful."
    assert lms.run_task(prompt, Task("t", "abc", ("snake",))).score == 0.0


def test_sim_is_fast() -> None:
    lms = SimLMs(scenario(), seed=0)
    prompts = ["\n".join(["You are a coding assistant.", *fillers(k)]) for k in range(20)]
    records = [Record(T_ALL.input, "o", "camelCase again. os.path again.")] * 3
    started = time.perf_counter()
    for i in range(600):
        lms.run_task(prompts[i % 20], T_ALL)
        if i % 10 == 0:
            lms.reflect(prompts[i % 20], records)
            lms.merge(prompts[i % 20], prompts[(i + 1) % 20])
    assert time.perf_counter() - started < 1.0
    assert (lms.rollouts, lms.reflection_calls, lms.merge_calls) == (600, 60, 60)


# -- reflection LM --------------------------------------------------------------------------------


def rec(feedback: str, task_input: str = "Write a helper that returns the user name.") -> Record:
    return Record(input=task_input, output="followed: none; missed: x", feedback=feedback)


def test_reflection_keeps_all_lines_when_forget_is_zero() -> None:
    lms = SimLMs(scenario(forget_prob=0.0, extract_prob=0.0, distractor_prob=0.0), seed=0)
    assert lms.reflect("a\n\n  b  \nc", [rec(LOOKS_RIGHT)]) == "a\nb\nc"


def test_reflection_forgets_everything_when_forget_is_one() -> None:
    lms = SimLMs(scenario(forget_prob=1.0, extract_prob=0.0, distractor_prob=0.0), seed=0)
    assert lms.reflect("a\nb\nc", [rec(LOOKS_RIGHT)]) == ""


def test_reflection_extracts_in_record_then_rule_order() -> None:
    lms = SimLMs(scenario(forget_prob=0.0, extract_prob=1.0, distractor_prob=0.0), seed=0)
    records = [
        rec("os.path again."),
        rec("camelCase again. os.path again. Where are the hints?"),
    ]
    # Record 1 adds paths; record 2 adds snake then hints (rule order); paths is already stated.
    assert lms.reflect("seed", records) == (
        "seed\nUse pathlib for paths.\nName functions in snake_case.\nAdd type hints."
    )


def test_reflection_does_not_restate_a_stated_rule_case_insensitively() -> None:
    lms = SimLMs(scenario(forget_prob=0.0, extract_prob=1.0, distractor_prob=0.0), seed=0)
    assert lms.reflect("Use SNAKE_CASE names.", [rec("camelCase again.")]) == (
        "Use SNAKE_CASE names."
    )


def test_reflection_restates_a_rule_whose_line_was_forgotten() -> None:
    lms = SimLMs(scenario(forget_prob=1.0, extract_prob=1.0, distractor_prob=0.0), seed=0)
    assert lms.reflect("snake_case", [rec("camelCase again.")]) == "Name functions in snake_case."


def test_reflection_never_extracts_with_extract_prob_zero() -> None:
    lms = SimLMs(scenario(forget_prob=0.0, extract_prob=0.0, distractor_prob=0.0), seed=0)
    assert lms.reflect("seed", [rec("camelCase again. os.path again.")]) == "seed"


def test_reflection_appends_the_distractor_for_the_first_record() -> None:
    lms = SimLMs(scenario(forget_prob=0.0, extract_prob=0.0, distractor_prob=1.0), seed=0)
    first = "Write a function that formats a duration in seconds as 1h 02m 03s."
    out = lms.reflect("seed", [rec(LOOKS_RIGHT, first), rec(LOOKS_RIGHT, "Other input")])
    distractor = "For inputs like 'Write a function that formats a duration', be extra careful."
    assert out == f"seed\n{distractor}"


def test_reflection_without_records_adds_nothing() -> None:
    lms = SimLMs(scenario(forget_prob=0.0, extract_prob=1.0, distractor_prob=1.0), seed=0)
    assert lms.reflect("a\nb", []) == "a\nb"


def test_reflection_replays_the_spec_draw_order() -> None:
    seed = 7
    sim = {"forget_prob": 0.4, "extract_prob": 0.5, "distractor_prob": 0.5}
    text = "line one\nline two\nline three"
    records = [rec("camelCase again. os.path again."), rec("Where are the hints? camelCase again.")]
    replay = random.Random(seed)
    kept = [line for line in ["line one", "line two", "line three"] if replay.random() < 0.6]
    stated: set[str] = set()
    appended: list[str] = []
    statements = {r.id: r.statement for r in RULES}
    for fb in (records[0].feedback, records[1].feedback):
        for rule in RULES:
            if rule.feedback in fb and rule.id not in stated and replay.random() < 0.5:
                stated.add(rule.id)
                appended.append(statements[rule.id])
    if replay.random() < 0.5:
        appended.append(over_specific_line(records[0].input))
    expected = "\n".join(kept + appended)
    assert SimLMs(scenario(**sim), seed=seed).reflect(text, records) == expected


# -- merge LM -------------------------------------------------------------------------------------


def test_merge_is_a_then_new_lines_of_b() -> None:
    lms = SimLMs(scenario(forget_prob=0.0), seed=0)
    assert lms.merge("a\nb\nc", "  b\nd\na\ne") == "a\nb\nc\nd\ne"


def test_merge_keeps_duplicates_within_a() -> None:
    lms = SimLMs(scenario(forget_prob=0.0), seed=0)
    assert lms.merge("a\na", "a\nb") == "a\na\nb"


def test_merge_drops_each_line_with_half_forget_prob() -> None:
    seed = 4
    replay = random.Random(seed)
    combined = ["a", "b", "c", "d", "e", "f"]
    expected = [line for line in combined if not replay.random() < 0.5]
    lms = SimLMs(scenario(forget_prob=1.0), seed=seed)
    assert lms.merge("a\nb\nc", "b\nd\ne\nf") == "\n".join(expected)


# -- one stream -----------------------------------------------------------------------------------


def test_all_three_lms_share_one_stream() -> None:
    seed = 9
    a = SimLMs(scenario(comply_noise=0.5, forget_prob=0.5), seed=seed)
    b = SimLMs(scenario(comply_noise=0.5, forget_prob=0.5), seed=seed)
    a.merge("x\ny\nz", "w")  # four draws
    b.run_task("snake_case\ntype hints\npathlib", T_ALL)  # three draws
    b.run_task("snake_case", Task("t", "i", ("snake",)))  # one draw
    c = SimLMs(scenario(comply_noise=0.5, forget_prob=0.5), seed=seed)
    c.merge("x\ny\nz", "")  # three draws: out of step by one
    long = "\n".join(f"line {i}" for i in range(40))
    # a and b have both advanced by four draws, so what follows agrees line for line.
    assert a.merge(long, "") == b.merge(long, "")
    c_out = c.merge(long, "")
    a2 = SimLMs(scenario(comply_noise=0.5, forget_prob=0.5), seed=seed)
    a2.merge("x\ny\nz", "w")
    assert a2.merge(long, "") != c_out


# -- splits ---------------------------------------------------------------------------------------


@given(st.integers(min_value=0, max_value=120), st.integers(min_value=0, max_value=2**32))
def test_split_sizes_and_partition(n: int, seed: int) -> None:
    tasks = tuple(Task(f"t{i}", f"input {i}") for i in range(n))
    split = split_tasks(tasks, seed)
    assert len(split.train) == (4 * n) // 10
    assert len(split.val) == (3 * n) // 10
    assert len(split.test) == n - (4 * n) // 10 - (3 * n) // 10
    assert sorted(t.id for t in split.train + split.val + split.test) == sorted(t.id for t in tasks)


def test_split_is_a_seeded_shuffle() -> None:
    tasks = tuple(Task(f"t{i}", f"input {i}") for i in range(10))
    shuffled = list(tasks)
    random.Random(42).shuffle(shuffled)
    split = split_tasks(tasks, 42)
    assert split.train == tuple(shuffled[:4])
    assert split.val == tuple(shuffled[4:7])
    assert split.test == tuple(shuffled[7:])
    assert split_tasks(tasks, 42) == split
