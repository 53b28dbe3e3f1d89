"""Ingestion with a REAL watchdog observer on temp folders, a real store, real pytest and nvcc."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import subprocess
from pathlib import Path

import pytest
from gepad_outcomes_testing import (
    CALC_FIXED,
    FAST_SETTINGS,
    run_pytest,
    wait_for,
    write_project,
)

from gepad.errors import WorkspaceError
from gepad.outcomes import OutcomeIngester
from gepad.store import Example, NewGeneration, Store

NVCC = Path("/usr/local/bin/nvcc")


async def _examples(store: Store, *, retired: bool = False) -> list[Example]:
    rows = await store.list_examples(limit=1000, include_retired=retired)
    return [e for e in rows if e.kind in ("test_result", "compile_result")]


async def _record(store: Store, ws: Path, file: Path, output: str, version: int = 1) -> int:
    return await store.record_generation(
        NewGeneration(
            workspace=ws.as_uri(),
            file=file.as_uri(),
            language="python",
            instruction="write add(a, b)",
            context="# calc.py",
            output=output,
            prompt_version=version,
        )
    )


def _outcome(example: Example) -> dict[str, object]:
    data = example.outcome_data()
    assert isinstance(data, dict)
    return data


async def test_pytest_failure_links_to_the_generation_of_the_file_under_test(
    store: Store, workspace: Path, ingester: OutcomeIngester
) -> None:
    write_project(workspace)
    gid = await _record(store, workspace, workspace / "calc.py", "return a - b", version=3)
    report = workspace / "reports" / "junit.xml"
    result = await asyncio.to_thread(run_pytest, workspace, report)
    assert result.returncode == 1, result.stdout + result.stderr

    (example,) = await wait_for(lambda: _examples(store), what="the test_result example")
    assert example.kind == "test_result"
    assert example.generation_id == gid
    assert example.prompt_version == 3
    assert example.workspace == workspace.as_uri()
    assert example.file == (workspace / "calc.py").as_uri()
    assert example.output == "return a - b"
    assert example.context == "write add(a, b)\n\n# calc.py"
    assert not example.retired
    outcome = _outcome(example)
    assert outcome["test"] == "test_calc::test_add"
    assert outcome["passed"] is False
    assert "add(2, 2) must be 4" in str(outcome["message"])
    assert outcome["report"] == str(report)
    assert outcome["linked"] is True
    # The passing test_zero is not an example: a pass alone says nothing.
    assert ingester.listing()["ingest"]["examples_linked"] == 1

    # The assistant corrects calc.py; the same test now passes: a positive outcome.
    fix = await _record(store, workspace, workspace / "calc.py", "return a + b", version=4)
    (workspace / "calc.py").write_text(CALC_FIXED)
    result = await asyncio.to_thread(run_pytest, workspace, report)
    assert result.returncode == 0, result.stdout + result.stderr

    async def positive() -> list[Example]:
        return [e for e in await _examples(store) if _outcome(e)["passed"] is True]

    (good,) = await wait_for(positive, what="the positive test_result")
    assert good.generation_id == fix
    assert good.prompt_version == 4
    assert good.output == "return a + b"
    assert len(await _examples(store)) == 2


async def test_failure_without_a_generation_is_kept_retired(
    store: Store, workspace: Path, ingester: OutcomeIngester
) -> None:
    write_project(workspace)
    result = await asyncio.to_thread(run_pytest, workspace, workspace / "junit.xml")
    assert result.returncode == 1

    async def retired() -> list[Example]:
        return await _examples(store, retired=True)

    (example,) = await wait_for(retired, what="the unlinked example")
    assert example.retired
    assert example.generation_id is None
    assert example.workspace == str(workspace)
    assert _outcome(example)["linked"] is False
    # The optimizer reads non-retired examples only.
    assert await _examples(store) == []
    counts = await store.count_examples_by_kind()
    assert counts["test_result"] == 0


@pytest.mark.skipif(not NVCC.exists(), reason="nvcc is not installed at /usr/local/bin/nvcc")
async def test_real_nvcc_syntax_error_log_is_ingested(
    store: Store, workspace: Path, ingester: OutcomeIngester
) -> None:
    kernel = workspace / "kernel.cu"
    kernel.write_text("__global__ void scale(float* x) {\n    x[0] = 2.0f\n}\n")
    gid = await _record(store, workspace, kernel, kernel.read_text())
    (workspace / "build").mkdir()
    log_file = workspace / "build" / "nvcc.log"
    with log_file.open("w") as err:
        proc = await asyncio.to_thread(
            subprocess.run,
            [str(NVCC), "-c", "kernel.cu", "-o", "kernel.o"],
            cwd=workspace,
            stderr=err,
            stdout=subprocess.DEVNULL,
            timeout=120,
        )
    assert proc.returncode != 0

    (example,) = await wait_for(lambda: _examples(store), what="the compile_result example")
    assert example.kind == "compile_result"
    assert example.generation_id == gid
    outcome = _outcome(example)
    assert outcome["tool"] == "nvcc"
    assert outcome["ok"] is False
    assert 'kernel.cu(3): error: expected a ";"' in str(outcome["diagnostics"])


async def test_sarif_report_is_ingested(
    store: Store, workspace: Path, ingester: OutcomeIngester
) -> None:
    app = workspace / "src" / "app.py"
    app.parent.mkdir()
    app.write_text("import os\n")
    gid = await _record(store, workspace, app, "import os\n")
    sarif = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "ruff"}},
                "results": [
                    {
                        "ruleId": "F401",
                        "level": "error",
                        "message": {"text": "`os` imported but unused"},
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": {"uri": "src/app.py"},
                                    "region": {"startLine": 1},
                                }
                            }
                        ],
                    }
                ],
            }
        ],
    }
    (workspace / "ruff.sarif").write_text(json.dumps(sarif))
    (example,) = await wait_for(lambda: _examples(store), what="the SARIF example")
    assert example.generation_id == gid
    outcome = _outcome(example)
    assert outcome["tool"] == "ruff"
    assert outcome["diagnostics"] == "src/app.py:1: error [F401]: `os` imported but unused"

    # The next run finds nothing in app.py: the fix is recorded against the newer generation.
    fix = await _record(store, workspace, app, "")
    sarif["runs"][0]["results"] = []  # type: ignore[index]
    (workspace / "ruff.sarif").write_text(json.dumps(sarif))

    async def fixed() -> list[Example]:
        return [e for e in await _examples(store) if _outcome(e)["ok"] is True]

    (good,) = await wait_for(fixed, what="the fixed SARIF outcome")
    assert good.generation_id == fix


async def test_half_written_report_is_retried_not_rejected(
    store: Store,
    workspace: Path,
    ingester: OutcomeIngester,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="gepad.outcomes")
    write_project(workspace)
    await _record(store, workspace, workspace / "calc.py", "return a - b")
    # A real report, produced elsewhere, then written into the workspace in two halves.
    source = tmp_path / "full.xml"
    await asyncio.to_thread(run_pytest, workspace, source)
    data = source.read_bytes()
    target = workspace / "junit.xml"
    with target.open("wb") as fh:
        fh.write(data[: len(data) // 2])
        fh.flush()

        async def retrying() -> bool:
            return any("does not parse yet" in r.getMessage() for r in caplog.records)

        # The half file is read, does not parse, and is put back for a retry ...
        await wait_for(retrying, what="the half-written report to be retried")
        fh.write(data[len(data) // 2 :])
    await wait_for(lambda: _examples(store), what="the example from the finished report")
    await ingester.idle()
    assert len(await _examples(store, retired=True)) == 1
    assert ingester.listing()["ingest"]["malformed"] == 0
    # ... and nothing was reported as a problem.
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_malformed_report_is_logged_skipped_and_watching_goes_on(
    store: Store,
    workspace: Path,
    ingester: OutcomeIngester,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="gepad.outcomes")
    bad = workspace / "junit.xml"
    bad.write_text("<testsuites><testsuite><testcase name='x'></testsuite></nope>")

    async def warned() -> list[str]:
        return [r.getMessage() for r in caplog.records if "malformed" in r.getMessage()]

    (message,) = await wait_for(warned, what="the malformed-report warning")
    assert str(bad) in message
    assert "not well-formed XML" in message
    assert ingester.listing()["ingest"]["malformed"] == 1

    # The watcher still works: a good report afterwards is ingested.
    write_project(workspace)
    await _record(store, workspace, workspace / "calc.py", "return a - b")
    await asyncio.to_thread(run_pytest, workspace, workspace / "reports" / "junit.xml")
    (example,) = await wait_for(lambda: _examples(store), what="the later good report")
    assert example.generation_id is not None


async def test_deleted_and_recreated_workspace_is_still_watched(
    store: Store, workspace: Path, ingester: OutcomeIngester
) -> None:
    assert ingester.listing()["workspaces"][0]["watching"] is True
    shutil.rmtree(workspace)

    async def not_watching() -> bool:
        return ingester.listing()["workspaces"][0]["watching"] is False

    await wait_for(not_watching, what="the watch to notice the folder is gone")
    workspace.mkdir()
    write_project(workspace)
    gid = await _record(store, workspace, workspace / "calc.py", "return a - b")
    # Written straight away, possibly before the new watch exists: the rescan must find it.
    await asyncio.to_thread(run_pytest, workspace, workspace / "junit.xml")
    (example,) = await wait_for(lambda: _examples(store), what="the report in the new folder")
    assert example.generation_id == gid
    assert ingester.listing()["workspaces"][0]["watching"] is True

    # And a report written later, through the new watch.
    (workspace / "build.log").write_text("calc.py:2:5: error: invalid syntax\n")

    async def compile_example() -> list[Example]:
        return [e for e in await _examples(store) if e.kind == "compile_result"]

    await wait_for(compile_example, what="the report after re-watching")


async def test_reports_present_before_watching_are_not_ingested_until_they_change(
    store: Store, workspace: Path, tmp_path: Path
) -> None:
    write_project(workspace)
    await _record(store, workspace, workspace / "calc.py", "return a - b")
    await asyncio.to_thread(run_pytest, workspace, workspace / "junit.xml")
    ingester = OutcomeIngester(store, FAST_SETTINGS, config_workspaces=[str(workspace)])
    await ingester.start()
    try:
        await asyncio.sleep(FAST_SETTINGS.debounce_s * 3)
        await ingester.idle()
        assert await _examples(store, retired=True) == []
        await asyncio.to_thread(run_pytest, workspace, workspace / "junit.xml")
        await wait_for(lambda: _examples(store), what="the rewritten report")
    finally:
        await ingester.stop()


async def test_a_relative_config_workspace_is_refused(store: Store) -> None:
    with pytest.raises(WorkspaceError, match="absolute path"):
        OutcomeIngester(store, FAST_SETTINGS, config_workspaces=["proj"])


async def test_workspaces_follow_add_and_remove_and_persist(
    store: Store, workspace: Path, tmp_path: Path, ingester: OutcomeIngester
) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    with pytest.raises(WorkspaceError, match="not an existing folder"):
        await ingester.add(str(tmp_path / "missing"))
    with pytest.raises(WorkspaceError, match=r"comes from config\.toml"):
        await ingester.remove(str(workspace))
    added = await ingester.add(extra.as_uri())
    assert added["added"] is True
    assert {w["path"]: w["source"] for w in added["workspaces"]} == {
        str(workspace): "config",
        str(extra): "registered",
    }
    assert (await ingester.add(str(extra)))["added"] is False
    assert json.loads((tmp_path / "workspaces.json").read_text()) == {"workspaces": [str(extra)]}

    # A report in the added workspace is ingested.
    write_project(extra)
    await asyncio.to_thread(run_pytest, extra, extra / "junit.xml")
    await wait_for(lambda: _examples(store, retired=True), what="the added workspace's report")

    # A fresh ingester (a daemon restart) knows the registered workspace.
    again = OutcomeIngester(store, FAST_SETTINGS, registry_file=tmp_path / "workspaces.json")
    await again.start()
    try:
        assert [w["path"] for w in again.listing()["workspaces"]] == [str(extra)]
    finally:
        await again.stop()

    removed = await ingester.remove(str(extra))
    assert removed["removed"] is True
    assert [w["path"] for w in removed["workspaces"]] == [str(workspace)]
    before = len(await _examples(store, retired=True))
    (extra / "build.log").write_text("calc.py:1:1: error: nope\n")
    await asyncio.sleep(FAST_SETTINGS.debounce_s * 4)
    await ingester.idle()
    assert len(await _examples(store, retired=True)) == before
