"""`examples.list` (pages under a byte cap, previews of long fields) and `examples.get`.

A listing never builds a giant reply: each text field is cut to `EXAMPLE_PREVIEW_CHARS` in
SQL (`truncated: true` says so), a page stops before its encoded examples pass
`EXAMPLES_REPLY_MAX_BYTES`, and `next_cursor` (opaque) continues after the last example
listed. `examples.get` returns one example whole.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Final

from gepad.server._dispatch import MethodSpec
from gepad.server._encode import example_to_wire
from gepad.server._protocol import INVALID_PARAMS, NOT_FOUND, RpcError
from gepad.server._review import RetireParams
from gepad.server._wire import ExamplesListParams
from gepad.store import Store

__all__ = ["EXAMPLES_REPLY_MAX_BYTES", "EXAMPLE_PREVIEW_CHARS", "examples_methods"]

EXAMPLE_PREVIEW_CHARS: Final = 4096
EXAMPLES_REPLY_MAX_BYTES: Final = 512 * 1024
_CURSOR_PREFIX = "examples:v1:"


def encode_cursor(before_id: int) -> str:
    raw = f"{_CURSOR_PREFIX}{before_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith(_CURSOR_PREFIX):
            raise ValueError(raw)
        before_id = int(raw.removeprefix(_CURSOR_PREFIX))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise RpcError(
            INVALID_PARAMS, "cursor: not a cursor from examples.list's next_cursor"
        ) from None
    if before_id < 1:
        raise RpcError(INVALID_PARAMS, "cursor: not a cursor from examples.list's next_cursor")
    return before_id


class _Examples:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def examples_list(self, p: ExamplesListParams) -> dict[str, Any]:
        before = decode_cursor(p.cursor) if p.cursor is not None else None
        rows = await self._store.list_example_previews(
            limit=p.limit + 1, kind=p.kind, before_id=before, preview_chars=EXAMPLE_PREVIEW_CHARS
        )
        examples: list[dict[str, Any]] = []
        size = 0
        more = False
        for index, (example, truncated) in enumerate(rows):
            wire = {**example_to_wire(example), "truncated": truncated}
            length = len(json.dumps(wire, ensure_ascii=False).encode("utf-8"))
            if index == p.limit or (examples and size + length > EXAMPLES_REPLY_MAX_BYTES):
                more = True
                break
            examples.append(wire)
            size += length
        next_cursor = encode_cursor(examples[-1]["id"]) if more and examples else None
        return {"examples": examples, "next_cursor": next_cursor}

    async def examples_get(self, p: RetireParams) -> dict[str, Any]:
        example = await self._store.get_example(p.id)
        if example is None:
            raise RpcError(NOT_FOUND, f"example {p.id} not found")
        return {**example_to_wire(example), "truncated": False}


def examples_methods(store: Store) -> list[MethodSpec]:
    e = _Examples(store)
    return [
        MethodSpec("examples.list", ExamplesListParams.model_validate, e.examples_list),
        MethodSpec("examples.get", RetireParams.model_validate, e.examples_get),
    ]
