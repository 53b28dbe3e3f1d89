"""Domain values (store and prompt service dataclasses) to the JSON shapes on the wire."""

from __future__ import annotations

import json
import logging
from typing import Any

from gepad.prompts import PromptState
from gepad.store import Example, PromptVersion

__all__ = ["example_to_wire", "prompt_state_to_wire", "prompt_version_to_wire"]

log = logging.getLogger(__name__)


def prompt_state_to_wire(state: PromptState) -> dict[str, Any]:
    pending = state.pending
    return {
        "component": state.component,
        "version": state.version,
        "text": state.text,
        "score": state.score,
        "source": state.source,
        "created_at": state.created_at,
        "pinned": state.pinned,
        "pending": None
        if pending is None
        else {
            "version": pending.version,
            "score": pending.score,
            "created_at": pending.created_at,
            "text": pending.text,
        },
    }


def prompt_version_to_wire(version: PromptVersion) -> dict[str, Any]:
    return {
        "version": version.version,
        "text": version.text,
        "score": version.score,
        "source": version.source,
        "candidate_id": version.candidate_id,
        "status": version.status,
        "created_at": version.created_at,
    }


def example_to_wire(example: Example) -> dict[str, Any]:
    return {
        "id": example.id,
        "kind": example.kind,
        "component": example.component,
        "workspace": example.workspace,
        "file": example.file,
        "language": example.language,
        "context": example.context,
        "output": example.output,
        "corrected": example.corrected,
        "comment": example.comment,
        "outcome": _outcome(example),
        "generation_id": example.generation_id,
        "prompt_version": example.prompt_version,
        "split": example.split,
        "retired": bool(example.retired),
        "created_at": example.created_at,
        "source": example.source,
    }


def _outcome(example: Example) -> Any:
    raw = example.outcome
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        # Stored by something other than this server; send it as the text it is.
        log.warning("example %d has an outcome that is not JSON", example.id)
        return raw
