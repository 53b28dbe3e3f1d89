"""The judge's prompts and answers: a reflection-class model grades outputs for one user.

Its prompt is markdown sections with fixed headings, the user's request first and the user's own
words as a numbered rubric; the answer is JSON validated with pydantic. A single verdict grades
one output (`JUDGE_SYSTEM`); a pairwise verdict says which of two answers does better
(`PAIRWISE_SYSTEM`). A malformed answer is asked for once more; after that it counts as no
verdict.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

__all__ = [
    "ANSWER_A",
    "ANSWER_B",
    "JUDGE_SYSTEM",
    "NEW_OUTPUT",
    "OUTPUT_SECTIONS",
    "PAIRWISE_SYSTEM",
    "REQUEST",
    "RUBRIC",
    "UNMET_SCORE_CAP",
    "USER_SECTIONS",
    "JudgeVerdict",
    "PairwiseVerdict",
    "parse_pairwise",
    "parse_verdict",
    "render_sections",
    "rubric",
]

REQUEST = "User's request"
RUBRIC = "Rubric"
NEW_OUTPUT = "New output"
ANSWER_A = "Answer A"
ANSWER_B = "Answer B"
# Sections that carry the user's own words; the judge must treat them as the ground truth.
USER_SECTIONS = ("User's complaint", "User's correction", "Failure message", "User's comment")
# Sections holding an earlier output (the one the user rejected, or the one they liked).
OUTPUT_SECTIONS = (
    "Rejected output",
    "Earlier output",
    "Output that failed",
    "Output the user liked",
)

JUDGE_SYSTEM = """\
You review a coding assistant's NEW output for one particular user.
"User's request" is what the user asked for. The sections headed "User's ..." and "Failure
message" are the user's own words or their tools' output: they are the ground truth about what
this user wants, and "Rubric" lists them as the numbered rules to check.
Check the rules one by one against the new output itself, not against what it claims about
itself. The new output must first answer the user's request: an empty, evasive or off-task
answer fails, whatever it avoids. Then it must do what the user asked for and avoid what they
complained about, without losing what they liked. List the numbers of the rules the new output
does not meet in "unmet". Verdict "pass" only when "unmet" is empty. Score 1.0 when it fully
meets every rule, 0.0 when it repeats the problem or does not do the task, and in between for
partial fixes. Explain in one or two sentences, quoting the user's words that still apply.
Answer with JSON only: {"unmet": [rule numbers], "verdict": "pass" or "fail", "score": number
from 0 to 1, "explanation": string}.
"""

PAIRWISE_SYSTEM = """\
You compare two answers of a coding assistant, "Answer A" and "Answer B", for one particular
user. "User's request" is what the user asked for; the sections headed "User's ..." and
"Failure message" are the user's own words, and "Rubric" lists them as the criteria to check.
Decide which answer does the user's request better by that rubric: an empty, evasive or
off-task answer loses. The order of the answers and their length say nothing about quality.
If neither is better, say "tie".
Answer with JSON only: {"preferred": "A" or "B" or "tie", "explanation": string}.
"""

_OBJECT = re.compile(r"\{.*\}", re.S)


# A verdict that names an unmet rule cannot score above this, whatever it says.
UNMET_SCORE_CAP = 0.5


class JudgeVerdict(BaseModel):
    """A graded output. `unmet`: the rubric's rule numbers the judge says are not met.

    A verdict that contradicts itself is made consistent the strict way: "pass" with an unmet
    rule, or a score above `UNMET_SCORE_CAP` with one, is a fail capped at that score.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    verdict: Literal["pass", "fail"]
    score: float = Field(ge=0.0, le=1.0)
    explanation: str = Field(max_length=4000)
    unmet: tuple[int, ...] = ()

    @field_validator("unmet", mode="before")
    @classmethod
    def _rule_numbers(cls, value: object) -> object:
        if value is None:
            return ()
        if isinstance(value, (int, str)):
            value = [value]
        if not isinstance(value, (list, tuple)):
            return value
        numbers: list[int] = []
        for item in value:
            found = re.search(r"\d+", str(item))
            if found is not None:
                numbers.append(int(found.group(0)))
        return tuple(numbers)

    @model_validator(mode="after")
    def _consistent(self) -> JudgeVerdict:
        if not self.unmet:
            return self
        score = min(self.score, UNMET_SCORE_CAP)
        if self.verdict == "fail" and score == self.score:
            return self
        return self.model_copy(update={"verdict": "fail", "score": score})


