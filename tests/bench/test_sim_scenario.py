"""The scenario loader and validator, and the shipped scenarios."""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from gepad_sim import ScenarioError, SimParams, load_scenario, loads_scenario, parse_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "bench" / "scenarios"
SHIPPED = ("python-style.toml", "docs-tone.toml", "cuda-kernels.toml")

GOOD_TOML = '''
name = "tiny"
seed_prompt = """You are a coding assistant."""
[sim]
extract_prob = 0.5
max_useful_lines = 4
[[rules]]
id = "snake_case"
statement = "Name Python functions and variables in snake_case."
triggers = ["snake_case"]
feedback = "I renamed getUserName to get_user_name; we never use camelCase here."
[[rules]]
id = "hints"
statement = "Add Type Hints everywhere."
triggers = ["type hints", "annotations"]
feedback = "Where are the type hints?"
[[tasks]]
id = "t01"
input = "Write a helper that returns the current user's display name."
rules = ["snake_case", "hints"]
[[tasks]]
id = "t02"
input = "Explain generators."
rules = []
[[tasks]]
id = "t03"
input = "Rename this."
'''


def good() -> dict[str, Any]:
    return {
        "name": "tiny",
        "seed_prompt": "You are a coding assistant.",
        "rules": [
            {
                "id": "snake_case",
                "statement": "Use snake_case.",
                "triggers": ["snake_case"],
                "feedback": "camelCase again.",
            },
            {
                "id": "hints",
                "statement": "Add type hints.",
                "triggers": ["type hints"],
                "feedback": "Where are the hints?",
            },
        ],
        "tasks": [
            {"id": "t1", "input": "Write a helper.", "rules": ["snake_case", "hints"]},
            {"id": "t2", "input": "Explain generators.", "rules": []},
        ],
    }


def problems_of(data: dict[str, Any]) -> tuple[str, ...]:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data, "scn.toml")
    assert info.value.source == "scn.toml"
    assert str(info.value).startswith("scn.toml: ")
    return info.value.problems


def only_problem(data: dict[str, Any]) -> str:
    problems = problems_of(data)
    assert len(problems) == 1, problems
    return problems[0]


# -- the happy path -------------------------------------------------------------------------------


def test_loads_a_valid_scenario_with_defaults_and_overrides() -> None:
    s = loads_scenario(GOOD_TOML, "tiny.toml")
    assert s.name == "tiny"
    assert s.source == "tiny.toml"
    assert s.seed_prompt == "You are a coding assistant."
    assert s.sim == SimParams(extract_prob=0.5, max_useful_lines=4)
    assert s.sim.distractor_prob == 0.3 and s.sim.comply_noise == 0.05
    assert [r.id for r in s.rules] == ["snake_case", "hints"]
    assert s.rules[1].triggers == ("type hints", "annotations")
    assert [(t.id, t.rules) for t in s.tasks] == [
        ("t01", ("snake_case", "hints")),
        ("t02", ()),
        ("t03", ()),  # `rules` may be left out
    ]


def test_sim_table_is_optional_and_defaults_match_the_spec() -> None:
    s = parse_scenario(good())
    assert s.sim == SimParams(
        extract_prob=0.7,
        distractor_prob=0.3,
        forget_prob=0.1,
        comply_noise=0.05,
        max_useful_lines=12,
        line_penalty=0.03,
        overfit_penalty=0.05,
    )
    assert s.sim.attainable == pytest.approx(0.95)


def test_statement_trigger_match_is_case_insensitive() -> None:
    data = good()
    data["rules"][1]["statement"] = "Add TYPE HINTS to signatures."
    assert parse_scenario(data).rules[1].is_stated_in("we like Type Hints")


def test_load_scenario_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(GOOD_TOML, encoding="utf-8")
    assert load_scenario(path).source == str(path)


# -- unknown keys at every level ------------------------------------------------------------------


def test_unknown_top_level_key_is_named() -> None:
    data = good()
    data["seed_promt"] = "typo"
    msg = only_problem(data)
    assert "top level" in msg and "'seed_promt'" in msg


def test_unknown_sim_key_is_named() -> None:
    data = good()
    data["sim"] = {"extract_prob": 0.5, "distractor_probability": 0.2}
    msg = only_problem(data)
    assert "[sim]" in msg and "'distractor_probability'" in msg


