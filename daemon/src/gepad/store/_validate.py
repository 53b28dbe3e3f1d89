"""Input checks that run before anything touches the database.

Every check raises `InvalidFieldError` naming the field, so a refused write leaves nothing behind
and the wire layer can say exactly what was wrong.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from gepad.errors import InvalidFieldError

from ._models import (
    EXAMPLE_KINDS,
    EXAMPLE_SOURCES,
    LLM_PURPOSES,
    PROMPT_SOURCES,
    PROMPT_STATUSES,
    SPLITS,
    LlmCall,
    NewExample,
    NewGeneration,
)

COMPONENT_PATTERN: Final = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
MAX_LIMIT: Final = 10_000


def check_component(value: object, field: str = "component") -> str:
    if not isinstance(value, str) or not COMPONENT_PATTERN.fullmatch(value):
        raise InvalidFieldError(
            field, f"must match {COMPONENT_PATTERN.pattern} (lowercase name), got {value!r}"
        )
    return value


def check_choice(field: str, value: object, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise InvalidFieldError(field, f"must be one of {', '.join(allowed)}; got {value!r}")
    return value


def check_text(field: str, value: object, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise InvalidFieldError(field, f"must be a string, got {type(value).__name__}")
    try:
        # JSON on the wire can carry lone surrogates; sqlite cannot store them as text.
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidFieldError(field, f"is not valid Unicode ({exc.reason})") from None
    return value


def check_nonempty(field: str, value: object, *, max_len: int = 200) -> str:
    text = check_text(field, value)
    assert text is not None
    if not text.strip():
        raise InvalidFieldError(field, "must not be empty")
    if len(text) > max_len:
        raise InvalidFieldError(field, f"must be at most {max_len} characters")
    return text


def check_id(field: str, value: object, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidFieldError(field, f"must be a positive integer, got {value!r}")
    return value


def check_count(field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidFieldError(field, f"must be a non-negative integer, got {value!r}")
    return value


def check_number(
    field: str, value: object, *, optional: bool = False, minimum: float | None = None
) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidFieldError(field, f"must be a finite number, got {value!r}")
    if minimum is not None and value < minimum:
        raise InvalidFieldError(field, f"must be at least {minimum}, got {value!r}")
    return float(value)


def check_limit(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LIMIT:
        raise InvalidFieldError("limit", f"must be an integer from 1 to {MAX_LIMIT}, got {value!r}")
    return value


def canonical_json(field: str, value: object) -> str:
    """JSON text with sorted keys; accepts a mapping/list or JSON text."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise InvalidFieldError(field, f"is not valid JSON ({exc})") from None
    try:
        text = json.dumps(
            value, sort_keys=True, ensure_ascii=False, allow_nan=False, separators=(",", ":")
        )
    except (TypeError, ValueError) as exc:
        raise InvalidFieldError(field, f"cannot be stored as JSON ({exc})") from None
    check_text(field, text)
    return text


@dataclass(frozen=True, slots=True)
class PreparedExample:
    """A checked example with its outcome canonicalised and its content hash computed."""

    ex: NewExample
    outcome: str | None
    content_hash: str


def prepare_example(ex: object) -> PreparedExample:
    if not isinstance(ex, NewExample):
        raise InvalidFieldError("example", f"must be a NewExample, got {type(ex).__name__}")
    check_choice("kind", ex.kind, EXAMPLE_KINDS)
    check_component(ex.component)
    check_choice("split", ex.split, SPLITS)
    if ex.source is not None:
        check_choice("source", ex.source, EXAMPLE_SOURCES)
    for name in ("context", "output"):
        check_text(name, getattr(ex, name))
    for name in ("workspace", "file", "language", "corrected", "comment"):
        check_text(name, getattr(ex, name), optional=True)
    check_id("generation_id", ex.generation_id, optional=True)
    check_id("prompt_version", ex.prompt_version, optional=True)
    outcome = None if ex.outcome is None else canonical_json("outcome", ex.outcome)
    # The hash covers the kind and every content field, not the split: a split is assigned later.
    content = [
        ex.kind,
        ex.component,
        ex.workspace,
        ex.file,
        ex.language,
        ex.context,
        ex.output,
        ex.corrected,
        ex.comment,
        outcome,
        ex.generation_id,
        ex.prompt_version,
    ]
    digest = hashlib.sha256(
        json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    ).hexdigest()
    return PreparedExample(ex=ex, outcome=outcome, content_hash=digest)


def check_generation(gen: object) -> NewGeneration:
    if not isinstance(gen, NewGeneration):
        raise InvalidFieldError("generation", f"must be a NewGeneration, got {type(gen).__name__}")
    check_component(gen.component)
    for name in ("instruction", "context", "output"):
        check_text(name, getattr(gen, name))
    for name in ("workspace", "file", "language", "model"):
        check_text(name, getattr(gen, name), optional=True)
    check_id("prompt_version", gen.prompt_version, optional=True)
    return gen


def check_llm_call(call: object) -> LlmCall:
    if not isinstance(call, LlmCall):
        raise InvalidFieldError("call", f"must be an LlmCall, got {type(call).__name__}")
    check_nonempty("model", call.model)
    check_choice("purpose", call.purpose, LLM_PURPOSES)
    check_count("input_tokens", call.input_tokens)
    check_count("output_tokens", call.output_tokens)
    check_number("cost_usd", call.cost_usd, minimum=0.0)
    check_number("latency_ms", call.latency_ms, minimum=0.0)
    check_nonempty("outcome", call.outcome, max_len=64)
    check_text("error", call.error, optional=True)
    if call.component is not None:
        check_component(call.component)
    return call


def check_prompt_fields(component: object, text: object, source: object, status: object) -> None:
    check_component(component)
    check_text("text", text)
    check_choice("source", source, PROMPT_SOURCES)
    check_choice("status", status, PROMPT_STATUSES)


def check_payload(payload: object) -> str:
    if not isinstance(payload, Mapping):
        raise InvalidFieldError("payload", f"must be a mapping, got {type(payload).__name__}")
    return canonical_json("payload", dict(payload))
