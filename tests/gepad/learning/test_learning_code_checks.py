"""Code checks of the conventions a complaint names, and the judge's self-contradictions."""

from __future__ import annotations

import json
from pathlib import Path

from gepad.learning._code_checks import checks_named_in, run_checks
from gepad.learning._judge import UNMET_SCORE_CAP, parse_verdict

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "real_answers"


def _real_task_answers() -> list[str]:
    data = json.loads((CORPUS / "qwen2.5-coder-1.5b.json").read_text(encoding="utf-8"))
    return [a["text"] for a in data["answers"] if a["purpose"] == "task"]


def names(complaint: str) -> list[str]:
    return [c.name for c in checks_named_in(complaint)]


def test_conventions_are_found_by_their_common_names() -> None:
    assert names("No type hints again. Stop using os.path.") == ["type hints", "pathlib"]
    assert names("Add docstrings and use f-strings") == ["docstrings", "f-strings"]
    assert names("You forgot encoding='utf-8'.") == ["encoding"]
    assert names("Never use a bare except.") == ["specific exceptions"]
    assert names("camelCase is not Python style.") == ["snake_case"]


def test_a_print_is_unwanted_only_when_the_sentence_says_no() -> None:
    assert names("Don't print from library code.") == ["no print"]
    assert names("It should print the total.") == []


def test_a_sentence_asking_for_the_opposite_selects_nothing() -> None:
    assert names("Please remove the type hints, they are noise.") == []
    assert names("Great answer, thanks.") == []


def test_real_answers_that_break_the_named_rule_are_found() -> None:
    counting, listing, *_ = _real_task_answers()
    hints = run_checks("No type hints again.", counting)
    assert hints is not None and hints.problems and hints.problems[0][0] == "type hints"
    paths = run_checks("Stop using os.path, use pathlib.", listing)
    assert paths is not None and "os.walk" in paths.problems[0][1]


def test_compliant_code_passes_and_prose_is_not_checked() -> None:
    code = (
        "```python\nfrom pathlib import Path\n\ndef count(path: Path) -> int:\n"
        '    """Count lines."""\n    return len(path.read_text(encoding="utf-8").splitlines())\n```'
    )
    finding = run_checks("Type hints, pathlib, encoding and docstrings please.", code)
    assert finding is not None and finding.problems == ()
    assert set(finding.checked) == {"type hints", "pathlib", "encoding", "docstrings"}
    assert run_checks("No type hints again.", "I could not do it, sorry.") is None


def test_a_pass_that_names_an_unmet_rule_is_a_capped_fail() -> None:
    v = parse_verdict('{"unmet": [2], "verdict": "pass", "score": 1.0, "explanation": "x"}')
    assert v is not None and v.verdict == "fail" and v.score == UNMET_SCORE_CAP
    v = parse_verdict('{"unmet": ["rule 3"], "verdict": "fail", "score": 0.1, "explanation": "x"}')
    assert v is not None and v.unmet == (3,) and v.score == 0.1
    v = parse_verdict('{"unmet": [], "verdict": "pass", "score": 1.0, "explanation": "x"}')
    assert v is not None and v.verdict == "pass" and v.score == 1.0
    v = parse_verdict('{"verdict": "pass", "score": 0.9, "explanation": "no unmet field"}')
    assert v is not None and v.verdict == "pass" and v.unmet == ()


# A real judge answer (Qwen2.5-Coder-1.5B in a daemon run, judge max_tokens 160), cut in its
# explanation; the daemon's log shows the start of it.
CUT_JUDGE_REAL = (
    '{\n  "unmet": [],\n  "verdict": "pass",\n  "score": 1.0,\n  "explanation": "The new output '
    "meets all the rules as it answers the user's request, avoids the user's complaint, and "
    "does what the user "
)


def test_a_verdict_cut_in_its_explanation_keeps_its_fields() -> None:
    v = parse_verdict(CUT_JUDGE_REAL)
    assert v is not None and v.verdict == "pass" and v.score == 1.0 and v.unmet == ()
    assert v.explanation.endswith("[cut]")
    v = parse_verdict('```json\n{"unmet": [2], "verdict": "pass", "score": 0.9, "explanation": "no')
    assert v is not None and v.verdict == "fail" and v.score == UNMET_SCORE_CAP


def test_a_verdict_cut_before_its_explanation_is_still_no_verdict() -> None:
    assert parse_verdict('{"verdict": "pass", "score": 1.0') is None
    assert parse_verdict('{"verdict": "pass", "score": 7, "explanation": "x') is None
    assert parse_verdict('{"verdict": "maybe", "score": 1, "explanation": "x') is None
