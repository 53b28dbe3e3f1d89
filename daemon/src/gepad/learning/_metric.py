"""Scoring one rollout and explaining the score, by the kind of feedback the user gave.

A rollout of example *e* under a candidate: the candidate's component text is the system
message, *e*'s context the user message, to the task model. The judge then sees the task (the
user's request, *e*'s context), the user's own words (complaint, correction diff, comment,
failure message) as a rubric, the earlier output and the new one, and grades the new output in
the configured mode (`_judging`). The explanation, with the user's own words, becomes the
feedback the reflection LLM reads. Kernel examples are scored by the toolchain, never a judge.
"""

from __future__ import annotations

import difflib
import json
import logging
from dataclasses import dataclass
from typing import Any

from gepad.learning._code_checks import run_checks
from gepad.learning._judge import NEW_OUTPUT, REQUEST, RUBRIC, rubric
from gepad.learning._judging import Grade, Judge, JudgeSettings, Reference
from gepad.llm import LlmClient
from gepad.store import Example

__all__ = ["SCORED_KINDS", "Metric", "RolloutResult", "unified_diff"]

log = logging.getLogger(__name__)

SCORED_KINDS = frozenset(
    {"thumbs_down", "thumbs_up", "correction", "comment", "test_result", "compile_result", "kernel"}
)
# Similarity alone rewards copying; the judge says whether the user's changes were made.
_CORRECTION_SIMILARITY_WEIGHT = 0.3
_MAX_FEEDBACK_CHARS = 6000
# A rollout whose code breaks a convention the complaint names scores at most this share of
# the conventions it meets.
_CHECK_SCORE_CAP = 0.5


@dataclass(frozen=True, slots=True)
class RolloutResult:
    score: float | None  # None: unscored (the judge never gave a valid verdict)
    feedback: str
    output: str
    input: str
    # The metric's own pass/fail: the judge's verdict (a pairwise win); None when the metric
    # gives no verdict (kernels, scored by the toolchain alone, or no valid verdict).
    passed: bool | None = None


def unified_diff(before: str, after: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(), after.splitlines(), "assistant", "user", lineterm="", n=2
    )
    return "\n".join(lines)


def _outcome(example: Example) -> dict[str, Any]:
    try:
        data = example.outcome_data()
    except (ValueError, TypeError):
        return {}
    return data if isinstance(data, dict) else {}


