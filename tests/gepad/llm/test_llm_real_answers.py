"""Real answers from real models (tests/fixtures/real_answers/, captured with
bench/realmodel/capture.py) through the parsers gepad uses on them.

Every answer must be either used or cleanly rejected with a reason: a parser that raises, or
that accepts garbage silently, fails here. The client's own salvage (loop cut, fence closing)
is applied first, exactly as `LlmClient` does for an answer that stopped at `max_tokens`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gepa_engine._templates import parse_instruction_block
from gepad.kernel._solve import extract_source
from gepad.learning._judge import parse_verdict
from gepad.llm._repeat import find_loop, salvage

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "real_answers"
FILES = sorted(CORPUS.glob("*.json"))


def answers() -> list[tuple[str, int, dict[str, Any]]]:
    out = []
    for path in FILES:
        data = json.loads(path.read_text(encoding="utf-8"))
        for i, answer in enumerate(data["answers"]):
            out.append((data["model"], i, answer))
    return out


def client_text(answer: dict[str, Any]) -> str:
    """What LlmClient hands the caller for this raw answer."""
    text = str(answer["text"])
    finish = "length" if answer.get("finish_reason") == "length" else "stop"
    cut = find_loop(text)
    if cut is not None:
        text, finish = text[:cut], "looped"
    return salvage(text) if finish != "stop" else text


def verdict_of(purpose: str, text: str) -> tuple[bool, str]:
    """(used, reason): how gepad's parser for `purpose` treats the answer."""
    if purpose in ("reflection", "merge"):
        parsed = parse_instruction_block(text, max_chars=4000)
        return (parsed.error is None, parsed.error or "instructions parsed")
    if purpose == "judge":
        verdict = parse_verdict(text)
        if verdict is None:
            return False, "no valid JSON verdict in the answer"
        return True, f"verdict {verdict.verdict} {verdict.score}"
    if purpose == "kernel":
        source = extract_source(text)
        if "__global__" not in source:
            return False, "no __global__ kernel in the extracted source"
        return True, "kernel source extracted"
    if not text.strip():
        return False, "empty answer"
    return True, "task output used as written"


def test_the_corpus_covers_every_purpose_from_real_models() -> None:
    assert FILES, f"no captured answers under {CORPUS}"
    purposes = {a["purpose"] for _, _, a in answers()}
    assert purposes >= {"task", "judge", "reflection", "merge", "kernel"}
    for path in FILES:
        data = json.loads(path.read_text(encoding="utf-8"))
        assert len(data["sha256"]) == 64  # which pinned model file answered


@pytest.mark.parametrize(
    ("model", "index", "answer"),
    answers(),
    ids=[f"{m}-{i}-{a['purpose']}" for m, i, a in answers()],
)
def test_every_real_answer_is_used_or_rejected_with_a_reason(
    model: str, index: int, answer: dict[str, Any]
) -> None:
    used, reason = verdict_of(answer["purpose"], client_text(answer))
    assert isinstance(used, bool) and reason.strip()
    expected = answer.get("expected")
    if expected is not None:  # pinned after reading the answer by hand
        assert used == expected["used"], (model, index, reason)