class PairwiseVerdict(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    preferred: Literal["A", "B", "tie"]
    explanation: str = Field(default="", max_length=4000)


def render_sections(sections: Sequence[tuple[str, str]]) -> str:
    """`## Heading` blocks; a heading inside the text cannot open a section of its own."""
    parts = []
    for heading, text in sections:
        body = (text or "(empty)").replace("\n## ", "\n# ")
        parts.append(f"## {heading}\n{body.strip()}\n")
    return "\n".join(parts)


def rubric(kind: str, user_words: Sequence[tuple[str, str]], *, liked: bool) -> str:
    """The criteria, numbered, built from the user's own words (`user_words`: heading, text)."""
    items = ["It answers the user's request above, completely and on topic."]
    for heading, text in user_words:
        text = text.strip()
        if not text:
            continue
        if heading == "User's correction":
            items.append("It makes the changes the user made in their correction (the diff).")
        elif heading == "Failure message":
            items.append(f"It does not fail the user's tools again like this: {_one_line(text)}")
        elif heading == "User's complaint":
            items.append(f"It avoids what the user complained about: {_one_line(text)}")
        else:
            items.append(f"It does what the user said: {_one_line(text)}")
    if liked:
        items.append("It keeps everything that made the output the user liked good.")
    if kind == "thumbs_down" and len(items) == 1:
        items.append("It is not the output the user rejected, nor as bad as it.")
    return "\n".join(f"{n}. {item}" for n, item in enumerate(items, 1))


def _one_line(text: str, limit: int = 600) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _json_object(text: str) -> object:
    match = _OBJECT.search(text or "")
    if match is None:
        return None
    try:
        return json.loads(match.group(0))
    except json.JSONDecodeError:
        return None


_CUT_FIELDS = re.compile(
    r'^\s*(?:```(?:json)?\s*)?\{\s*(?:"unmet"\s*:\s*\[(?P<unmet>[^\]]*)\]\s*,\s*)?'
    r'"verdict"\s*:\s*"(?P<verdict>pass|fail)"\s*,\s*"score"\s*:\s*(?P<score>[0-9.]+)\s*,'
    r'\s*"explanation"\s*:\s*"(?P<explanation>.*)$',
    re.S,
)


def _cut_verdict(text: str) -> object:
    """A verdict whose answer was cut inside its explanation (the last field, at max_tokens):
    the fields before it are complete, so they are kept and the explanation marked as cut."""
    match = _CUT_FIELDS.match(text or "")
    if match is None:
        return None
    unmet = [u for u in (match["unmet"] or "").replace('"', "").split(",") if u.strip()]
    try:
        score = float(match["score"])
    except ValueError:
        return None
    explanation = match["explanation"].replace('\\"', '"')
    return {
        "unmet": unmet,
        "verdict": match["verdict"],
        "score": score,
        "explanation": explanation[:3000].rstrip() + " [cut]",
    }


def parse_verdict(text: str) -> JudgeVerdict | None:
    """The verdict in `text`, or None when there is no valid JSON verdict in it.

    An answer cut inside its explanation keeps its verdict, score and unmet rules.
    """
    data = _json_object(text)
    if data is None:
        data = _cut_verdict(text)
    if data is None:
        return None
    try:
        return JudgeVerdict.model_validate(data)
    except (ValidationError, TypeError):
        return None


def parse_pairwise(text: str) -> PairwiseVerdict | None:
    """The pairwise preference in `text`, or None when there is no valid one."""
    data = _json_object(text)
    if isinstance(data, dict) and isinstance(data.get("preferred"), str):
        data = {**data, "preferred": data["preferred"].strip().upper().replace("TIE", "tie")}
    try:
        return PairwiseVerdict.model_validate(data)
    except (ValidationError, TypeError):
        return None
