"""Checks on prompt arguments, raising `InvalidPromptError` naming the field."""

from __future__ import annotations

import math
from typing import Final

from gepad.errors import InvalidPromptError
from gepad.store import COMPONENT_PATTERN

MAX_TEXT_BYTES: Final = 64 * 1024
MAX_CANDIDATE_ID: Final = 200
SWAP_POLICIES: Final = ("auto", "review")


def check_component(component: object) -> str:
    if not isinstance(component, str) or not COMPONENT_PATTERN.fullmatch(component):
        raise InvalidPromptError(
            "component",
            f"must match {COMPONENT_PATTERN.pattern} (lowercase letters, digits, _ and -, "
            f"at most 32 characters), got {component!r}",
        )
    return component


def check_text(text: object) -> str:
    if not isinstance(text, str):
        raise InvalidPromptError("text", f"must be a string, got {type(text).__name__}")
    if not text.strip():
        raise InvalidPromptError("text", "must not be empty or only whitespace")
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise InvalidPromptError("text", f"is not valid Unicode ({exc.reason})") from None
    if size > MAX_TEXT_BYTES:
        raise InvalidPromptError(
            "text", f"is {size} bytes of UTF-8; the limit is {MAX_TEXT_BYTES} (64 KiB)"
        )
    return text


def check_score(score: object) -> float | None:
    if score is None:
        return None
    if isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score):
        raise InvalidPromptError("score", f"must be a finite number or None, got {score!r}")
    return float(score)


def check_candidate_id(candidate_id: object) -> str | None:
    if candidate_id is None:
        return None
    if not isinstance(candidate_id, str) or not 0 < len(candidate_id) <= MAX_CANDIDATE_ID:
        raise InvalidPromptError(
            "candidate_id", f"must be a string of 1 to {MAX_CANDIDATE_ID} characters or None"
        )
    return candidate_id


def check_version(version: object) -> int:
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidPromptError("version", f"must be a positive integer, got {version!r}")
    return version


def check_limit(limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise InvalidPromptError("limit", f"must be an integer from 1 to 1000, got {limit!r}")
    return limit


def check_swap_policy(policy: object) -> str:
    if policy not in SWAP_POLICIES:
        raise InvalidPromptError("swap_policy", f"must be 'auto' or 'review', got {policy!r}")
    assert isinstance(policy, str)
    return policy
