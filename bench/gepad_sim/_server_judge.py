"""The simulated server's judge: graded against the simulated user's ground truth, with the
biases real judges have (switched off by default).

The judge reads the sections the daemon's judge prompt is made of. It knows the task from
`## User's request` (a scenario task's input), which rules the user complained about from the
user's own words (a rule's feedback, or one of its phrasings, in a `User's ...` or `Failure
message` section; a complaint naming no rule stands for every rule the rejected output missed),
and what an output did from the output itself (`output_reader`: the v1 task model writes
`followed: ...; missed: ...`, the realistic one an opaque token the simulator can look up).

Ground truth of one output:
- not an answer to the request (empty, another task's answer, not an answer at all): 0.0;
- with a complaint: the share of the complained rules the output follows;
- with no complaint: the share of the rules the liked output followed (or, with no liked
  output, of the task's rules) that the output still follows. This is the regression guard.

A single verdict passes iff the truth is 1.0; a pairwise answer prefers the better of
`## Answer A` and `## Answer B` (equal: "tie").

Biases (`JudgeBias`), each drawn from the request's own random stream, in this order:
- single: with probability `length_bias`, an output longer than the earlier output shown beside
  it passes (1.0); then with probability `error_prob` the verdict is flipped.
- pairwise: with probability `position_bias` Answer A is preferred; else, when the answers'
  lengths differ, with probability `length_bias` the longer one; else with probability
  `error_prob` one of the two wrong answers, chosen at random.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from gepad_sim._errors import SimError
from gepad_sim._scenario import Rule, Task

__all__ = [
    "JUDGE_ANSWER_A",
    "JUDGE_ANSWER_B",
    "JUDGE_AVOIDS_ALL",
    "JUDGE_NEW_OUTPUT",
    "JUDGE_OFF_TASK",
    "JUDGE_OUTPUT_SECTIONS",
    "JUDGE_REQUEST",
    "JUDGE_USER_SECTIONS",
    "JudgeBias",
    "JudgeVerdict",
    "OutputReader",
    "PairwiseAnswer",
    "SimJudge",
    "followed_ids",
    "judge_new_output",
    "parse_judge_sections",
    "v1_reader",
]

JUDGE_USER_SECTIONS = (
    "User's complaint",
    "User's correction",
    "Failure message",
    "User's comment",
)
"""Judge-prompt headings whose text carries the user's own words."""

JUDGE_NEW_OUTPUT = "New output"
"""The judge-prompt heading of the output being judged (single verdicts)."""

JUDGE_REQUEST = "User's request"
"""The judge-prompt heading of the user's request (the task's input)."""

JUDGE_ANSWER_A = "Answer A"
JUDGE_ANSWER_B = "Answer B"
JUDGE_OUTPUT_SECTIONS = (
    "Rejected output",
    "Earlier output",
    "Output that failed",
    "Output the user liked",
    "Original output",
)
"""Headings of an earlier output shown beside the new one."""
_LIKED = "Output the user liked"

JUDGE_AVOIDS_ALL = "The new output avoids everything the user complained about."
JUDGE_OFF_TASK = "The output does not answer the user's request."

_FOLLOWED = re.compile(r"followed:[ \t]*([^;\n]*)")
_MISSED = re.compile(r"missed:[ \t]*([^;\n]*)")
_HEADING = re.compile(r"^## (.*?)[ \t]*$")

OutputReader = Callable[[str, "Task | None"], "frozenset[str] | None"]
"""(output, task) -> the rules the output follows, or None when it is not an answer to `task`."""


