"""DeliveryService with a real store and prompt service: swaps, conflicts, persistence."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gepad.delivery import TARGET_NAMES, DeliveryService
from gepad.errors import DeliveryConflictError, DeliveryError, UnknownComponentError
from gepad.prompts import PromptService
from gepad.store import Store

SEED = "Seed prompt.\n"


@pytest.fixture
async def prompts(tmp_path: Path) -> AsyncIterator[PromptService]:
    store = await Store.open(tmp_path / "gepad.db")
    service = PromptService(store, swap_policy="auto", seeds={"general": SEED, "kernel": "K.\n"})
    await service.start()
    try:
        yield service
    finally:
        await service.drain()
        await store.close()


def _home(tmp_path: Path) -> Path:
    (tmp_path / "home").mkdir(exist_ok=True)
    return tmp_path / "home"


def _service(prompts: PromptService, tmp_path: Path) -> DeliveryService:
    return DeliveryService(
        prompts, tmp_path / "data" / "deliveries.json", home=_home(tmp_path), gepad_home=None
    )


async def test_swap_rewrites_every_enabled_target(prompts: PromptService, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    delivery = _service(prompts, tmp_path)
    await delivery.start()
    for target in TARGET_NAMES:
        row = await delivery.enable(str(ws), target)
        assert row["state"] == "ok", row
    prompt_files = [
        ws / "AGENTS.md",
        ws / ".github/instructions/gepad.instructions.md",
        ws / ".claude/rules/gepad.md",
        ws / ".cursor/rules/gepad.mdc",
        ws / ".clinerules/gepad.md",
        tmp_path / "home/.continue/rules/gepad.md",
        ws / ".windsurf/rules/gepad.md",
        ws / "GEMINI.md",
        ws / "CONVENTIONS.gepad.md",
    ]
    for path in prompt_files:
        assert "Seed prompt." in path.read_text(), path
    await prompts.propose("general", "Swapped prompt.\n", score=0.9, candidate_id="c1")
    await delivery.wait_idle()
    for path in prompt_files:
        text = path.read_text()
        assert "Swapped prompt." in text and "Seed prompt." not in text, path
        assert '"general" v2' in text
    status = delivery.status(str(ws))
    assert {r["target"] for r in status["deliveries"]} == set(TARGET_NAMES)
    live = {"claude-hook", "claude-capture"}  # these read the prompt when they run
    assert all(r["version"] == 2 for r in status["deliveries"] if r["target"] not in live)
    # A change to another component leaves the files alone.
    before = {p: p.stat().st_mtime_ns for p in prompt_files}
    await prompts.set_text("kernel", "K2.\n")
    await delivery.wait_idle()
    assert {p: p.stat().st_mtime_ns for p in prompt_files} == before
    await delivery.stop()


def _service_with(prompts: PromptService, tmp_path: Path, edits: str) -> DeliveryService:
    return DeliveryService(
        prompts, tmp_path / "data/deliveries.json", home=_home(tmp_path), gepad_home=None,
        edits=edits,  # type: ignore[arg-type]
    )  # fmt: skip


def _edit_agents(ws: Path, old: str, new: str) -> None:
    agents = ws / "AGENTS.md"
    agents.write_text(agents.read_text().replace(old, new))


async def test_hand_edit_is_a_proposal_not_every_workspaces_prompt(
    prompts: PromptService, tmp_path: Path
) -> None:
    ws, other = tmp_path / "ws", tmp_path / "other"
    ws.mkdir()
    other.mkdir()
    delivery = _service(prompts, tmp_path)
    await delivery.start()
    await delivery.enable(str(ws), "agents-md")
    await delivery.enable(str(ws), "claude")
    await delivery.enable(str(other), "claude")
    _edit_agents(ws, "Seed prompt.", "My hand-made rules.")  # a git pull, an agent, the user
    await prompts.propose("general", "Optimizer's prompt.\n", score=0.5, candidate_id="c2")
    await delivery.wait_idle()
    state = prompts.current("general")
    assert state.source == "optimizer" and state.text == "Optimizer's prompt.\n"
    assert state.pending is not None and state.pending.text == "My hand-made rules.\n"
    proposal = state.pending.version
    history = await prompts.history("general")
    assert [(v.source, v.status) for v in history[:2]] == [
        ("user-edit", "pending"), ("optimizer", "current")
    ]  # fmt: skip
    # No other workspace (nor the other file of this one) gets the hand edit.
    for path in (ws / ".claude/rules/gepad.md", other / ".claude/rules/gepad.md"):
        assert "Optimizer's prompt." in path.read_text() and "hand-made" not in path.read_text()
    assert (ws / "AGENTS.md").read_text().count("My hand-made rules.") == 1  # not overwritten
    row = delivery.status(str(ws))["deliveries"][0]
    assert row["target"] == "agents-md" and row["state"] == "conflict"
    assert row["conflicts"][0]["version"] == proposal
    # Further swaps do not propose the same edit again.
    await prompts.propose("general", "Third.\n", score=0.6, candidate_id="c3")
    await delivery.wait_idle()
    assert [v.source for v in await prompts.history("general")].count("user-edit") == 1
    assert delivery.status(str(ws))["deliveries"][0]["conflicts"][0]["version"] == proposal
    # Approving makes it current everywhere and settles the conflict.
    await prompts.approve("general", proposal)
    await delivery.wait_idle()
    assert prompts.current("general").text == "My hand-made rules.\n"
    assert "My hand-made rules." in (other / ".claude/rules/gepad.md").read_text()
    rows = delivery.status(str(ws))["deliveries"]
    assert [r["state"] for r in rows] == ["ok", "ok"] and rows[0]["conflicts"] == []
    await delivery.stop()


async def test_rejected_proposal_is_redelivered(prompts: PromptService, tmp_path: Path) -> None:
    delivery = _service(prompts, tmp_path)
    await delivery.start()
    await delivery.enable(str(tmp_path), "agents-md")
    _edit_agents(tmp_path, "Seed prompt.", "Not wanted.")
    await prompts.set_text("general", "Kept.\n")
    await delivery.wait_idle()
    pending = prompts.current("general").pending
    assert pending is not None and pending.text == "Not wanted.\n"
    await prompts.reject("general", pending.version)
    await delivery.wait_idle()
    text = (tmp_path / "AGENTS.md").read_text()
    assert "Kept." in text and "Not wanted." not in text
    assert delivery.status()["deliveries"][0]["state"] == "ok"
    await delivery.stop()


async def test_enabling_again_redelivers_over_the_edit(
    prompts: PromptService, tmp_path: Path
) -> None:
    delivery = _service(prompts, tmp_path)
    await delivery.start()
    await delivery.enable(str(tmp_path), "cursor")
    rule = tmp_path / ".cursor/rules/gepad.mdc"
    rule.write_text(rule.read_text().replace("Seed prompt.", "Mine."))
    await prompts.set_text("general", "Next.\n")
    await delivery.wait_idle()
    assert "Mine." in rule.read_text()
    row = await delivery.enable(str(tmp_path), "cursor")
    assert row["state"] == "ok" and "Next." in rule.read_text()
    pending = prompts.current("general").pending
    assert pending is not None and pending.text == "Mine.\n"  # still there to approve
    await delivery.stop()


@pytest.mark.parametrize("pinned", [False, True])
async def test_adopt_takes_the_edit_unless_pinned(
    prompts: PromptService, tmp_path: Path, pinned: bool
) -> None:
    delivery = _service_with(prompts, tmp_path, "adopt")
    await delivery.start()
    await delivery.enable(str(tmp_path), "agents-md")
    if pinned:
        await prompts.pin("general", True)
    _edit_agents(tmp_path, "Seed prompt.", "Adopt me.")
    await delivery.stop()  # the edit is noticed on the next start (or the next swap)
    delivery = _service_with(prompts, tmp_path, "adopt")
    await delivery.start()
    await delivery.wait_idle()
    state = prompts.current("general")
    if pinned:  # never adopted while pinned: the edit waits for approval
        assert state.text == SEED and state.pending is not None
        assert state.pending.text == "Adopt me.\n"
        assert delivery.status()["deliveries"][0]["state"] == "conflict"
    else:
        assert state.source == "user-edit" and state.text == "Adopt me.\n"
        assert delivery.status()["deliveries"][0]["state"] == "ok"
    await delivery.stop()


def test_bad_edits_setting_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DeliveryError, match="delivery_edits"):
        DeliveryService(None, tmp_path, home=tmp_path, gepad_home=None, edits="maybe")  # type: ignore[arg-type]


async def test_empty_edit_is_reported_not_overwritten(
    prompts: PromptService, tmp_path: Path
) -> None:
    delivery = _service(prompts, tmp_path)
    await delivery.start()
    await delivery.enable(str(tmp_path), "cline")
    path = tmp_path / ".clinerules/gepad.md"
    path.write_text("   \n")  # nothing a prompt can be made of
    await prompts.set_text("general", "Next.\n")
    await delivery.wait_idle()
    assert path.read_text() == "   \n"
    row = delivery.status()["deliveries"][0]
    assert row["state"] == "conflict" and row["conflicts"][0]["error"]
    await delivery.stop()


async def test_registry_survives_a_restart(prompts: PromptService, tmp_path: Path) -> None:
    delivery = _service(prompts, tmp_path)
    await delivery.start()
    await delivery.enable(str(tmp_path), "claude")
    await delivery.stop()
    saved = json.loads((tmp_path / "data/deliveries.json").read_text())
    assert saved["deliveries"][0]["target"] == "claude"
    again = _service(prompts, tmp_path)
    await again.start()
    await prompts.set_text("general", "After restart.\n")
    await again.wait_idle()
    assert "After restart." in (tmp_path / ".claude/rules/gepad.md").read_text()
    result = await again.disable(str(tmp_path), "claude")
    assert result["files"] == [
        {"path": str(tmp_path / ".claude/rules/gepad.md"), "result": "removed"}
    ]
    assert not (tmp_path / ".claude").exists()
    assert again.status()["deliveries"] == []
    await again.stop()


async def test_unreadable_registry_is_moved_aside(prompts: PromptService, tmp_path: Path) -> None:
    registry = tmp_path / "data/deliveries.json"
    registry.parent.mkdir()
    registry.write_text("{oops")
    delivery = _service(prompts, tmp_path)
    await delivery.start()
    assert delivery.status()["deliveries"] == []
    aside = list(registry.parent.glob("deliveries.json.unreadable-*"))
    assert len(aside) == 1 and aside[0].read_text() == "{oops"
    await delivery.stop()


async def test_continue_shared_by_workspaces(prompts: PromptService, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    delivery = _service(prompts, tmp_path)
    await delivery.start()
    await delivery.enable(str(a), "continue")
    await delivery.enable(str(b), "continue")
    with pytest.raises(DeliveryConflictError, match="component"):
        await delivery.enable(str(b), "continue", component="kernel")
    shared = tmp_path / "home/.continue/rules/gepad.md"
    await prompts.set_text("general", "Shared.\n")
    await delivery.wait_idle()
    assert "Shared." in shared.read_text()
    assert [r["state"] for r in delivery.status()["deliveries"]] == ["ok", "ok"]
    assert all(r["files"] == [str(shared)] for r in delivery.status()["deliveries"])
    out = await delivery.disable(str(a), "continue")
    assert out["files"][0]["result"].startswith("kept")
    assert shared.exists()
    await delivery.disable(str(b), "continue")
    assert not shared.exists()
    await delivery.stop()


async def test_bad_requests_are_refused(prompts: PromptService, tmp_path: Path) -> None:
    delivery = _service(prompts, tmp_path)
    await delivery.start()
    with pytest.raises(DeliveryError, match="unknown target"):
        await delivery.enable(str(tmp_path), "vim")
    with pytest.raises(DeliveryError, match="not an absolute path"):
        await delivery.enable("relative/dir", "claude")
    with pytest.raises(DeliveryError, match="not an existing folder"):
        await delivery.enable(str(tmp_path / "missing"), "claude")
    with pytest.raises(UnknownComponentError):
        await delivery.enable(str(tmp_path), "claude", component="nope")
    with pytest.raises(DeliveryError, match="not enabled"):
        await delivery.disable(str(tmp_path), "claude")
    await delivery.stop()
