"""Judge modes: one verdict, a pairwise comparison asked in both orders, or k votes.

- `single`: one verdict at temperature 0 (cached like any deterministic call).
- `pairwise`: the new output against the earlier output the user reacted to, asked twice with
  the answers swapped. A win counts only when both orders prefer the new output; orders that
  disagree are a tie, never a win. Against an output the user rejected the score is the share
  of orders preferring the new output (1.0 win, 0.5 disagreement, 0.0 otherwise) and only a win
  passes; against an output the user liked it is 1 - the share preferring the liked one, and
  any order preferring the liked one fails.
- `repeat`: `repeats` verdicts at a temperature above 0, majority vote; a split vote fails.

Every grading counts its judge calls and tokens per mode (`cost()`), so the price of each mode
per rollout is visible in the optimizer status beside the calls recorded in the store.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from gepad.learning._judge import (
    ANSWER_A,
    ANSWER_B,
    JUDGE_SYSTEM,
    NEW_OUTPUT,
    PAIRWISE_SYSTEM,
    PairwiseVerdict,
    parse_pairwise,
    parse_verdict,
    render_sections,
)
from gepad.llm import LlmClient

__all__ = ["JUDGE_MODES", "Grade", "Judge", "JudgeSettings", "Reference"]

log = logging.getLogger(__name__)

JUDGE_MODES: Final = ("single", "pairwise", "repeat")


@dataclass(frozen=True, slots=True)
class JudgeSettings:
    """How the judge grades (config keys `judge_mode`, `judge_repeats`, `judge_temperature`,
    `judge_calibration_per_run`, `judge_kappa_threshold`)."""

    mode: str = "single"
    repeats: int = 3
    temperature: float = 0.7
    calibration_per_run: int = 4
    kappa_threshold: float = 0.4

    def __post_init__(self) -> None:
        if self.mode not in JUDGE_MODES:
            raise ValueError(f"judge mode must be one of {', '.join(JUDGE_MODES)}: {self.mode!r}")
        if self.repeats < 1:
            raise ValueError(f"judge repeats must be >= 1, got {self.repeats}")


@dataclass(frozen=True, slots=True)
class Grade:
    """One graded output. `score` None: no valid verdict (the rollout is unscored)."""

    score: float | None
    passed: bool
    explanation: str
    verdict: str  # "pass" / "fail", or "win" / "tie" / "loss" for pairwise
    calls: int
    tokens: int


@dataclass(frozen=True, slots=True)
class Reference:
    """The earlier output a pairwise judge compares against, and whether the user liked it."""

    text: str
    liked: bool
    heading: str = "Rejected output"
    shown: bool = True  # shown beside the new output in the single and repeat modes


class _Tally:
    __slots__ = ("answer", "calls", "tokens")

    def __init__(self) -> None:
        self.calls = 0
        self.tokens = 0
        self.answer: str | None = None


class Judge:
    def __init__(self, llm: LlmClient, settings: JudgeSettings | None = None) -> None:
        self._llm = llm
        self._settings = settings or JudgeSettings()
        # mode -> [gradings, calls, tokens]
        self._cost: dict[str, list[int]] = {}

    @property
    def settings(self) -> JudgeSettings:
        return self._settings

    def cost(self) -> dict[str, Any]:
        """Per mode used so far: gradings, judge calls and tokens, and their means per grading."""
        out: dict[str, Any] = {}
        for mode, (n, calls, tokens) in sorted(self._cost.items()):
            out[mode] = {
                "gradings": n,
                "calls": calls,
                "tokens": tokens,
                "calls_per_rollout": round(calls / n, 3) if n else 0.0,
                "tokens_per_rollout": round(tokens / n, 1) if n else 0.0,
            }
        return out

    async def grade(
        self, sections: Sequence[tuple[str, str]], new: str, reference: Reference | None
    ) -> Grade:
        """Grade `new` given the task sections (request, the user's words, rubric).

        `reference` is shown beside the new output in the single and repeat modes and is the
        other answer in the pairwise mode (without one, pairwise falls back to a single verdict).
        """
        mode = self._settings.mode
        if mode == "pairwise" and reference is not None:
            grade = await self._pairwise(sections, new, reference)
            return self._count("pairwise", grade)
        shown = list(sections)
        if reference is not None and reference.shown:
            shown.append((reference.heading, reference.text))
        shown.append((NEW_OUTPUT, new))
        return await self.grade_alone(shown)

    async def grade_alone(self, sections: Sequence[tuple[str, str]]) -> Grade:
        """A verdict (or, in repeat mode, a vote) on sections that end with the new output."""
        if self._settings.mode == "repeat":
            return self._count("repeat", await self._repeat(sections))
        tally = _Tally()
        verdict = await self._verdict(sections, tally, temperature=0.0, cached=True)
        if verdict is None:
            grade = Grade(None, False, "", "none", tally.calls, tally.tokens)
        else:
            grade = Grade(
                verdict.score,
                verdict.verdict == "pass",
                verdict.explanation,
                verdict.verdict,
                tally.calls,
                tally.tokens,
            )
        return self._count("single", grade)

    def _count(self, mode: str, grade: Grade) -> Grade:
        entry = self._cost.setdefault(mode, [0, 0, 0])
        entry[0] += 1
        entry[1] += grade.calls
        entry[2] += grade.tokens
        return grade

    async def _ask(
        self, system: str, sections: Sequence[tuple[str, str]], tally: _Tally, *,
        temperature: float, cached: bool, attempt: int,
    ) -> str:  # fmt: skip
        messages = [
            {"role": "system", "content": system},
            {"role": "user", "content": render_sections(sections)},
        ]
        result = await self._llm.complete(
            "judge",
            messages,
            temperature=temperature,
            response_format={"type": "json_object"},
            # A cached malformed answer would come back unchanged: retry past the cache.
            use_cache=cached and attempt == 0,
        )
        tally.calls += 0 if result.cached else 1
        tally.tokens += result.usage.total_tokens
        return result.text

    async def _verdict(
        self, sections: Sequence[tuple[str, str]], tally: _Tally, *, temperature: float,
        cached: bool,
    ) -> Any:  # fmt: skip
        for attempt in range(2):
            text = await self._ask(
                JUDGE_SYSTEM, sections, tally, temperature=temperature, cached=cached,
                attempt=attempt,
            )  # fmt: skip
            verdict = parse_verdict(text)
            if verdict is not None:
                return verdict
            log.info("judge answer malformed (attempt %d): %.200r", attempt + 1, text)
        return None

    async def _repeat(self, sections: Sequence[tuple[str, str]]) -> Grade:
        s = self._settings
        tally = _Tally()
        votes = []
        for _ in range(s.repeats):
            # Each vote is a fresh sample: never answered from the cache.
            verdict = await self._verdict(sections, tally, temperature=s.temperature, cached=False)
            if verdict is not None:
                votes.append(verdict)
        if not votes:
            return Grade(None, False, "", "none", tally.calls, tally.tokens)
        passes = [v for v in votes if v.verdict == "pass"]
        fails = [v for v in votes if v.verdict == "fail"]
        passed = len(passes) > len(fails)
        side = passes if passed else fails
        score = sum(v.score for v in side) / len(side)
        explanation = f"{len(passes)} of {len(votes)} verdicts pass. {side[0].explanation}".strip()
        return Grade(score, passed, explanation, "pass" if passed else "fail", tally.calls,
                     tally.tokens)  # fmt: skip

    async def _preference(
        self, sections: Sequence[tuple[str, str]], a: str, b: str, tally: _Tally
    ) -> PairwiseVerdict | None:
        shown = [*sections, (ANSWER_A, a), (ANSWER_B, b)]
        for attempt in range(2):
            text = await self._ask(
                PAIRWISE_SYSTEM, shown, tally, temperature=0.0, cached=True, attempt=attempt
            )
            verdict = parse_pairwise(text)
            if verdict is not None:
                return verdict
            log.info("pairwise judge answer malformed (attempt %d): %.200r", attempt + 1, text)
        return None

    async def _pairwise(
        self, sections: Sequence[tuple[str, str]], new: str, reference: Reference
    ) -> Grade:
        tally = _Tally()
        first = await self._preference(sections, new, reference.text, tally)  # new is A
        second = await self._preference(sections, reference.text, new, tally)  # new is B
        if first is None and second is None:
            return Grade(None, False, "", "none", tally.calls, tally.tokens)
        # Votes for the new output and for the earlier one, one per order that answered.
        new_votes = (first is not None and first.preferred == "A") + (
            second is not None and second.preferred == "B"
        )
        old_votes = (first is not None and first.preferred == "B") + (
            second is not None and second.preferred == "A"
        )
        outcome = "win" if new_votes == 2 else "loss" if old_votes == 2 else "tie"
        if reference.liked:  # keep what the user liked: fails only when both orders prefer it
            score, passed = 1.0 - old_votes / 2, old_votes == 0
            against = "the output the user liked"
        else:  # must beat what the user rejected: a disagreement is half, never a win
            score, passed = new_votes / 2, new_votes == 2
            against = "the output the user rejected"
        reasons = [v.explanation for v in (first, second) if v is not None and v.explanation]
        explanation = f"Against {against}, both orders: {outcome}. " + " ".join(reasons[:1])
        return Grade(score, passed, explanation.strip(), outcome, tally.calls, tally.tokens)
