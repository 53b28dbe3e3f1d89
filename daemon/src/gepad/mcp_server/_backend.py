"""What the MCP server needs of the daemon; `gepad_client.GepadClient` provides it."""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["Backend"]


class Backend(Protocol):
    async def get_status(self) -> Any: ...
    async def get_prompt(self, component: str = "general") -> Any: ...
    async def submit_feedback(self, kind: str, **fields: Any) -> Any: ...
