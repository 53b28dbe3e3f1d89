"""`GepadMcp`: the prompt as an MCP resource, prompt and tool, plus a feedback tool.

Served over stdio to one assistant per process (that is how MCP clients start servers).
Change notifications reach clients of both protocol eras: handshake-era sessions (captured
when the client sends `notifications/initialized`) get `notifications/prompts/list_changed`,
`notifications/resources/list_changed` and `notifications/resources/updated`; 2026-era
clients get the same events on their `subscriptions/listen` stream.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import mcp_types as types
from mcp.server import Server
from mcp.server.lowlevel.server import NotificationOptions
from mcp.server.subscriptions import (
    InMemorySubscriptionBus,
    ListenHandler,
    PromptsListChanged,
    ResourcesListChanged,
    ResourceUpdated,
)

from gepad_client import GepadClientError, RpcError

from ._backend import Backend

__all__ = ["FEEDBACK_KINDS", "PROMPT_NAME", "GepadMcp", "prompt_uri"]

log = logging.getLogger(__name__)

PROMPT_NAME = "gepad"
URI_PREFIX = "gepad://prompt/"
FEEDBACK_KINDS = (
    "thumbs_down",
    "thumbs_up",
    "correction",
    "comment",
    "test_result",
    "compile_result",
)
_TEXT = {"type": "string"}
_FEEDBACK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "kind": {"type": "string", "enum": list(FEEDBACK_KINDS)},
        "component": {**_TEXT, "description": "prompt component (general)"},
        "output": {**_TEXT, "description": "what the assistant produced"},
        "context": {**_TEXT, "description": "the code or request around it"},
        "corrected": {**_TEXT, "description": "correction: what it should have been"},
        "comment": {**_TEXT, "description": "thumbs_down or comment: why"},
        "test": {**_TEXT, "description": "test_result: the test's name"},
        "passed": {"type": "boolean", "description": "test_result: did it pass"},
        "message": {**_TEXT, "description": "test_result: the failure message"},
        "tool": {**_TEXT, "description": "compile_result: the compiler"},
        "ok": {"type": "boolean", "description": "compile_result: did it compile"},
        "diagnostics": {**_TEXT, "description": "compile_result: the compiler's output"},
        "file": _TEXT,
        "workspace": _TEXT,
        "language": _TEXT,
        "generation_id": {"type": "integer", "minimum": 1},
        "prompt_version": {"type": "integer", "minimum": 1},
    },
    "required": ["kind"],
    "additionalProperties": False,
}
_GET_PROMPT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"component": {**_TEXT, "description": "prompt component (general)"}},
    "additionalProperties": False,
}


def prompt_uri(component: str) -> str:
    return f"{URI_PREFIX}{component}"


class _Server(Server[Any]):
    def create_initialization_options(  # type: ignore[override]
        self, notification_options: NotificationOptions | None = None, **kwargs: Any
    ) -> Any:
        # Advertise list_changed whichever transport builds the options (stdio, in-memory).
        options = notification_options or NotificationOptions(
            prompts_changed=True, resources_changed=True
        )
        return super().create_initialization_options(options, **kwargs)


class GepadMcp:
    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._bus = InMemorySubscriptionBus()
        self._sessions: list[Any] = []  # handshake-era sessions, notified on every change
        self._subscribed: set[str] = set()
        self._known: set[str] = set()
        self.server: Server[Any] = _Server(
            "gepad",
            version=_version(),
            instructions=(
                "gepad serves the user's evolving coding instructions (resource "
                "gepad://prompt/general, prompt 'gepad', tool get_prompt). Follow them. "
                "Report what the user thought of your work with record_feedback."
            ),
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
            on_list_resources=self._list_resources,
            on_list_resource_templates=self._list_templates,
            on_read_resource=self._read_resource,
            on_subscribe_resource=self._subscribe,
            on_unsubscribe_resource=self._unsubscribe,
            on_subscriptions_listen=ListenHandler(self._bus),
            on_list_prompts=self._list_prompts,
            on_get_prompt=self._get_prompt,
        )
        self.server.add_notification_handler(
            "notifications/initialized", types.NotificationParams, self._initialized
        )

    # change notifications ----------------------------------------------------------------------

    async def follow(self, changes: AsyncIterator[Any]) -> None:
        """Forward every `prompt.changed` from the daemon until the subscription ends."""
        async for state in changes:
            await self.prompt_changed(str(state.get("component", "general")))

    async def prompt_changed(self, component: str) -> None:
        uri = prompt_uri(component)
        new = component not in self._known
        self._known.add(component)
        for session in list(self._sessions):
            try:
                if uri in self._subscribed:
                    await session.send_resource_updated(uri)
                if new:
                    await session.send_resource_list_changed()
                await session.send_prompt_list_changed()
            except Exception:  # a client that went away must not stop the others
                log.warning("mcp: a session could not be notified; dropping it", exc_info=True)
                with contextlib.suppress(ValueError):
                    self._sessions.remove(session)
        await self._bus.publish(ResourceUpdated(uri=uri))
        if new:
            await self._bus.publish(ResourcesListChanged())
        await self._bus.publish(PromptsListChanged())

    async def _initialized(self, ctx: Any, _: types.NotificationParams) -> None:
        self._sessions.append(ctx.session)

    # tools -------------------------------------------------------------------------------------

    async def _list_tools(self, ctx: Any, _: Any) -> types.ListToolsResult:
        return types.ListToolsResult(
            tools=[
                types.Tool(
                    name="get_prompt",
                    description="The user's current coding instructions, evolved by gepad.",
                    input_schema=_GET_PROMPT_SCHEMA,
                ),
                types.Tool(
                    name="record_feedback",
                    description=(
                        "Record what the user thought of your work (thumbs up or down, a "
                        "correction, a comment, a test or compile result); gepad learns from it."
                    ),
                    input_schema=_FEEDBACK_SCHEMA,
                ),
            ]
        )

    async def _call_tool(
        self, ctx: Any, params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        args = dict(params.arguments or {})
        try:
            if params.name == "get_prompt":
                state = await self._backend.get_prompt(str(args.get("component", "general")))
                return _ok(state["text"], state)
            if params.name == "record_feedback":
                kind = args.pop("kind", None)
                if kind not in FEEDBACK_KINDS:
                    return _error(f"kind: must be one of {', '.join(FEEDBACK_KINDS)}")
                args["source"] = "mcp"
                result = await self._backend.submit_feedback(str(kind), **args)
                word = "already recorded as" if result.get("duplicate") else "recorded as"
                return _ok(f"{word} example #{result['example_id']}", result)
        except RpcError as exc:
            return _error(exc.message)
        except GepadClientError as exc:
            return _error(f"gepad daemon: {exc}")
        return _error(f"unknown tool {params.name!r}")

    # resources ---------------------------------------------------------------------------------

    async def _components(self) -> list[str]:
        status = await self._backend.get_status()
        names = [str(c["component"]) for c in status.get("components", [])]
        self._known.update(names)
        return names

    async def _list_resources(self, ctx: Any, _: Any) -> types.ListResourcesResult:
        return types.ListResourcesResult(
            resources=[
                types.Resource(
                    uri=prompt_uri(c),
                    name=f"prompt-{c}",
                    description=f"gepad's current '{c}' prompt",
                    mime_type="text/markdown",
                )
                for c in await self._components()
            ]
        )

    async def _list_templates(self, ctx: Any, _: Any) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(
            resource_templates=[
                types.ResourceTemplate(
                    uri_template=URI_PREFIX + "{component}",
                    name="prompt",
                    description="gepad's current prompt for a component",
                    mime_type="text/markdown",
                )
            ]
        )

    async def _read_resource(
        self, ctx: Any, params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        uri = str(params.uri)
        component = uri.removeprefix(URI_PREFIX) if uri.startswith(URI_PREFIX) else None
        if not component:
            raise _mcp_error(f"unknown resource {uri!r}; expected {URI_PREFIX}<component>")
        try:
            state = await self._backend.get_prompt(component)
        except RpcError as exc:
            raise _mcp_error(exc.message) from None
        return types.ReadResourceResult(
            contents=[
                types.TextResourceContents(uri=uri, mime_type="text/markdown", text=state["text"])
            ]
        )

    async def _subscribe(self, ctx: Any, params: types.SubscribeRequestParams) -> types.EmptyResult:
        self._subscribed.add(str(params.uri))
        return types.EmptyResult()

    async def _unsubscribe(
        self, ctx: Any, params: types.UnsubscribeRequestParams
    ) -> types.EmptyResult:
        self._subscribed.discard(str(params.uri))
        return types.EmptyResult()

    # the `gepad` prompt ------------------------------------------------------------------------

    async def _list_prompts(self, ctx: Any, _: Any) -> types.ListPromptsResult:
        return types.ListPromptsResult(
            prompts=[
                types.Prompt(
                    name=PROMPT_NAME,
                    description="Your coding instructions, evolved by gepad from your feedback",
                    arguments=[
                        types.PromptArgument(
                            name="component", description="prompt component (general)"
                        )
                    ],
                )
            ]
        )

    async def _get_prompt(
        self, ctx: Any, params: types.GetPromptRequestParams
    ) -> types.GetPromptResult:
        if params.name != PROMPT_NAME:
            raise _mcp_error(f"unknown prompt {params.name!r}; this server has {PROMPT_NAME!r}")
        component = (params.arguments or {}).get("component") or "general"
        try:
            state = await self._backend.get_prompt(component)
        except RpcError as exc:
            raise _mcp_error(exc.message) from None
        return types.GetPromptResult(
            description=f"gepad prompt '{component}' v{state['version']}",
            messages=[
                types.PromptMessage(role="user", content=types.TextContent(text=state["text"]))
            ],
        )


def _ok(text: str, structured: Any) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(text=text)],
        structured_content=json.loads(json.dumps(structured)),
    )


def _error(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=message)], is_error=True)


def _mcp_error(message: str) -> Exception:
    from mcp.shared.exceptions import MCPError

    return MCPError(types.INVALID_PARAMS, message)


def _version() -> str:
    import gepad

    return gepad.__version__
