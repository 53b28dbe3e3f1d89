"""`assist.run`'s pure parts: what the model is asked, and unwrapping a fenced answer. (The
method itself runs against the simulated server in tests/gepad_lsp.)"""

from __future__ import annotations

from gepad.learning._assist import AssistRequest, strip_fence, user_message


def test_user_message_puts_the_instruction_first() -> None:
    req = AssistRequest(
        component="general",
        instruction="  Use pathlib. ",
        context="def read(p): ...",
        file="file:///p/util.py",
        language="python",
    )
    assert user_message(req) == (
        "Use pathlib.\n\n(file: file:///p/util.py, language: python)\n\nContext:\ndef read(p): ..."
    )
    assert user_message(AssistRequest(component="general", instruction="Explain.")) == "Explain."


def test_a_single_fenced_block_is_unwrapped() -> None:
    assert strip_fence("```python\nx = 1\ny = 2\n```") == "x = 1\ny = 2"
    assert strip_fence("  ```\nx = 1\n```\n") == "x = 1"
    # Prose around a block, or several blocks, is the model's whole answer: kept as it is.
    mixed = "Here:\n```\nx = 1\n```"
    assert strip_fence(mixed) == mixed
    assert strip_fence("plain text") == "plain text"
    two = "```\na = 1\n```\n\n```\nb = 2\n```"
    assert strip_fence(two) == two