@dataclass(frozen=True, slots=True)
class JudgeBias:
    error_prob: float = 0.0
    position_bias: float = 0.0
    length_bias: float = 0.0

    def __post_init__(self) -> None:
        for name in ("error_prob", "position_bias", "length_bias"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise SimError(f"judge {name}: must be a number, not {type(value).__name__}")
            if not math.isfinite(value) or not 0 <= value <= 1:
                raise SimError(f"judge {name}: must be a probability in [0, 1], got {value}")

    def to_json(self) -> dict[str, float]:
        return {
            "error_prob": self.error_prob,
            "position_bias": self.position_bias,
            "length_bias": self.length_bias,
        }


def parse_judge_sections(text: str) -> dict[str, str]:
    """`## Heading` → the text under it, up to the next `## ` heading (stripped).

    A heading given twice keeps both texts, joined by a newline.
    """
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        m = _HEADING.match(line)
        if m is not None:
            current = sections.setdefault(m.group(1), [])
            if current:
                current.append("\n")
            continue
        if current is not None:
            current.append(line + "\n")
    return {title: "".join(lines).strip() for title, lines in sections.items()}


def _ids(pattern: re.Pattern[str], output: str) -> tuple[str, ...] | None:
    m = pattern.search(output)
    if m is None:
        return None
    ids = (part.strip() for part in m.group(1).split(","))
    return tuple(i for i in ids if i and i != "none")


def followed_ids(output: str) -> tuple[str, ...]:
    """The rule ids after `followed:` in a task output (`none` means no rule)."""
    return _ids(_FOLLOWED, output) or ()


def v1_reader(output: str, task: Task | None) -> frozenset[str] | None:
    """What a v1 task output followed; None when it is no answer to `task` (its `followed` and
    `missed` together must be exactly the task's rules)."""
    followed = _ids(_FOLLOWED, output)
    if followed is None:
        return None
    if task is not None:
        missed = _ids(_MISSED, output) or ()
        if set(followed) | set(missed) != set(task.rules):
            return None
    return frozenset(followed)


def _squash(text: str) -> str:
    # Wrapping or indentation added on the way must not hide the user's words.
    return " ".join(text.split())


@dataclass(frozen=True, slots=True)
class JudgeVerdict:
    verdict: Literal["pass", "fail"]
    score: float
    explanation: str
    complained: tuple[str, ...]
    followed: tuple[str, ...]
    has_output: bool = True

    def to_json(self) -> str:
        return json.dumps(
            {"verdict": self.verdict, "score": self.score, "explanation": self.explanation}
        )


@dataclass(frozen=True, slots=True)
class PairwiseAnswer:
    preferred: Literal["A", "B", "tie"]
    truth: Literal["A", "B", "tie"]
    explanation: str

    def to_json(self) -> str:
        return json.dumps({"preferred": self.preferred, "explanation": self.explanation})


class SimJudge:
    """The judge of one scenario: truth from the user's rules, answers with `bias`."""

    __slots__ = ("_bias", "_by_id", "_reader", "_rules", "_tasks", "_words")

    def __init__(
        self,
        rules: Sequence[Rule],
        tasks: Mapping[str, Task] | None = None,
        *,
        reader: OutputReader = v1_reader,
        phrasings: Mapping[str, Sequence[str]] | None = None,
        bias: JudgeBias | None = None,
    ) -> None:
        self._rules = tuple(rules)
        self._by_id = {r.id: r for r in rules}
        self._tasks = dict(tasks or {})
        self._reader = reader
        self._bias = bias or JudgeBias()
        extra = phrasings or {}
        self._words = {
            r.id: tuple(_squash(w) for w in (r.feedback, *extra.get(r.id, ()))) for r in rules
        }

    @property
    def bias(self) -> JudgeBias:
        return self._bias

    def with_bias(self, bias: JudgeBias) -> SimJudge:
        judge = SimJudge(self._rules, self._tasks, reader=self._reader, bias=bias)
        judge._words = self._words
        return judge

    # -- ground truth ---------------------------------------------------------------------

    def _task(self, sections: Mapping[str, str]) -> Task | None:
        request = sections.get(JUDGE_REQUEST)
        return None if request is None else self._tasks.get(request.strip())

    def _complained(self, sections: Mapping[str, str], task: Task | None) -> tuple[str, ...]:
        user_text = [_squash(sections[h]) for h in JUDGE_USER_SECTIONS if h in sections]
        named = tuple(
            r.id for r in self._rules if any(w in t for w in self._words[r.id] for t in user_text)
        )
        if named or not any(user_text):
            return named
        # A complaint that names no rule: the judge reads the rejected output to see why.
        for heading in JUDGE_OUTPUT_SECTIONS[:-2]:
            if heading in sections:
                followed = self._reader(sections[heading], task)
                if followed is not None and task is not None:
                    return tuple(r for r in task.rules if r not in followed)
        return ()

    def _keep(self, sections: Mapping[str, str], task: Task | None) -> tuple[str, ...]:
        """With no complaint: the rules a new output must not lose."""
        if _LIKED in sections:
            liked = self._reader(sections[_LIKED], task)
            if liked is not None:
                return tuple(sorted(liked))
        return task.rules if task is not None else ()

    def truth(
        self, output: str, sections: Mapping[str, str]
    ) -> tuple[float, tuple[str, ...], tuple[str, ...], str]:
        """(score, complained, followed, explanation) of `output` by the user's ground truth."""
        task = self._task(sections)
        complained = self._complained(sections, task)
        followed = self._reader(output, task) if output.strip() else None
        if followed is None:
            return 0.0, complained, (), JUDGE_OFF_TASK
        wanted = complained or self._keep(sections, task)
        if not wanted:
            return 1.0, complained, tuple(sorted(followed)), JUDGE_AVOIDS_ALL
        kept = [rid for rid in wanted if rid in followed]
        still = [self._by_id[rid].feedback for rid in wanted if rid not in followed]
        return (
            len(kept) / len(wanted),
            complained,
            tuple(sorted(followed)),
            " ".join(still) or JUDGE_AVOIDS_ALL,
        )

    # -- answers --------------------------------------------------------------------------

    def verdict(self, prompt: str, rng: random.Random | None = None) -> JudgeVerdict:
        sections = parse_judge_sections(prompt)
        new_output = sections.get(JUDGE_NEW_OUTPUT)
        if new_output is None:
            return JudgeVerdict(
                verdict="fail",
                score=0.0,
                explanation=f"The request has no '## {JUDGE_NEW_OUTPUT}' section, so there "
                "is nothing to judge.",
                complained=(),
                followed=(),
                has_output=False,
            )
        score, complained, followed, why = self.truth(new_output, sections)
        passed = score == 1.0
        bias = self._bias
        if rng is not None:
            earlier = next((sections[h] for h in JUDGE_OUTPUT_SECTIONS if h in sections), None)
            if (
                bias.length_bias
                and earlier is not None
                and len(new_output) > len(earlier)
                and rng.random() < bias.length_bias
            ):
                score, passed, why = 1.0, True, "The new output is more thorough."
            if bias.error_prob and rng.random() < bias.error_prob:
                passed = not passed
                score = 1.0 if passed else 0.0
                why = JUDGE_AVOIDS_ALL if passed else "The new output still has problems."
        return JudgeVerdict(
            "pass" if passed else "fail", score, why, complained, followed
        )  # fmt: skip

    def pairwise(self, prompt: str, rng: random.Random | None = None) -> PairwiseAnswer | None:
        """None when the prompt has no Answer A and Answer B."""
        sections = parse_judge_sections(prompt)
        a, b = sections.get(JUDGE_ANSWER_A), sections.get(JUDGE_ANSWER_B)
        if a is None or b is None:
            return None
        qa, _, _, why_a = self.truth(a, sections)
        qb, _, _, why_b = self.truth(b, sections)
        truth: Literal["A", "B", "tie"] = "A" if qa > qb else "B" if qb > qa else "tie"
        preferred = truth
        bias = self._bias
        if rng is not None:
            if bias.position_bias and rng.random() < bias.position_bias:
                preferred = "A"
            elif bias.length_bias and len(a) != len(b) and rng.random() < bias.length_bias:
                preferred = "A" if len(a) > len(b) else "B"
            elif bias.error_prob and rng.random() < bias.error_prob:
                preferred = rng.choice([p for p in ("A", "B", "tie") if p != truth])
        why = {"A": f"Answer B: {why_b}", "B": f"Answer A: {why_a}", "tie": "Both are alike."}
        return PairwiseAnswer(preferred, truth, why[preferred])


def judge_new_output(
    rules: Sequence[Rule], prompt: str, tasks: Sequence[Task] = ()
) -> JudgeVerdict:
    """The unbiased sim judge on a single-verdict prompt (v1 outputs)."""
    by_input: dict[str, Task] = {}
    for task in tasks:
        by_input.setdefault(task.input.strip(), task)
    return SimJudge(rules, by_input).verdict(prompt)
