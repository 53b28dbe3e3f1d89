"""The editor bridge: commands, code actions, tracked generations and the feedback they become.

Everything runs on the language server's event loop; the daemon is reached through
`DaemonLink`, and feedback that cannot reach it goes to the `Spool`, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote, urlparse

from gepad_lsp._args import COMPONENT_RE, one_object, opt_str, req_str
from gepad_lsp._daemon import DaemonLink
from gepad_lsp._errors import DaemonUnavailable, InputError, RemoteError
from gepad_lsp._settings import LspSettings, component_for
from gepad_lsp._spool import Spool
from gepad_lsp._text import (
    MAX_SELECTION_BYTES,
    Span,
    check_span,
    end_of_insert,
    parse_span,
)
from gepad_lsp._tracking import Tracked, Tracker, full_change_as_edits

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer
    from pygls.workspace import TextDocument

__all__ = ["DELETED_COMMENT", "Bridge"]

log = logging.getLogger(__name__)

DELETED_COMMENT: Final = "deleted by the user"
_APPLIED_WAIT_S: Final = 3.0
# A model call: the daemon's own timeout and retries bound it (llm_timeout_s, llm_max_retries).
_ASSIST_TIMEOUT_S: Final = 600.0
_MAX_CONTEXT_CHARS: Final = 64 * 1024
# The daemon's cap on a feedback or generation text field (characters).
_MAX_FIELD_CHARS: Final = 256 * 1024


_UNAVAILABLE = -32003  # the daemon's "unavailable" error: transient, never a refusal


class Bridge:
    def __init__(self, server: LanguageServer, settings: LspSettings) -> None:
        self._server = server
        self.settings = settings
        self.tracker = Tracker()
        self.spool = Spool(settings.spool_dir)
        self._spool_lock = asyncio.Lock()
        self._texts: dict[str, str] = {}
        self.link = DaemonLink(
            home=settings.home,
            logs_dir=settings.logs_dir,
            autostart=settings.autostart,
            on_prompt_changed=self._prompt_changed,
            on_connected=self._connected,
        )
        self._timer: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self.link.start()
        self._timer = asyncio.get_running_loop().create_task(self._untouched_loop())

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
        await self.link.stop()

    # -- documents -------------------------------------------------------------------------

    def _doc(self, uri: str) -> TextDocument:
        if unquote(uri) not in self._server.workspace.text_documents:
            raise InputError(
                f"unknown document {uri!r}: it is not open in this language server "
                "(send textDocument/didOpen first)"
            )
        return self._server.workspace.get_text_document(uri)

    def _selection(self, obj: dict[str, Any]) -> tuple[str, TextDocument, Span, str]:
        uri = req_str(obj, "uri", non_empty=True)
        doc = self._doc(uri)
        if "range" not in obj:
            raise InputError("'range' is required")
        span = parse_span(obj["range"])
        check_span(list(doc.lines), span, doc.position_codec.client_num_units, "range")
        text = _text_in(doc, span)
        size = len(text.encode("utf-8", errors="surrogatepass"))
        if size > MAX_SELECTION_BYTES:
            raise InputError(
                f"the selection is {size} bytes; the limit is {MAX_SELECTION_BYTES} (256 KiB)"
            )
        return uri, doc, span, text

    def _component(self, uri: str) -> str:
        return component_for(_path_of(uri), self.settings.kernel_globs)

    def _context(self, doc: TextDocument, span: Span) -> str:
        lines = doc.lines
        n = self.settings.context_lines
        first = max(0, span.start[0] - n)
        last = min(len(lines), span.end[0] + n + 1)
        head = f"File: {_path_of(doc.uri)}"
        if doc.language_id:
            head += f" ({doc.language_id})"
        head += f"\nSelected lines {span.start[0] + 1}-{span.end[0] + 1}; lines {first + 1}-{last}:"
        body = "".join(lines[first:last])
        if len(body) > _MAX_CONTEXT_CHARS:
            body = body[:_MAX_CONTEXT_CHARS] + "\n[... cut]"
        return f"{head}\n{body}"

    def _base(self, uri: str, doc: TextDocument, component: str) -> dict[str, Any]:
        params: dict[str, Any] = {"component": component, "file": uri, "source": "lsp"}
        if doc.language_id:
            params["language"] = doc.language_id
        root = self._server.workspace.root_uri
        if root:
            params["workspace"] = root
        return params

    def _about(self, uri: str, doc: TextDocument, span: Span, selected: str) -> dict[str, Any]:
        """Feedback fields for a selection: a generation's own when it overlaps one."""
        gen = self.tracker.overlapping(uri, span)
        if gen is not None and gen.is_generation:
            gen.rated = True  # the user's own verdict; no weak thumbs-up on top of it
            return self._about_tracked(gen, doc)
        params = self._base(uri, doc, self._component(uri))
        params.update(output=selected, context=self._context(doc, span))
        return params

    def _about_tracked(self, item: Tracked, doc: TextDocument) -> dict[str, Any]:
        params = self._base(item.uri, doc, item.component)
        context = item.context
        if item.instruction:
            context = f"Instruction: {item.instruction}\n\n{context}"
        params.update(output=item.output, context=_cap(context))
        if item.generation_id is not None:
            params["generation_id"] = item.generation_id
        if item.prompt_version is not None:
            params["prompt_version"] = item.prompt_version
        return params

    # -- commands --------------------------------------------------------------------------

    async def thumbs(self, kind: str, command: str, args: Sequence[Any]) -> dict[str, Any]:
        allowed = {"uri", "range"} | ({"comment"} if kind == "thumbs_down" else set())
        obj = one_object(command, args, frozenset(allowed))
        comment = opt_str(obj, "comment") if kind == "thumbs_down" else None
        uri, doc, span, selected = self._selection(obj)
        params = {"kind": kind, **self._about(uri, doc, span, selected)}
        if comment:
            params["comment"] = comment
        return await self.submit(params)

    async def correct(self, args: Sequence[Any]) -> dict[str, Any]:
        obj = one_object("gepad.correct", args, frozenset({"uri", "range", "corrected", "comment"}))
        corrected = opt_str(obj, "corrected")
        comment = opt_str(obj, "comment")
        uri, doc, span, selected = self._selection(obj)
        if corrected is not None:
            params = {"kind": "correction", **self._about(uri, doc, span, selected)}
            params["corrected"] = corrected
            if comment:
                params["comment"] = comment
            return await self.submit(params)
        gen = self.tracker.overlapping(uri, span)
        if gen is not None and gen.is_generation:
            # Already tracked: its next saved edit becomes the correction.
            gen.comment = comment or gen.comment
            return {"tracking": True, "generation_id": gen.generation_id}
        self.tracker.add(
            uri=uri,
            span=span,
            output=selected,
            component=self._component(uri),
            context=self._context(doc, span),
            instruction="",
            created_at=time.monotonic(),
            language=doc.language_id,
            comment=comment,
        )
        return {"tracking": True}

    async def assist(self, args: Sequence[Any]) -> dict[str, Any]:
        obj = one_object("gepad.assist", args, frozenset({"uri", "range", "instruction"}))
        instruction = req_str(obj, "instruction", non_empty=True)
        uri, doc, span, selected = self._selection(obj)
        component = self._component(uri)
        context = self._context(doc, span)
        if selected:
            context = _cap(f"Selection (your answer replaces it):\n{selected}\n\n{context}")
        params = {**self._base(uri, doc, component), "instruction": instruction}
        params.pop("source")  # feedback only; assist.run records a generation
        params["context"] = context
        # Follows the user's typing while the model answers, so the edit lands where the
        # selection is by then.
        holder = self.tracker.add(
            uri=uri,
            span=span,
            output=selected,
            component=component,
            context=context,
            instruction=instruction,
            created_at=time.monotonic(),
            placeholder=True,
        )
        try:
            result = await self.link.call("assist.run", params, timeout=_ASSIST_TIMEOUT_S)
            text = str(result["text"])
            applied = await self._server.workspace_apply_edit_async(
                _apply_edit_params(uri, holder.span, text)
            )
            if not applied.applied:
                reason = applied.failure_reason or "no reason given"
                raise RemoteError(
                    -32803, f"the editor did not apply the assistant's edit: {reason}"
                )
            where = await self._find_applied(uri, holder, text)
        finally:
            self.tracker.remove(holder)
        if where is None:
            log.warning("generation %s: edit not seen in %s; not tracked", result, uri)
        else:
            self.tracker.add(
                uri=uri,
                span=where,
                output=text,
                component=component,
                context=context,
                instruction=instruction,
                created_at=time.monotonic(),
                generation_id=int(result["generation_id"]),
                prompt_version=result.get("prompt_version"),
                language=doc.language_id,
            )
        return {
            "generation_id": result["generation_id"],
            "prompt_version": result.get("prompt_version"),
        }

    async def _find_applied(self, uri: str, holder: Tracked, text: str) -> Span | None:
        """Where the applied text now is, once the client's didChange has arrived."""
        deadline = time.monotonic() + _APPLIED_WAIT_S
        while True:
            doc = self._server.workspace.text_documents.get(unquote(uri))
            if doc is None:
                return None
            found = _locate(doc, holder.span, text)
            if found is not None or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.02)

    async def prompt(self, args: Sequence[Any]) -> Any:
        obj = one_object("gepad.prompt", args, frozenset({"component", "uri"}), optional=True)
        component = opt_str(obj, "component")
        uri = opt_str(obj, "uri")
        if component is None:
            component = self._component(uri) if uri else "general"
        if not COMPONENT_RE.match(component):
            raise InputError(f"'component' {component!r} is not a component name")
        return await self.call("prompt.get", {"component": component})

    async def status(self, args: Sequence[Any]) -> dict[str, Any]:
        one_object("gepad.status", args, frozenset({"uri"}), optional=True)
        lsp = {"tracked": len(self.tracker), "spooled": len(self.spool.entries())}
        try:
            status = await self.call("status.get", None)
        except DaemonUnavailable as exc:
            return {"daemon": "unreachable", "reason": str(exc), "lsp": lsp}
        return {**status, "daemon": "connected", "lsp": lsp}

    # -- the daemon --------------------------------------------------------------------------

    async def call(self, method: str, params: dict[str, Any] | None) -> Any:
        return await self.link.call(method, params)

    async def submit(self, params: dict[str, Any]) -> dict[str, Any]:
        """`feedback.submit`, or the spool when the daemon cannot be reached. Spooled items
        go first, so the daemon always receives feedback in the order it was given."""
        async with self._spool_lock:
            if self.spool.pending():
                with contextlib.suppress(DaemonUnavailable):
                    await self.spool.replay(self._deliver_spooled)
                if self.spool.pending():  # still waiting (down, or another server replays)
                    return await self._spool(params)
            try:
                result = await self.call("feedback.submit", params)
            except DaemonUnavailable as exc:
                log.info("spooling feedback: %s", exc)
                return await self._spool(params)
        return {"example_id": result["example_id"]}

    async def _spool(self, params: dict[str, Any]) -> dict[str, Any]:
        # In a thread: another editor's server may hold the spool's lock while it replays.
        await asyncio.to_thread(self.spool.append, params)
        return {"spooled": True}

    async def _deliver_spooled(self, params: dict[str, Any]) -> None:
        try:
            await self.call("feedback.submit", params)
        except RemoteError as exc:
            if exc.code == _UNAVAILABLE:
                # Shutting down, or its disk is full: not a verdict on the entry; it stays
                # first in the spool and is replayed later.
                raise DaemonUnavailable(exc.message) from None
            self.spool.set_aside(params, f"{exc.code}: {exc.message}")

    async def replay(self) -> int:
        async with self._spool_lock:
            if not self.spool.pending():
                return 0
            return await self.spool.replay(self._deliver_spooled)

    async def _connected(self) -> None:
        await self._register_workspaces()
        await self._connected_replay()

    async def _connected_replay(self) -> None:
        with contextlib.suppress(DaemonUnavailable):
            await self.replay()

    async def _register_workspaces(self) -> None:
        """Tell the daemon which folders to watch for test and compiler reports (issue 6's
        `workspace.add`; adding one already watched is a no-op)."""
        workspace = self._server.workspace
        roots = [f.uri for f in workspace.folders.values()] or [workspace.root_uri]
        for root in roots:
            if not root or not root.startswith("file:"):
                continue
            try:
                await self.call("workspace.add", {"path": root})
            except RemoteError as exc:
                # -32003: ingestion is off; -32601: an older daemon; -32602: not a folder.
                log.info("the daemon does not watch %s: %s", root, exc.message)
            except DaemonUnavailable:
                return

    def _prompt_changed(self, state: dict[str, Any]) -> None:
        self._server.protocol.notify(
            "gepad/promptChanged",
            {
                "component": state.get("component"),
                "version": state.get("version"),
                "score": state.get("score"),
            },
        )

    # -- document events ----------------------------------------------------------------------

    def opened(self, uri: str) -> None:
        doc = self._server.workspace.text_documents.get(unquote(uri))
        if doc is not None:
            self._texts[uri] = doc.source
            task = asyncio.get_running_loop().create_task(self._track_captured(uri))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _track_captured(self, uri: str) -> None:
        """Track what another assistant wrote in this file (Claude Code, via the daemon's
        capture), so that the user's edit becomes a correction on save, as for gepad.assist."""
        try:
            found = await self.call("capture.generations", {"file": uri})
        except (DaemonUnavailable, RemoteError) as exc:
            log.debug("no captured generations for %s: %s", uri, exc)
            return
        doc = self._server.workspace.text_documents.get(unquote(uri))
        if doc is None:
            return
        known = {t.generation_id for t in self.tracker.in_document(uri)}
        for gen in found.get("generations", []):
            gid, output = gen.get("generation_id"), gen.get("output")
            if not isinstance(gid, int) or not isinstance(output, str) or gid in known:
                continue
            index = doc.source.find(output)
            if index < 0 or not output:
                continue  # edited already, or moved: the daemon's file tracker sees it
            pos = doc.client_position_at_offset(index)
            start = (pos.line, pos.character)
            units = doc.position_codec.client_num_units
            self.tracker.add(
                uri=uri,
                span=Span(start, end_of_insert(start, output, units)),
                output=output,
                component=str(gen.get("component") or self._component(uri)),
                context=str(gen.get("context") or ""),
                instruction=str(gen.get("instruction") or ""),
                created_at=time.monotonic(),
                generation_id=gid,
                prompt_version=gen.get("prompt_version"),
                language=doc.language_id,
            )

    def changed(self, uri: str, changes: Sequence[Any]) -> None:
        doc = self._server.workspace.text_documents.get(unquote(uri))
        if doc is None:
            return
        units = doc.position_codec.client_num_units
        old = self._texts.get(uri)
        for change in changes:
            rng = getattr(change, "range", None)
            if rng is not None:
                span = Span(
                    (rng.start.line, rng.start.character), (rng.end.line, rng.end.character)
                )
                self.tracker.apply_change(uri, span, change.text, units)
            elif old is not None:
                if self.tracker.in_document(uri):
                    for span, text in full_change_as_edits(old, change.text, _position_in(units)):
                        self.tracker.apply_change(uri, span, text, units)
                old = change.text
        self._texts[uri] = doc.source

    def closed(self, uri: str) -> None:
        self._texts.pop(uri, None)
        dropped = self.tracker.drop_document(uri)
        if dropped:
            log.info("%s closed; stopped tracking %d range(s)", uri, len(dropped))

    async def saved(self, uri: str) -> None:
        doc = self._server.workspace.text_documents.get(unquote(uri))
        if doc is None:
            return
        for item in self.tracker.in_document(uri):
            if item.placeholder:
                continue
            current = _text_in(doc, item.span)
            if current == item.output:
                continue
            params = self._about_tracked(item, doc)
            if not current.strip():
                params.update(kind="thumbs_down", comment=DELETED_COMMENT)
            else:
                params.update(kind="correction", corrected=current)
                if item.comment:
                    params["comment"] = item.comment
            self.tracker.remove(item)
            await self._submit_quietly(params)

    async def _submit_quietly(self, params: dict[str, Any]) -> None:
        try:
            await self.submit(params)
        except RemoteError as exc:
            log.error("the daemon refused automatic %s feedback: %s", params["kind"], exc)

    async def _untouched_loop(self) -> None:
        period = min(1.0, self.settings.thumbs_up_after_s / 4)
        while True:
            await asyncio.sleep(period)
            try:
                await self._untouched_once()
                # Left behind when another server held the spool; delivered once connected.
                if self.link.connected and self.spool.pending():
                    await self._connected_replay()
            except Exception:
                log.exception("periodic work failed")

    async def _untouched_once(self) -> None:
        now = time.monotonic()
        for item in list(self.tracker.all()):
            if (
                not item.is_generation
                or item.placeholder
                or item.rated
                or item.touched
                or now - item.created_at < self.settings.thumbs_up_after_s
            ):
                continue
            doc = self._server.workspace.text_documents.get(unquote(item.uri))
            if doc is None or _text_in(doc, item.span) != item.output:
                continue
            item.rated = True  # weak: only once, and a later edit still corrects it
            await self._submit_quietly({"kind": "thumbs_up", **self._about_tracked(item, doc)})


