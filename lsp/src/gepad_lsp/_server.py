"""The pygls server: LSP features wired to the `Bridge`, errors turned into LSP error replies.

stdout is the LSP transport: nothing in this package may write to it; logs go to stderr.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, BinaryIO, Final, cast

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer

from gepad_lsp._errors import DaemonUnavailable, InputError, RemoteError
from gepad_lsp._framing import DEFAULT_MAX_FRAME_BYTES, FrameGuard
from gepad_lsp._text import Span, check_span

if TYPE_CHECKING:
    from gepad_lsp._bridge import Bridge

__all__ = ["COMMANDS", "DEFAULT_ASSIST_INSTRUCTION", "PROMPT_CHANGED", "build_server", "main"]

log = logging.getLogger(__name__)

PROMPT_CHANGED: Final = "gepad/promptChanged"
COMMANDS: Final = (
    "gepad.thumbsDown",
    "gepad.thumbsUp",
    "gepad.correct",
    "gepad.assist",
    "gepad.prompt",
    "gepad.status",
)
# Code actions cannot ask for text; editors with an input box send their own instruction.
DEFAULT_ASSIST_INSTRUCTION: Final = "Improve this code: fix mistakes and make it clearer."
INVALID_PARAMS: Final = -32602
REQUEST_FAILED: Final = -32803  # LSP: the request was valid but could not be carried out

_Handler = Callable[[tuple[Any, ...]], Awaitable[Any]]


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("gepad")
    except Exception:
        return "0"


class _State:
    """The bridge exists only after `initialized` (settings come with the client's options)."""

    def __init__(self) -> None:
        self.bridge: Bridge | None = None
        self.init_options: Any = None

    def require(self) -> Bridge:
        if self.bridge is None:
            raise JsonRpcException(code=-32002, message="the server is not initialized yet")
        return self.bridge


async def _guarded(name: str, run: Callable[[], Awaitable[Any]]) -> Any:
    try:
        return await run()
    except InputError as exc:
        raise JsonRpcException(code=INVALID_PARAMS, message=f"{name}: {exc}") from None
    except DaemonUnavailable as exc:
        raise JsonRpcException(code=REQUEST_FAILED, message=f"{name}: {exc}") from None
    except RemoteError as exc:
        raise JsonRpcException(
            code=exc.code, message=f"{name}: {exc.message}", data=exc.data
        ) from None
    except JsonRpcException:
        raise
    except Exception:
        log.exception("%s failed", name)
        raise JsonRpcException(
            code=-32603, message=f"{name}: internal error in gepad lsp (see its log)"
        ) from None


def build_server() -> LanguageServer:
    server = LanguageServer("gepad-lsp", _version())
    state = _State()

    @server.feature(types.INITIALIZE)
    def _initialize(ls: LanguageServer, params: types.InitializeParams) -> None:
        state.init_options = params.initialization_options

    @server.feature(types.INITIALIZED)
    def _initialized(ls: LanguageServer, params: types.InitializedParams) -> None:
        # Loaded here, after the reply to `initialize`: gepad's config (pydantic) and the
        # daemon client (websockets) take a while to import, and the editor need not wait.
        from gepad_lsp._bridge import Bridge
        from gepad_lsp._settings import load_settings

        bridge = Bridge(ls, load_settings(state.init_options))
        state.bridge = bridge
        bridge.start()

    @server.feature(types.SHUTDOWN)
    async def _shutdown(ls: LanguageServer, params: Any) -> None:
        if state.bridge is not None:
            await state.bridge.stop()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def _did_open(ls: LanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        if state.bridge is not None:
            state.bridge.opened(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def _did_change(ls: LanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        if state.bridge is not None:
            state.bridge.changed(params.text_document.uri, params.content_changes)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def _did_close(ls: LanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        if state.bridge is not None:
            state.bridge.closed(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    async def _did_save(ls: LanguageServer, params: types.DidSaveTextDocumentParams) -> None:
        if state.bridge is not None:
            await state.bridge.saved(params.text_document.uri)

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.RefactorRewrite]),
    )
    def _code_action(ls: LanguageServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        return _code_actions(state.require(), params)

    def command(name: str, run: Callable[[Bridge, tuple[Any, ...]], Awaitable[Any]]) -> None:
        async def handler(ls: LanguageServer, *args: Any) -> Any:
            bridge = state.require()
            return await _guarded(name, lambda: run(bridge, args))

        server.command(name)(handler)

    command("gepad.thumbsDown", lambda b, a: b.thumbs("thumbs_down", "gepad.thumbsDown", a))
    command("gepad.thumbsUp", lambda b, a: b.thumbs("thumbs_up", "gepad.thumbsUp", a))
    command("gepad.correct", lambda b, a: b.correct(a))
    command("gepad.assist", lambda b, a: b.assist(a))
    command("gepad.prompt", lambda b, a: b.prompt(a))
    command("gepad.status", lambda b, a: b.status(a))
    return server


def _code_actions(bridge: Bridge, params: types.CodeActionParams) -> list[types.CodeAction]:
    uri = params.text_document.uri
    try:
        doc = bridge._doc(uri)
        rng = params.range
        span = Span((rng.start.line, rng.start.character), (rng.end.line, rng.end.character))
        check_span(list(doc.lines), span, doc.position_codec.client_num_units, "range")
    except InputError as exc:
        raise JsonRpcException(code=INVALID_PARAMS, message=f"codeAction: {exc}") from None
    kind = types.CodeActionKind.RefactorRewrite.value
    only = [str(getattr(k, "value", k)) for k in params.context.only or ()]
    if only and not any(k == "" or kind == k or kind.startswith(k + ".") for k in only):
        return []
    if span.empty:
        gen = bridge.tracker.overlapping(uri, span)
        if gen is not None and gen.is_generation:
            span = gen.span
        else:
            line = span.start[0]
            lines = doc.lines
            width = doc.position_codec.client_num_units(
                lines[line].rstrip("\r\n") if line < len(lines) else ""
            )
            span = Span((line, 0), (line, width))
    target = {"uri": uri, "range": span.to_lsp()}
    offers = [
        ("gepad: 👎 thumbs down", "gepad.thumbsDown", target),
        ("gepad: 👍 thumbs up", "gepad.thumbsUp", target),
        ("gepad: ✏️ correct (your edit is recorded on save)", "gepad.correct", target),
        (
            "gepad: ✨ ask the assistant to improve this",
            "gepad.assist",
            {**target, "instruction": DEFAULT_ASSIST_INSTRUCTION},
        ),
    ]
    return [
        types.CodeAction(
            title=title,
            kind=types.CodeActionKind.RefactorRewrite,
            command=types.Command(title=title, command=name, arguments=[args]),
        )
        for title, name, args in offers
    ]


def main(argv: list[str] | None = None) -> int:
    """Serve LSP on stdin/stdout until the client exits."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="gepad lsp", description="gepad's language server (LSP over stdio)"
    )
    parser.add_argument("--verbose", action="store_true", help="log at DEBUG level (stderr)")
    parser.add_argument("--stdio", action="store_true", help="accepted for editors; the default")
    parser.add_argument(
        "--max-frame-bytes",
        type=_positive_int,
        default=DEFAULT_MAX_FRAME_BYTES,
        help="refuse (log and skip) LSP messages larger than this (default 64 MiB)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="gepad-lsp %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        # pygls logs each refused request with a traceback (the reply already says what was
        # wrong; our own failures are logged by `_guarded`) and dumps every `initialize`.
        logging.getLogger("pygls").setLevel(logging.WARNING)
        logging.getLogger("pygls.protocol.json_rpc").setLevel(logging.CRITICAL)
    stdin = FrameGuard(sys.stdin.buffer, args.max_frame_bytes)
    build_server().start_io(stdin=cast("BinaryIO", stdin))
    return 0


def _positive_int(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number of bytes, got {text!r}")
    return value