def test_unknown_rule_key_is_named_with_the_rule() -> None:
    data = good()
    data["rules"][1]["trigger"] = ["hints"]
    msg = only_problem(data)
    assert "[[rules]] #2 (id 'hints')" in msg and "'trigger'" in msg


def test_unknown_task_keys_are_all_named() -> None:
    data = good()
    data["tasks"][0]["expected"] = "x"
    data["tasks"][0]["weight"] = 2
    msg = only_problem(data)
    assert "[[tasks]] #1 (id 't1')" in msg and "'expected'" in msg and "'weight'" in msg


def test_unknown_keys_in_real_toml_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(GOOD_TOML.replace("[sim]\n", "[sim]\nnoise = 0.1\n"), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(path) in str(info.value) and "'noise'" in str(info.value)


# -- references, triggers, uniqueness -------------------------------------------------------------


def test_task_naming_an_unknown_rule() -> None:
    data = good()
    data["tasks"][1]["rules"] = ["snake_case", "docstrings"]
    msg = only_problem(data)
    assert "[[tasks]] #2 (id 't2')" in msg and "'docstrings'" in msg


def test_statement_without_any_trigger() -> None:
    data = good()
    data["rules"][0]["statement"] = "Name things the Pythonic way."
    msg = only_problem(data)
    assert "[[rules]] #1 (id 'snake_case')" in msg and "none of its triggers" in msg


def test_duplicate_feedback_strings() -> None:
    data = good()
    data["rules"][1]["feedback"] = data["rules"][0]["feedback"]
    msg = only_problem(data)
    assert "duplicate feedback" in msg and "#1" in msg and "#2" in msg


def test_duplicate_rule_and_task_ids() -> None:
    data = good()
    data["rules"][1]["id"] = "snake_case"
    data["rules"][1]["statement"] = "snake_case again."
    data["rules"][1]["triggers"] = ["snake_case"]
    data["tasks"][1]["id"] = "t1"
    data["tasks"][0]["rules"] = ["snake_case"]
    problems = problems_of(data)
    assert any("duplicate rule id 'snake_case'" in p for p in problems)
    assert any("duplicate task id 't1'" in p for p in problems)


def test_task_listing_a_rule_twice() -> None:
    data = good()
    data["tasks"][0]["rules"] = ["hints", "hints"]
    assert "more than once" in only_problem(data)


# -- required keys and types ----------------------------------------------------------------------


@pytest.mark.parametrize("key", ["name", "seed_prompt", "rules", "tasks"])
def test_missing_required_top_level_key(key: str) -> None:
    data = good()
    del data[key]
    problems = problems_of(data)
    assert any(f"missing required key {key!r}" in p for p in problems)


@pytest.mark.parametrize("key", ["id", "statement", "triggers", "feedback"])
def test_missing_required_rule_key(key: str) -> None:
    data = good()
    del data["rules"][1][key]
    problems = problems_of(data)
    assert any("[[rules]] #2" in p and f"missing required key {key!r}" in p for p in problems)


@pytest.mark.parametrize("key", ["id", "input"])
def test_missing_required_task_key(key: str) -> None:
    data = good()
    del data["tasks"][0][key]
    assert f"missing required key {key!r}" in only_problem(data)


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("name",), 3, "'name' must be a string, not int"),
        (("seed_prompt",), ["x"], "'seed_prompt' must be a string, not list"),
        (("sim",), "fast", "'sim' must be a table"),
        (("rules",), {"id": "x"}, "'rules' must be an array"),
        (("tasks",), "t1", "'tasks' must be an array"),
        (("rules", 0, "triggers"), "snake_case", "'triggers' must be a list of strings"),
        (("rules", 0, "triggers"), ["snake_case", 3], "'triggers' must be a list of strings"),
        (("rules", 0, "triggers"), [], "'triggers' must not be empty"),
        (("rules", 0, "feedback"), 1.5, "'feedback' must be a string, not float"),
        (("rules", 0, "feedback"), "  ", "'feedback' must not be empty"),
        (("tasks", 0, "rules"), "hints", "'rules' must be a list of strings"),
        (("tasks", 0, "input"), None, "'input' must be a string, not NoneType"),
        (("tasks", 0), "t1", "[[tasks]] #1: must be a table"),
    ],
)
def test_bad_types(path: tuple[Any, ...], value: object, expected: str) -> None:
    data = good()
    target: Any = data
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    problems = problems_of(data)
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("extract_prob", 1.5, "must be in [0, 1]"),
        ("comply_noise", -0.1, "must be in [0, 1]"),
        ("forget_prob", "0.1", "must be a number, not str"),
        ("distractor_prob", True, "must be a number, not bool"),
        ("max_useful_lines", 12.0, "must be an integer, not float"),
        ("max_useful_lines", -1, "must be >= 0"),
        ("line_penalty", -0.03, "must be >= 0"),
        ("overfit_penalty", float("nan"), "must be a number"),
    ],
)
def test_bad_sim_values(key: str, value: object, expected: str) -> None:
    data = good()
    data["sim"] = {key: value}
    msg = only_problem(data)
    assert "[sim]" in msg and key in msg and expected in msg


