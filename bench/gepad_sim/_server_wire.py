"""The OpenAI chat-completions wire format, as far as the simulated server speaks it.

Requests are validated field by field so a bad one gets a 400 naming the field; responses are
shaped like OpenAI's so litellm's `openai/` provider parses them the way it parses the real
thing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from gepad_sim._errors import SimError

__all__ = [
    "BadRequest",
    "ChatRequest",
    "completion_json",
    "completion_tokens",
    "error_json",
    "parse_chat",
]


def completion_tokens(text: str) -> int:
    """Deterministic token estimate: words / 0.75, rounded up."""
    return (4 * len(text.split()) + 2) // 3


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """The parts of a chat-completions request the server uses."""

    model: str
    messages: tuple[tuple[str, str], ...]
    system: str
    user: str
    temperature: float = 0.0


class BadRequest(SimError):
    """A request the server answers with 400; `param` names the offending field."""

    def __init__(self, message: str, param: str | None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


def error_json(message: str, kind: str, param: str | None, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def _content_text(content: object, where: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise BadRequest(
            f"{where} must be a string or a list of content parts, not {type(content).__name__}",
            where,
        )
    texts: list[str] = []
    for i, part in enumerate(content):
        at = f"{where}[{i}]"
        if not isinstance(part, dict):
            raise BadRequest(f"{at} must be an object, not {type(part).__name__}", at)
        if part.get("type") != "text":
            continue  # images and the like carry nothing the simulated user reads
        text = part.get("text")
        if not isinstance(text, str):
            raise BadRequest(f"{at}.text must be a string", f"{at}.text")
        texts.append(text)
    return "".join(texts)


def parse_chat(body: object) -> ChatRequest:
    if not isinstance(body, dict):
        raise BadRequest(f"the request body must be a JSON object, not {type(body).__name__}", None)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest("model: required, a non-empty string", "model")
    if body.get("stream"):
        raise BadRequest(
            "stream: streaming is not supported by the simulated server; send stream: false",
            "stream",
        )
    for key, types in (("temperature", (int, float)), ("max_tokens", (int,))):
        value = body.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, types)):
            raise BadRequest(f"{key}: must be a number, not {type(value).__name__}", key)
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw:
        raise BadRequest("messages: required, a non-empty list of messages", "messages")
    messages: list[tuple[str, str]] = []
    for i, msg in enumerate(raw):
        where = f"messages[{i}]"
        if not isinstance(msg, dict):
            raise BadRequest(f"{where} must be an object, not {type(msg).__name__}", where)
        role = msg.get("role")
        if not isinstance(role, str) or not role:
            raise BadRequest(f"{where}.role: required, a string", f"{where}.role")
        if "content" not in msg:
            raise BadRequest(f"{where}.content: required", f"{where}.content")
        messages.append((role, _content_text(msg["content"], f"{where}.content")))
    users = [text for role, text in messages if role == "user"]
    if not users:
        raise BadRequest("messages: there is no message with role 'user'", "messages")
    system = "\n".join(text for role, text in messages if role in ("system", "developer"))
    temperature = body.get("temperature")
    return ChatRequest(
        model=model,
        messages=tuple(messages),
        system=system,
        user=users[-1],
        temperature=float(temperature) if temperature is not None else 0.0,
    )


def completion_json(
    seq: int, chat: ChatRequest, content: str, finish_reason: str
) -> dict[str, Any]:
    """An OpenAI `chat.completion` object answering `chat` with `content`."""
    prompt_tokens = completion_tokens(" ".join(text for _, text in chat.messages))
    out_tokens = completion_tokens(content)
    return {
        "id": f"chatcmpl-sim-{seq}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": chat.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": out_tokens,
            "total_tokens": prompt_tokens + out_tokens,
        },
    }
