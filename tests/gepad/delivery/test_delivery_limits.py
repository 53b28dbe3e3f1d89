"""Issue 14, delivery: each target's limit at its edge, the optimizer's length budget, and the
new targets (windsurf, gemini, aider) byte for byte."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from gepad_delivery_testing import HEADER, bound_paths, ctx, stamp

from gepad.delivery import BEGIN, END, LIMITS, DeliveryService
from gepad.delivery._limits import measure
from gepad.errors import DeliveryError
from gepad.prompts import PromptService
from gepad.store import Store


def _overhead(target: str, tmp_path: Path) -> int:
    """What the target's file measures besides a one-unit prompt ("x")."""
    path, kind = bound_paths(target, tmp_path, tmp_path)[0]
    probe = kind.write(path, None, ctx(text="x\n"))
    size = measure(path.read_text(), LIMITS[target].unit)
    assert probe.record is not None
    kind.remove(path, probe.record)
    return size


def _prompt(target: str, overhead: int, extra: int) -> str:
    """A prompt that makes the file exactly the target's limit plus `extra` units."""
    limit = LIMITS[target]
    missing = limit.amount - overhead + extra
    if limit.unit == "lines":
        return "x\n" + "y\n" * missing
    return "x" * (1 + missing) + "\n"


@pytest.mark.parametrize("target", ["agents-md", "windsurf", "claude", "cursor", "copilot"])
def test_limit_edges(tmp_path: Path, target: str) -> None:
    limit = LIMITS[target]
    path, kind = bound_paths(target, tmp_path, tmp_path)[0]
    if target == "agents-md":
        path.write_text("# The user's own text counts too.\n" + "u" * 1000 + "\n")
    overhead = _overhead(target, tmp_path)
    at = _prompt(target, overhead, 0)
    ok = kind.write(path, None, ctx(text=at))
    assert ok.written and ok.refusal is None and ok.warning is None
    assert measure(path.read_text(), limit.unit) == limit.amount
    assert ok.room is not None and ok.room <= limit.amount
    over = _prompt(target, overhead, 1)
    before = path.read_bytes()
    result = kind.write(path, ok.record, ctx(text=over, version=4))
    if limit.enforce == "refuse":
        assert result.refusal is not None and not result.written
        assert f"reads at most {limit.amount}" in result.refusal and limit.tool in result.refusal
        assert path.read_bytes() == before  # keeps the last version that fitted
    else:
        assert result.written and result.warning is not None
        assert "the rest would be cut" in result.warning
        assert measure(path.read_text(), limit.unit) == limit.amount + 1


@pytest.fixture
async def prompts(tmp_path: Path) -> AsyncIterator[PromptService]:
    store = await Store.open(tmp_path / "gepad.db")
    service = PromptService(store, swap_policy="auto", seeds={"general": "Seed.\n"})
    await service.start()
    try:
        yield service
    finally:
        await service.drain()
        await store.close()


