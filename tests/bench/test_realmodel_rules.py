"""The learning benchmark's code checks (bench/realmodel/rules.py) and its kappa, no model."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench" / "realmodel"))

from judge_agree import kappa  # noqa: E402
from rules import RULES, check, complaint  # noqa: E402
from tasks import TASKS  # noqa: E402

GOOD = '''```python
from pathlib import Path


def count_lines(path: Path) -> int:
    """Count the lines of a text file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return 0
    label = f"{path.name}"
    return len(text.splitlines()) + 0 * len(label)
```'''

BAD = """Here you go:
```python
import os


def countLines(filePath):
    try:
        with open(filePath) as f:
            print("reading %s" % filePath)
            return len(f.readlines())
    except:
        return 0
```"""


def test_the_benchmark_has_enough_requests_and_rules() -> None:
    assert len(TASKS) >= 30 and len(set(TASKS)) == len(TASKS)
    assert len(RULES) >= 8


def test_compliant_code_meets_every_applicable_rule() -> None:
    v = check(GOOD)
    assert v.broken == () and v.score == 1.0
    assert {"type_hints", "docstrings", "pathlib", "encoding", "f_strings"} <= set(v.met)


def test_each_broken_convention_is_found() -> None:
    v = check(BAD)
    assert set(v.broken) == {
        "type_hints", "docstrings", "no_print", "f_strings", "encoding",
        "no_broad_except", "snake_case",
    }  # fmt: skip
    assert 0.0 < v.score < 0.2  # only no os.path use is met


def test_an_answer_without_code_scores_zero_and_gets_a_complaint() -> None:
    v = check("I am sorry, I cannot do that.")
    assert not v.has_code and v.score == 0.0
    assert complaint(v, random.Random(0))


def test_complaints_use_the_users_words_for_at_most_two_rules() -> None:
    v = check(BAD)
    words = complaint(v, random.Random(1))
    assert words is not None
    by_id = {r.id: r for r in RULES}
    assert any(w in words for w in by_id[v.broken[0]].wordings)
    assert not any(w in words for w in by_id[v.broken[2]].wordings)
    assert complaint(check(GOOD), random.Random(1)) is None


def test_real_task_answers_are_checked() -> None:
    corpus = ROOT / "tests" / "fixtures" / "real_answers" / "qwen2.5-coder-1.5b.json"
    answers = [a for a in json.loads(corpus.read_text(encoding="utf-8"))["answers"]]
    verdicts = [check(a["text"]) for a in answers if a["purpose"] == "task"]
    assert all(v.has_code for v in verdicts)
    assert all("type_hints" in v.broken for v in verdicts)  # none had type hints


def test_kappa() -> None:
    assert kappa([(True, True), (False, False)]) == (1.0, 1.0)
    agree, k = kappa([(True, True), (True, False), (True, True), (True, False)])
    assert agree == 0.5 and k == 0.0
    assert kappa([(True, True), (True, True)])[1] is None
