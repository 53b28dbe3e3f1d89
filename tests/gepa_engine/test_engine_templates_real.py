"""The instruction parser on the shapes real small models give (Qwen2.5-Coder-1.5B, captured
with bench/realmodel): cut answers, unfenced lists, echoes of the template's example, requests
for instructions instead of instructions."""

from __future__ import annotations

from gepa_engine import parse_instruction_block
from gepa_engine._templates import REFLECTION_TEMPLATE

# Real answer (reflection, Qwen2.5-Coder-1.5B, temperature 0, stopped at max_tokens=400).
CUT_REAL = (
    "```python\nYou are a helpful coding assistant.\n- Provide clear and concise instructions.\n"
    "- Use type hints for every function.\n- Use pathlib for file paths.\n"
    "- Provide examples of how to use the functions in"
)
# Real answers that are no instructions at all (reflection, then merge, same model).
ASKS_REAL = (
    "```python\nYou are a helpful coding assistant. Please provide the instructions for the "
    "assistant."
)
MERGE_JUNK_REAL = (
    "```\npython\nYou are a helpful coding assistant. Please provide the instructions for the "
    "assistant.\n```"
)


def test_a_cut_answer_keeps_its_complete_lines_only() -> None:
    parsed = parse_instruction_block(CUT_REAL, max_chars=2000)
    assert parsed.error is None and parsed.text is not None
    assert parsed.text.splitlines() == [
        "You are a helpful coding assistant.",
        "- Provide clear and concise instructions.",
        "- Use type hints for every function.",
        "- Use pathlib for file paths.",
    ]


def test_a_cut_answer_with_fewer_than_two_lines_is_still_rejected() -> None:
    parsed = parse_instruction_block(ASKS_REAL, max_chars=2000)
    assert parsed.text is None and "unterminated" in (parsed.error or "")


def test_an_answer_asking_for_instructions_is_rejected() -> None:
    parsed = parse_instruction_block(MERGE_JUNK_REAL, max_chars=2000)
    assert parsed.text is None and "asks for instructions" in (parsed.error or "")


def test_an_unfenced_list_of_rules_is_taken_without_its_lead_in() -> None:
    answer = "Here are the new instructions:\n- Use type hints.\n- Prefer pathlib.\n"
    assert parse_instruction_block(answer, max_chars=200).text == (
        "- Use type hints.\n- Prefer pathlib."
    )


def test_unfenced_prose_is_still_rejected() -> None:
    parsed = parse_instruction_block("Sure, I can help with that.\n- one thing", max_chars=200)
    assert parsed.text is None and "no ``` block" in (parsed.error or "")


def test_copies_of_the_templates_example_are_dropped_or_rejected() -> None:
    example = REFLECTION_TEMPLATE.rsplit("```", 2)[-2].strip()
    parsed = parse_instruction_block(f"```\n{example}\n```", max_chars=2000)
    assert parsed.text is None and "example" in (parsed.error or "")
    first_rule = example.splitlines()[1]
    mixed = f"```\nYou are a coder.\n{first_rule}\n- Use type hints.\n```"
    assert parse_instruction_block(mixed, max_chars=2000).text == (
        "You are a coder.\n- Use type hints."
    )


def test_a_stray_language_line_and_repeated_lines_are_dropped() -> None:
    answer = "```\npython\nBe brief.\n- Use type hints.\n- use type hints.\n```"
    assert parse_instruction_block(answer, max_chars=200).text == "Be brief.\n- Use type hints."
