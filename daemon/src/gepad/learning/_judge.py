"""The judge: a reflection-class model that grades a new output against the user's feedback.

Its prompt is markdown sections with fixed headings; the answer is JSON validated with pydantic.
A malformed answer is asked for once more; after that the rollout is *unscored*.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "JUDGE_SYSTEM",
    "USER_SECTIONS",
    "JudgeVerdict",
    "parse_verdict",
    "render_sections",
]

# Sections that carry the user's own words; the judge must treat them as the ground truth.
USER_SECTIONS = ("User's complaint", "User's correction", "Failure message", "User's comment")

JUDGE_SYSTEM = """\
You review a coding assistant's NEW output against what one particular user told it before.
The sections headed "User's ..." and "Failure message" are the user's own words or their
tools' output: they are the ground truth about what this user wants.
Decide whether the new output does what the user asked for and avoids what they complained
about. Score 1.0 when it fully does, 0.0 when it repeats the problem, and in between for
partial fixes. Explain in one or two sentences, quoting the user's words that still apply.
Answer with JSON only: {"verdict": "pass" or "fail", "score": number from 0 to 1,
"explanation": string}.
"""

_OBJECT = re.compile(r"\{.*\}", re.S)


class JudgeVerdict(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    verdict: Literal["pass", "fail"]
    score: float = Field(ge=0.0, le=1.0)
    explanation: str = Field(max_length=4000)


def render_sections(sections: Sequence[tuple[str, str]]) -> str:
    """`## Heading` blocks; a heading inside the text cannot open a section of its own."""
    parts = []
    for heading, text in sections:
        body = (text or "(empty)").replace("\n## ", "\n# ")
        parts.append(f"## {heading}\n{body.strip()}\n")
    return "\n".join(parts)


def parse_verdict(text: str) -> JudgeVerdict | None:
    """The verdict in `text`, or None when there is no valid JSON verdict in it."""
    match = _OBJECT.search(text or "")
    if match is None:
        return None
    try:
        data = json.loads(match.group(0))
        return JudgeVerdict.model_validate(data)
    except (json.JSONDecodeError, ValidationError, TypeError):
        return None