def _cap(text: str) -> str:
    """Within the daemon's field limit; the end (the farthest surrounding lines) goes first."""
    return text if len(text) <= _MAX_FIELD_CHARS else text[: _MAX_FIELD_CHARS - 10] + "\n[... cut]"


def _path_of(uri: str) -> str:
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme == "file" else uri


def _text_in(doc: TextDocument, span: Span) -> str:
    from lsprotocol import types

    rng = types.Range(
        start=types.Position(line=span.start[0], character=span.start[1]),
        end=types.Position(line=span.end[0], character=span.end[1]),
    )
    return doc.text_in_client_range(rng)


def _position_in(units: Any) -> Any:
    def position(text: str, offset: int) -> tuple[int, int]:
        before = text[:offset]
        line = before.count("\n")
        last = before.rfind("\n")
        return line, units(before[last + 1 :])

    return position


def _locate(doc: TextDocument, near: Span, text: str) -> Span | None:
    """`text` in `doc` at `near`'s start, else the occurrence nearest to it on its lines."""
    units = doc.position_codec.client_num_units
    exact = Span(near.start, end_of_insert(near.start, text, units))
    lines = list(doc.lines)
    try:
        check_span(lines, exact, units, "range")
        if _text_in(doc, exact) == text:
            return exact
    except InputError:
        pass
    from lsprotocol import types

    source = doc.source
    line_start = doc.offset_at_position(types.Position(line=near.start[0], character=0))
    index = source.find(text, line_start)
    if index < 0:
        return None
    pos = doc.client_position_at_offset(index)
    start = (pos.line, pos.character)
    return Span(start, end_of_insert(start, text, units))


def _apply_edit_params(uri: str, span: Span, text: str) -> Any:
    from lsprotocol import types

    rng = types.Range(
        start=types.Position(line=span.start[0], character=span.start[1]),
        end=types.Position(line=span.end[0], character=span.end[1]),
    )
    return types.ApplyWorkspaceEditParams(
        edit=types.WorkspaceEdit(changes={uri: [types.TextEdit(range=rng, new_text=text)]}),
        label="gepad: assistant",
    )