def test_probability_bounds_are_inclusive_and_ints_are_accepted() -> None:
    data = good()
    data["sim"] = {"extract_prob": 1, "distractor_prob": 0, "forget_prob": 0.0}
    sim = parse_scenario(data).sim
    assert (sim.extract_prob, sim.distractor_prob, sim.forget_prob) == (1.0, 0.0, 0.0)


def test_all_problems_are_reported_at_once() -> None:
    data = good()
    data["colour"] = "blue"
    data["sim"] = {"extract_prob": 2}
    data["rules"][0]["statement"] = "No trigger here."
    data["rules"][1]["feedback"] = data["rules"][0]["feedback"]
    data["tasks"][0]["rules"] = ["ghost"]
    data["tasks"][1]["bogus"] = 1
    problems = problems_of(data)
    assert len(problems) == 6, problems
    text = "\n".join(problems)
    for needle in (
        "'colour'",
        "extract_prob",
        "none of its triggers",
        "duplicate feedback",
        "'ghost'",
        "'bogus'",
    ):
        assert needle in text


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="not valid TOML"):
        loads_scenario("name = ", "broken.toml")
    missing = tmp_path / "nope.toml"
    with pytest.raises(ScenarioError, match="cannot read") as info:
        load_scenario(missing)
    assert str(missing) in str(info.value)


def test_parse_does_not_mutate_its_input() -> None:
    data = good()
    before = copy.deepcopy(data)
    parse_scenario(data)
    assert data == before


# -- the shipped scenarios ------------------------------------------------------------------------


@pytest.mark.parametrize("filename", SHIPPED)
def test_shipped_scenario_loads_and_meets_the_benchmark_shape(filename: str) -> None:
    s = load_scenario(SCENARIOS / filename)
    assert s.name == filename.removesuffix(".toml")
    assert 8 <= len(s.rules) <= 12
    assert 30 <= len(s.tasks) <= 40
    uses = Counter(r for t in s.tasks for r in t.rules)
    assert set(uses) == {r.id for r in s.rules}, "every rule is exercised by some task"
    assert max(uses.values()) >= len(s.tasks) // 3, "some rule is common"
    assert any(2 <= n <= 4 for n in uses.values()), "some rule is rare (2-4 tasks)"
    assert sum(1 for t in s.tasks if not t.rules) >= 2, "a few tasks have no rules"
    assert all(len(r.statement) < 100 for r in s.rules)
    # Every rule's statement plus the seed line fits under max_useful_lines.
    assert len(s.rules) + 1 <= s.sim.max_useful_lines


@pytest.mark.parametrize("filename", SHIPPED)
def test_shipped_scenario_has_no_accidental_triggers(filename: str) -> None:
    """A trigger that occurs in another rule's statement, the seed prompt or a task input (which a
    distractor line quotes) would mark a rule as stated without anyone stating it."""
    s = load_scenario(SCENARIOS / filename)
    for rule in s.rules:
        assert not rule.is_stated_in(s.seed_prompt), rule.id
        for other in s.rules:
            if other is not rule:
                assert not rule.is_stated_in(other.statement), (rule.id, other.id)
                assert rule.feedback not in other.feedback, (rule.id, other.id)
        for task in s.tasks:
            assert not rule.is_stated_in(task.input), (rule.id, task.id)


def test_empty_task_list_and_empty_trigger() -> None:
    data = good()
    data["tasks"] = []
    data["rules"][0]["triggers"] = ["snake_case", " "]
    problems = problems_of(data)
    assert any("at least one [[tasks]]" in p for p in problems)
    assert any("'triggers' must not contain an empty string" in p for p in problems)
