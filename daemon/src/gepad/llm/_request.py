"""What a call sends and gets back: argument checks, the cache key, reading an answer."""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

from ._errors import LlmInputError
from ._types import PURPOSES, Usage

logger = logging.getLogger(__name__)

_ROLES = frozenset({"system", "user", "assistant", "tool", "developer"})
_CACHE_KEY_VERSION = 1


def cache_key(
    model: str,
    api_base: str | None,
    messages: Sequence[Mapping[str, Any]],
    params: Mapping[str, Any],
) -> str:
    """sha256 over canonical JSON of what a call sends; equal requests give equal keys."""
    payload = {
        "v": _CACHE_KEY_VERSION,
        "model": model,
        "api_base": api_base,
        "messages": list(messages),
        "params": dict(params),
    }
    canonical = json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _check_purpose(purpose: object) -> str:
    if purpose not in PURPOSES:
        raise LlmInputError(f"purpose must be one of {', '.join(PURPOSES)}; got {purpose!r}")
    return str(purpose)


def _check_messages(messages: object) -> list[dict[str, Any]]:
    if isinstance(messages, str | bytes) or not isinstance(messages, Sequence) or not messages:
        raise LlmInputError("messages must be a non-empty list of {'role', 'content'} objects")
    out: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise LlmInputError(f"messages[{i}] must be an object, got {type(message).__name__}")
        role = message.get("role")
        if role not in _ROLES:
            raise LlmInputError(
                f"messages[{i}].role must be one of {', '.join(sorted(_ROLES))}; got {role!r}"
            )
        content = message.get("content")
        if not (
            isinstance(content, str)
            or (isinstance(content, list) and all(isinstance(p, Mapping) for p in content))
        ):
            raise LlmInputError(
                f"messages[{i}].content must be a string or a list of content parts; "
                f"got {type(content).__name__}"
            )
        out.append(dict(message))
    try:
        json.dumps(out, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise LlmInputError(f"messages must hold plain JSON values: {exc}") from None
    return out


def _check_params(
    temperature: object, max_tokens: object, response_format: object
) -> dict[str, Any]:
    if isinstance(temperature, bool) or not isinstance(temperature, int | float):
        raise LlmInputError(f"temperature must be a number, got {temperature!r}")
    if not math.isfinite(temperature) or not 0 <= temperature <= 2:
        raise LlmInputError(f"temperature must be between 0 and 2, got {temperature!r}")
    params: dict[str, Any] = {"temperature": float(temperature)}
    if max_tokens is not None:
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise LlmInputError(
                f"max_tokens must be a positive integer or None, got {max_tokens!r}"
            )
        params["max_tokens"] = max_tokens
    if response_format is not None:
        if not isinstance(response_format, Mapping):
            raise LlmInputError(
                "response_format must be an object such as {'type': 'json_object'}, "
                f"got {type(response_format).__name__}"
            )
        try:
            json.dumps(dict(response_format), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise LlmInputError(f"response_format must hold plain JSON values: {exc}") from None
        params["response_format"] = dict(response_format)
    return params


def _text_size(messages: list[dict[str, Any]]) -> int:
    size = 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            size += len(content)
        elif isinstance(content, list):
            size += sum(len(str(part.get("text", ""))) for part in content)
    return size


def _read_response(response: Any) -> tuple[str, Usage, str]:
    try:
        choice = response.choices[0]
        content = choice.message.content
    except (AttributeError, IndexError, KeyError, TypeError) as exc:
        raise ValueError(f"the model's answer has no message: {exc}") from None
    usage = getattr(response, "usage", None)
    finish = "length" if getattr(choice, "finish_reason", None) == "length" else "stop"
    return (
        content if isinstance(content, str) else "",
        Usage(
            input_tokens=_as_count(getattr(usage, "prompt_tokens", 0)),
            output_tokens=_as_count(getattr(usage, "completion_tokens", 0)),
        ),
        finish,
    )


def _partial_usage(output_tokens: int, prompt_chars: int) -> Usage:
    """What a failed attempt consumed: the tokens it streamed, and (when it got that far) an
    estimate of the prompt it made the server read."""
    if output_tokens <= 0:
        return Usage()
    return Usage(input_tokens=max(1, prompt_chars // 4), output_tokens=output_tokens)


def _finish_note(finish: str, text: str, max_tokens: object) -> str | None:
    if finish == "looped":
        return f"looping answer: the repetition was cut, {len(text)} characters kept"
    if finish == "length":
        return f"answer stopped at max_tokens ({max_tokens})"
    return None


def _as_count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _cost(lm: ModuleType, response: Any, model: str) -> float:
    """litellm's price for the answer; 0 for Ollama, unknown models, or any pricing error."""
    if model.startswith(("ollama/", "ollama_chat/")):
        return 0.0
    try:
        cost = float(lm.completion_cost(completion_response=response))
    except Exception as exc:
        logger.debug("no price for %s (%s); counting 0", model, type(exc).__name__)
        return 0.0
    return cost if math.isfinite(cost) and cost > 0 else 0.0