def _failure_text(value: object) -> str:
    """A tool's message as the user saw it: text as is, a list of diagnostics one per line.

    `str()` of a list would hand the judge a Python repr, escapes and all.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(
            item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)
            for item in value
        )
    return json.dumps(value, ensure_ascii=False)


def _clip(text: str) -> str:
    if len(text) <= _MAX_FEEDBACK_CHARS:
        return text
    half = _MAX_FEEDBACK_CHARS // 2
    return f"{text[:half]}\n[... {len(text) - 2 * half} characters cut ...]\n{text[-half:]}"


@dataclass(frozen=True, slots=True)
class _Case:
    """What the judge is told about one example besides the new output."""

    user: list[tuple[str, str]]  # the user's own words (or their tools'), by heading
    reference: Reference | None  # the earlier output the user reacted to
    words: str  # the user's words as the reflection LLM reads them


class Metric:
    def __init__(
        self, llm: LlmClient, *, nvcc: Any = None, judge: JudgeSettings | None = None
    ) -> None:
        self._llm = llm
        self._judge = Judge(llm, judge)
        # Kernel examples are scored by nvcc (gepad.kernel), created on first use.
        self._nvcc = nvcc

    @property
    def judge(self) -> Judge:
        return self._judge

    async def rollout(self, component_text: str, example: Example) -> RolloutResult:
        from gepad.kernel._example import is_kernel_example

        if is_kernel_example(example.component, example.kind):
            return await self._kernel_rollout(component_text, example)
        messages = [
            {"role": "system", "content": component_text},
            {"role": "user", "content": example.context},
        ]
        result = await self._llm.complete("task", messages)
        new = result.text
        case = self._case(example)
        user_words = case.words
        grade = await self._judge.grade(self._task_sections(example, case), new, case.reference)
        if grade.score is None:
            feedback = user_words + "\n\nThe reviewer could not grade this output."
            return RolloutResult(None, _clip(feedback.strip()), new, example.context)
        score = grade.score
        verdict = grade.verdict
        finding = run_checks(example.comment or "", new) if example.comment else None
        if finding is not None:
            checks_pass = not finding.problems
            log.info(
                "judge agreement: mode=%s judge=%s checks=%s checked=%s",
                self._judge.settings.mode, "pass" if grade.passed else "fail",
                "pass" if checks_pass else "fail", ",".join(finding.checked),
            )  # fmt: skip
            if not checks_pass:
                # A code check the user's complaint names overrules the judge: a model's
                # "it includes type hints" about code without any is not a pass.
                met = 1 - len(finding.problems) / len(finding.checked)
                score = min(score, _CHECK_SCORE_CAP * met)
                verdict = f"{grade.verdict}, overruled by code checks"
                problems = "; ".join(f"{name}: {why}" for name, why in finding.problems)
                user_words += f"\n\nCode checks of what the user asked for: {problems}"
        if example.kind == "correction" and example.corrected:
            similarity = difflib.SequenceMatcher(None, new, example.corrected).ratio()
            score = (
                _CORRECTION_SIMILARITY_WEIGHT * similarity
                + (1 - _CORRECTION_SIMILARITY_WEIGHT) * grade.score
            )
            user_words += (
                f"\n\nSimilarity of the new output to the user's version: {similarity:.2f}"
            )
        feedback = f"{user_words}\n\nReviewer ({verdict}): {grade.explanation}"
        return RolloutResult(score, _clip(feedback.strip()), new, example.context, grade.passed)

    async def rejudge(self, example: Example) -> Grade:
        """The judge on the example's own output against the user's own words (calibration).

        Always a verdict on one output (a vote in repeat mode): there is nothing to compare with.
        """
        case = self._case(example)
        sections = [
            (REQUEST, example.context),
            *case.user,
            (RUBRIC, rubric(example.kind, case.user, liked=False)),
            (NEW_OUTPUT, example.output),
        ]
        return await self._judge.grade_alone(sections)

    @staticmethod
    def _task_sections(example: Example, case: _Case) -> list[tuple[str, str]]:
        liked = case.reference is not None and case.reference.liked
        return [
            (REQUEST, example.context),
            *case.user,
            (RUBRIC, rubric(example.kind, case.user, liked=liked)),
        ]

    def _case(self, example: Example) -> _Case:
        """The judge's view of this kind, and the user's words for the reflection LLM."""
        kind = example.kind
        outcome = _outcome(example)
        comment = (example.comment or "").strip()
        if kind == "correction":
            diff = unified_diff(example.output, example.corrected or "")
            user = [("User's correction", diff)]
            words = f"The user corrected the assistant's output like this:\n{diff}"
            if comment:
                user.append(("User's comment", comment))
                words += f"\nTheir comment: {comment}"
            # The diff shows the rejected output already; pairwise compares against it.
            return _Case(user, Reference(example.output, liked=False, shown=False), words)
        if kind == "thumbs_down":
            complaint = comment or "(the user rejected the output without a comment)"
            words = (
                f"The user rejected an earlier output with this comment: {complaint}\n"
                f"The rejected output was:\n{example.output}"
            )
            rejected = Reference(example.output, liked=False, heading="Rejected output")
            return _Case([("User's complaint", complaint)], rejected, words)
        if kind == "comment":
            words = f"The user commented on an earlier output: {comment}"
            earlier = Reference(example.output, liked=False, heading="Earlier output")
            return _Case([("User's comment", comment)], earlier, words)
        failed = (kind == "test_result" and outcome.get("passed") is False) or (
            kind == "compile_result" and outcome.get("ok") is False
        )
        if failed:
            message = _failure_text(outcome.get("message") or outcome.get("diagnostics") or outcome)
            what = "test" if kind == "test_result" else str(outcome.get("tool") or "compiler")
            words = f"The user's {what} failed on an earlier output:\n{message}"
            failing = Reference(example.output, liked=False, heading="Output that failed")
            return _Case([("Failure message", message)], failing, words)
        # thumbs_up and passing outcomes guard against regressions.
        words = "The user accepted this earlier output; a new output must keep what made it good."
        liked = Reference(example.output, liked=True, heading="Output the user liked")
        return _Case([], liked, words + f"\n{example.output}")

    async def _kernel_rollout(self, component_text: str, example: Example) -> RolloutResult:
        """The task model writes the kernel; the toolchain, not a judge, scores it."""
        from gepad.kernel import NvccToolchain
        from gepad.kernel._example import request_text, score_kernel_example
        from gepad.kernel._solve import extract_source

        if self._nvcc is None:
            self._nvcc = NvccToolchain()
        outcome = _outcome(example)
        request = request_text(example.context, outcome)
        messages = [
            {"role": "system", "content": component_text},
            {"role": "user", "content": request},
        ]
        result = await self._llm.complete("task", messages)
        source = extract_source(result.text)
        scored = await score_kernel_example(source, outcome, nvcc=self._nvcc)
        comment = (example.comment or "").strip()
        feedback = (
            f"The user's comment: {comment}\n\n{scored.feedback}" if comment else scored.feedback
        )
        return RolloutResult(scored.score, _clip(feedback.strip()), source, request)