async def test_budget_status_and_over_limit_state(prompts: PromptService, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (tmp_path / "home").mkdir()
    delivery = DeliveryService(
        prompts, tmp_path / "d.json", home=tmp_path / "home", gepad_home=None
    )
    await delivery.start()
    assert delivery.max_prompt_chars("general") is None
    await delivery.enable(str(ws), "cline")  # no documented limit
    assert delivery.max_prompt_chars("general") is None
    await delivery.enable(str(ws), "copilot")
    await delivery.enable(str(ws), "windsurf")
    await delivery.enable(str(ws), "cursor")
    budget = delivery.max_prompt_chars("general")
    assert budget is not None and 3_800 < budget < 4_000  # copilot's, less its header
    lines = delivery.max_prompt_lines("general")
    assert lines is not None and 490 < lines < 500
    # A prompt past Windsurf's limit: not written there, written (with a warning) elsewhere.
    await prompts.set_text("general", "z" * 12_500 + "\n")
    await delivery.wait_idle()
    rows = {r["target"]: r for r in delivery.status(str(ws))["deliveries"]}
    assert rows["windsurf"]["state"] == "over-limit" and "Windsurf" in rows["windsurf"]["error"]
    assert "zzz" not in (ws / ".windsurf/rules/gepad.md").read_text()
    assert rows["copilot"]["state"] == "ok" and rows["copilot"]["warnings"]
    assert rows["copilot"]["limit"]["amount"] == 4000
    assert "zzz" in (ws / ".github/instructions/gepad.instructions.md").read_text()
    await prompts.set_text("general", "Short again.\n")
    await delivery.wait_idle()
    rows = {r["target"]: r for r in delivery.status(str(ws))["deliveries"]}
    assert rows["windsurf"]["state"] == "ok" and rows["copilot"]["warnings"] == []
    await delivery.stop()


# new targets -----------------------------------------------------------------------------------

BODY = f"{HEADER}\n\nBe brief.\nUse tabs for indentation.\n"


def test_windsurf_golden(tmp_path: Path) -> None:
    path, kind = bound_paths("windsurf", tmp_path, tmp_path)[0]
    result = kind.write(path, None, ctx())
    assert path == tmp_path / ".windsurf/rules/gepad.md"
    assert path.read_text() == "---\ntrigger: always_on\n---\n" + BODY
    assert kind.remove(path, result.record) == "removed"
    assert not (tmp_path / ".windsurf").exists()


def test_gemini_is_a_marked_section(tmp_path: Path) -> None:
    path, kind = bound_paths("gemini", tmp_path, tmp_path)[0]
    assert path == tmp_path / "GEMINI.md"
    path.write_bytes(b"# Gemini notes\r\n")
    first = kind.write(path, None, ctx())
    block = f"{BEGIN}\n{HEADER}\n\nBe brief.\nUse tabs for indentation.\n{END}".replace(
        "\n", "\r\n"
    )
    assert path.read_bytes() == b"# Gemini notes\r\n\r\n" + block.encode() + b"\r\n"
    before = stamp(path)
    assert not kind.write(path, first.record, ctx()).written and stamp(path) == before
    assert kind.remove(path, first.record).startswith("removed gepad's section")
    assert path.read_bytes() == b"# Gemini notes\r\n"


AIDER_CONFS = [
    None,
    "",
    "model: sonnet\n",
    "model: sonnet",
    "read: CONVENTIONS.md\n",
    "read: CONVENTIONS.md  # the team's\nmodel: x\n",
    "read: [a.md, b.md]\n",
    "read: []\n",
    "# aider\nread:\n  - a.md\n  - b.md\n\nmodel: sonnet\n",
    "read:\n- a.md\nauto-commits: false\n",
    "é: ü\r\nread: x.md\r\n",
]


@pytest.mark.parametrize("original", AIDER_CONFS)
def test_aider_conf_read_entry_added_and_removed_exactly(
    tmp_path: Path, original: str | None
) -> None:
    import yaml  # type: ignore[import-untyped]

    (conv, c_kind), (conf, y_kind) = bound_paths("aider", tmp_path, tmp_path)
    if original is not None:
        conf.write_bytes(original.encode())
    r1 = c_kind.write(conv, None, ctx())
    assert conv.read_text() == BODY
    y_kind.check_enable(conf, None)
    r2 = y_kind.write(conf, None, ctx())
    assert r2.written
    data = yaml.safe_load(conf.read_text())
    reads = data["read"] if isinstance(data["read"], list) else [data["read"]]
    assert reads[-1] == "CONVENTIONS.gepad.md"
    before = stamp(conf)
    assert not y_kind.write(conf, r2.record, ctx()).written and stamp(conf) == before
    assert y_kind.remove(conf, r2.record).startswith("removed")
    if original is None:
        assert not conf.exists()
    else:
        assert conf.read_bytes() == original.encode()
    assert c_kind.remove(conv, r1.record) == "removed"


@pytest.mark.parametrize(
    "broken", ["read: [unclosed\n", "- a list\n- not a mapping\n", "read: a\nread: b\n"]
)
def test_aider_conf_that_gepad_cannot_edit_safely_is_refused(tmp_path: Path, broken: str) -> None:
    (_, _), (conf, kind) = bound_paths("aider", tmp_path, tmp_path)
    conf.write_text(broken)
    with pytest.raises(DeliveryError, match=r"\.aider\.conf\.yml"):
        kind.write(conf, None, ctx())
    assert conf.read_text() == broken
