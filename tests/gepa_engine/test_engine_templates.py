"""Parsing LLM answers: garbage is a rejection with a reason, never an exception."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gepa_engine import ReflectiveRecord, parse_instruction_block
from gepa_engine._templates import render_merge, render_reflection


def test_fenced_block_is_extracted() -> None:
    parsed = parse_instruction_block(
        "Sure!\n```\nUse snake_case.\n```\nHope it helps", max_chars=100
    )
    assert parsed.text == "Use snake_case." and parsed.error is None


def test_language_tag_and_last_block_win() -> None:
    answer = "Old:\n```text\nold rules\n```\nNew:\n```markdown\nnew rules\n```"
    assert parse_instruction_block(answer, max_chars=100).text == "new rules"


def test_tagged_answer_is_accepted() -> None:
    answer = "<new_instructions>Prefer pathlib.</new_instructions>"
    assert parse_instruction_block(answer, max_chars=100).text == "Prefer pathlib."


def test_malformed_answers_are_rejected_with_reasons() -> None:
    cases = {
        "": "no ``` block",
        "I cannot help with that.": "no ``` block",
        "```\nhalf an answer": "unterminated",
        "```\n\n```": "empty",
        "```\n---- 1234\n```": "no words",
        "x" * 10_000: "over the budget",
        "```\nnul\x00byte\n```": "NUL",
    }
    for answer, reason in cases.items():
        parsed = parse_instruction_block(answer, max_chars=100)
        assert parsed.text is None, answer
        assert parsed.error is not None and reason in parsed.error, (answer, parsed.error)


def test_non_text_answers_are_rejected() -> None:
    for answer in (None, 42, b"```\nbytes\n```", ["```x```"]):
        parsed = parse_instruction_block(answer, max_chars=100)
        assert parsed.text is None and parsed.error is not None


@given(st.text(max_size=400))
def test_parse_never_raises(answer: str) -> None:
    parsed = parse_instruction_block(answer, max_chars=200)
    assert (parsed.text is None) != (parsed.error is None)


def test_rendered_reflection_carries_the_users_words_and_escapes_fences() -> None:
    rec = ReflectiveRecord("e1", "write a parser", "def f(): ```", "I renamed getX to get_x", 0.0)
    prompt = render_reflection("You are helpful.", [rec])
    assert "I renamed getX to get_x" in prompt
    assert "def f(): '''" in prompt  # a fence inside a record cannot close the template's block
    assert prompt.count("```") == render_reflection("You are helpful.", []).count("```")


def test_rendered_merge_names_both_parents() -> None:
    prompt = render_merge("base", "rule A", "rule B")
    assert "rule A" in prompt and "rule B" in prompt and "base" in prompt
