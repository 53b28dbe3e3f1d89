"""A correction that undoes an earlier one, read from the diffs alone (no model)."""

from __future__ import annotations

from gepad.learning._drift_prompts import correction_edits, item_text, undoes
from gepad.store import Example


def _correction(i: int, output: str, corrected: str, language: str | None = None) -> Example:
    return Example(
        id=i, kind="correction", component="general", workspace=None, file=None,
        language=language, context="Write a helper.", output=output, corrected=corrected,
        comment=None, outcome=None, generation_id=None, prompt_version=None, split="train",
        retired=False, created_at=0.0, content_hash=str(i),
    )  # fmt: skip


def test_indentation_flipped_back_is_an_undo() -> None:
    tabs_to_spaces = _correction(1, "def f():\n\treturn 1\n", "def f():\n    return 1\n")
    spaces_to_tabs = _correction(2, "def g(x):\n    return x\n", "def g(x):\n\treturn x\n")
    assert correction_edits(tabs_to_spaces.output, tabs_to_spaces.corrected or "") == {
        ("\t", "    ")
    }
    assert undoes(spaces_to_tabs, tabs_to_spaces)
    assert not undoes(tabs_to_spaces, tabs_to_spaces)  # the same change again is no undo


def test_a_rename_style_reversed_is_an_undo_and_an_unrelated_fix_is_not() -> None:
    to_snake = _correction(1, "userName = getName()\n", "user_name = get_name()\n")
    to_camel = _correction(2, "user_name = get_name()\n", "userName = getName()\n")
    hints = _correction(3, "def f(x):\n    pass\n", "def f(x: int) -> None:\n    pass\n")
    assert undoes(to_camel, to_snake)
    assert not undoes(hints, to_snake)
    assert not undoes(to_snake, hints)


def test_different_languages_never_undo_each_other() -> None:
    a = _correction(1, "x = 'a'\n", 'x = "a"\n', language="python")
    b = _correction(2, 'let x = "a";\n', "let x = 'a';\n", language="javascript")
    assert not undoes(b, a)
    assert undoes(_correction(2, 'y = "b"\n', "y = 'b'\n", language="python"), a)


def test_an_item_shows_the_request_and_the_users_own_words() -> None:
    text = item_text(_correction(1, "a\n", "b\n"))
    assert text.startswith("Request: Write a helper.\nThe user corrected the output:")
    assert "-a" in text and "+b" in text
