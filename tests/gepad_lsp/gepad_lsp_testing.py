"""Shared pieces of the language server tests: a real daemon (against the simulated model
server), the `gepad lsp` process driven by pytest-lsp's client with an editor's capability
profile, and a tiny editor model that keeps the client's copy of each document and sends
incremental `didChange`s, as Neovim and VS Code do.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import make_test_lsp_client

from gepad_client import GepadClient
from gepad_sim._live import LiveDaemon, LiveSimServer, sim_config

SCENARIO = Path(__file__).resolve().parents[2] / "bench" / "scenarios" / "python-style.toml"
PROFILES = ("neovim", "visual_studio_code")
SERVER_COMMAND = [sys.executable, "-m", "gepad_lsp"]
THUMBS_UP_AFTER_S = 0.6
# What the simulated task model answers to an input that is none of its scenario's tasks.
SIM_ANSWER = "followed: none; missed: none"


def lsp_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEPAD_")}
    env.update(
        GEPAD_HOME=str(home),
        GEPAD_LSP_THUMBS_UP_AFTER_S=str(THUMBS_UP_AFTER_S),
        GEPAD_LSP_AUTOSTART="false",
    )
    env.update(extra)
    return env


@dataclass
class Stack:
    """The simulated model server and a real daemon using it, in one GEPAD_HOME."""

    home: Path
    sim: LiveSimServer
    daemon: LiveDaemon

    def restart_daemon(self) -> None:
        self.daemon = LiveDaemon(self.home, self.daemon.config, env=self.daemon.env).start()


@contextlib.contextmanager
def live_stack(workdir: Path) -> Iterator[Stack]:
    sim = LiveSimServer(SCENARIO, 0, workdir).start()
    home = workdir / "home"
    config = sim_config(sim.api_base, optimizer_enabled=False, llm_max_retries=0)
    daemon = LiveDaemon(home, config).start()
    stack = Stack(home, sim, daemon)
    try:
        yield stack
    finally:
        stack.daemon.stop()
        sim.stop()


@dataclass
class Document:
    uri: str
    text: str
    version: int = 1


@dataclass
class Editor:
    """The client's side of the open documents; edits are sent as incremental changes."""

    client: LanguageClient
    docs: dict[str, Document] = field(default_factory=dict)

    def open(self, uri: str, text: str, language: str = "python") -> Document:
        doc = Document(uri, text)
        self.docs[uri] = doc
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id=language, version=1, text=text
                )
            )
        )
        return doc

    def edit(self, uri: str, rng: dict[str, Any], new_text: str) -> None:
        doc = self.docs[uri]
        start = offset(doc.text, rng["start"])
        end = offset(doc.text, rng["end"])
        doc.text = doc.text[:start] + new_text + doc.text[end:]
        doc.version += 1
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=doc.version),
                content_changes=[
                    types.TextDocumentContentChangePartial(range=to_range(rng), text=new_text)
                ],
            )
        )

    def save(self, uri: str) -> None:
        self.client.text_document_did_save(
            types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )

    def apply(self, params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        for uri, edits in (params.edit.changes or {}).items():
            # Last first, so earlier ranges stay valid (LSP sends non-overlapping edits).
            for edit in sorted(
                edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True
            ):
                self.edit(uri, from_range(edit.range), edit.new_text)
        return types.ApplyWorkspaceEditResult(applied=True)


def offset(text: str, pos: dict[str, int]) -> int:
    lines = text.splitlines(keepends=True)
    return sum(len(line) for line in lines[: pos["line"]]) + pos["character"]


def rng(sl: int, sc: int, el: int, ec: int) -> dict[str, Any]:
    return {"start": {"line": sl, "character": sc}, "end": {"line": el, "character": ec}}


def to_range(r: dict[str, Any]) -> types.Range:
    return types.Range(start=types.Position(**r["start"]), end=types.Position(**r["end"]))


def from_range(r: types.Range) -> dict[str, Any]:
    return rng(r.start.line, r.start.character, r.end.line, r.end.character)


def text_in(text: str, r: dict[str, Any]) -> str:
    return text[offset(text, r["start"]) : offset(text, r["end"])]


async def start_lsp(
    profile: str, env: dict[str, str], *, command: list[str] | None = None
) -> tuple[LanguageClient, Editor, types.InitializeResult]:
    editors: list[Editor] = []

    def factory() -> LanguageClient:
        client = make_test_lsp_client()
        editor = Editor(client)
        editors.append(editor)

        @client.feature(types.WORKSPACE_APPLY_EDIT)
        def _apply(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            return editor.apply(params)

        return client

    config = ClientServerConfig(
        server_command=command or SERVER_COMMAND, server_env=env, client_factory=factory
    )
    client = await config.start()
    capabilities = client_capabilities(profile)
    result = await asyncio.wait_for(
        client.initialize_session(
            types.InitializeParams(
                capabilities=capabilities,
                root_uri=Path(env["GEPAD_HOME"]).as_uri(),
            )
        ),
        20,
    )
    return client, editors[0], result


async def stop_lsp(client: LanguageClient) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(client.shutdown_session(), 10)
    await client.stop()


async def run_command(client: LanguageClient, name: str, *args: Any) -> Any:
    return await asyncio.wait_for(
        client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=name, arguments=list(args))
        ),
        20,
    )


@contextlib.asynccontextmanager
async def daemon_client(home: Path) -> AsyncIterator[GepadClient]:
    async with GepadClient.connect(home, timeout=10) as c:
        yield c


async def examples_for(home: Path, file_uri: str) -> list[dict[str, Any]]:
    """Examples about one file, oldest first."""
    async with daemon_client(home) as c:
        page = await c.list_examples(limit=1000)
    return sorted((e for e in page["examples"] if e["file"] == file_uri), key=lambda e: e["id"])


async def wait_examples(
    home: Path, file_uri: str, count: int, timeout: float = 10.0, *, weak: bool = True
) -> list[dict[str, Any]]:
    """Wait for `count` examples about `file_uri`; `weak=False` leaves out thumbs-ups, which
    an untouched generation gets after THUMBS_UP_AFTER_S on a slow machine."""
    deadline = time.monotonic() + timeout
    while True:
        found = await examples_for(home, file_uri)
        if not weak:
            found = [e for e in found if e["kind"] != "thumbs_up"]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.1)


def spool_lines(home: Path) -> list[dict[str, Any]]:
    path = home / "spool" / "feedback.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def assist(
    editor: Editor, stack: Stack, uri: str, r: dict[str, Any], instruction: str = "make it shorter"
) -> dict[str, Any]:
    """`gepad.assist`, checked against the daemon's current prompt version."""
    result = await run_command(
        editor.client, "gepad.assist", {"uri": uri, "range": r, "instruction": instruction}
    )
    async with daemon_client(stack.home) as c:
        prompt = await c.get_prompt("general")
    assert result["prompt_version"] == prompt["version"]
    assert isinstance(result["generation_id"], int)
    return dict(result)
