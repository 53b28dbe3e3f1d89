"""Continue's dev-data events (`~/.continue/dev_data/`) as examples.

Continue logs one JSON line per event to `<dev_data>/<schema>/<eventName>.jsonl`. The schemas
are versioned in continuedev/continue, `packages/config-yaml/src/schemas/data/`:

* `chatFeedback` 0.1.0: `modelTitle`, `completionOptions`, `prompt`, `completion`,
  `feedback` (boolean), `sessionId`; 0.2.0 adds the base fields (`eventName`, `schema`,
  `createdAt`, `userId`, `userAgent`, `selectedProfileId`). The `noCode` variants leave out
  `prompt` and `completion`.
* `editOutcome` 0.2.0: base fields, `modelName`, `modelTitle`, `modelProvider`, `prompt`,
  `completion`, `previousCode`, `newCode`, `previousCodeLines`, `newCodeLines`, `lineChange`,
  `accepted`, `filepath`; its `noCode` variant leaves out `prompt`, `completion`,
  `previousCode` and `newCode`.

Mapping: chat feedback `true`/`false` is a thumbs-up/down with the answer (`completion`) as
output and the request (`prompt`) as context. A rejected edit is a thumbs-down on the code it
proposed (`newCode`). An accepted edit is a correction when the code the user kept (`newCode`)
differs from what the model answered (`completion`, fences stripped), else a thumbs-up. An
event without the text to learn from (the `noCode` variants, no `feedback`) is skipped.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Final

from gepad.store import NewExample

__all__ = ["CONTINUE_EVENTS", "event_name", "example_from_event"]

CONTINUE_EVENTS: Final = ("chatFeedback", "editOutcome")
_FENCE: Final = re.compile(r"^\s*```[^\n]*\n(.*?)\n?```\s*$", re.DOTALL)
_MAX_CHARS: Final = 256 * 1024


def event_name(path: Path) -> str | None:
    """`chatFeedback` for `.../chatFeedback.jsonl`, None for a file we do not read."""
    stem = path.name.removesuffix(".jsonl")
    return stem if path.name.endswith(".jsonl") and stem in CONTINUE_EVENTS else None


def _text(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value[:_MAX_CHARS] if isinstance(value, str) else None


def _unfenced(text: str) -> str:
    match = _FENCE.match(text)
    return match.group(1) if match else text


def _same(a: str, b: str) -> bool:
    return _unfenced(a).strip() == _unfenced(b).strip()


def example_from_event(name: str, event: dict[str, Any]) -> NewExample | None:
    if name == "chatFeedback":
        return _chat(event)
    if name == "editOutcome":
        return _edit(event)
    return None


def _chat(event: dict[str, Any]) -> NewExample | None:
    feedback = event.get("feedback")
    prompt, completion = _text(event, "prompt"), _text(event, "completion")
    if not isinstance(feedback, bool) or not completion or prompt is None:
        return None
    model = _text(event, "modelTitle") or _text(event, "modelName")
    return NewExample(
        kind="thumbs_up" if feedback else "thumbs_down",
        context=prompt,
        output=completion,
        comment=None if feedback else f"thumbs-down in Continue chat{_on(model)}",
        source="continue",
    )


def _edit(event: dict[str, Any]) -> NewExample | None:
    accepted = event.get("accepted")
    new_code = _text(event, "newCode")
    previous = _text(event, "previousCode")
    prompt = _text(event, "prompt")
    completion = _text(event, "completion")
    if not isinstance(accepted, bool) or new_code is None or previous is None or prompt is None:
        return None
    filepath = _text(event, "filepath")
    context = f"{prompt}\n\nCode before the edit:\n{previous}" if previous else prompt
    common: dict[str, Any] = {"context": context, "file": filepath, "source": "continue"}
    if not accepted:
        return NewExample(
            kind="thumbs_down",
            output=new_code,
            comment="edit rejected in Continue",
            **common,
        )
    if completion and not _same(completion, new_code):
        return NewExample(kind="correction", output=completion, corrected=new_code, **common)
    return NewExample(kind="thumbs_up", output=new_code, **common)


def _on(model: str | None) -> str:
    return f" ({model})" if model else ""
