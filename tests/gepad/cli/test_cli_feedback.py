"""`gepad feedback ...` and `gepad examples` through the real command and a real daemon."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from gepad_client_harness import RunningDaemon, gepad, start_daemon, stop_daemon


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDaemon]:
    running = start_daemon(tmp_path_factory.mktemp("feedback-home"))
    yield running
    stop_daemon(running)


def _examples(home: Path, *args: str) -> list[dict]:  # type: ignore[type-arg]
    result = gepad(home, "examples", "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["examples"]


def test_every_kind_is_recorded(daemon: RunningDaemon, tmp_path: Path) -> None:
    source = tmp_path / "util.py"
    corrected = tmp_path / "fixed.py"
    corrected.write_text("def add(a, b):\n    return a + b\n")
    runs = {
        "thumbs_down": ["thumbs-down", "--comment", "too clever", "--output", "lambda a,b:a+b"],
        "thumbs_up": ["thumbs-up", "--output", "def ok(): ..."],
        "correction": [
            "correction",
            "--output",
            "def add(a,b): return a+b",
            "--corrected-file",
            str(corrected),
            "--comment",
            "PEP 8 please",
        ],
        "comment": ["comment", "--comment", "always type-hint"],
    }
    ids = {}
    for kind, args in runs.items():
        result = gepad(
            daemon.home,
            "feedback",
            *args,
            "--file",
            str(source),
            "--language",
            "python",
            "--json",
        )
        assert result.returncode == 0, (kind, result.stderr)
        reply = json.loads(result.stdout)
        assert reply["duplicate"] is False
        ids[kind] = reply["example_id"]
    assert len(set(ids.values())) == 4

    listed = {e["id"]: e for e in _examples(daemon.home, "--limit", "10")}
    for kind, example_id in ids.items():
        example = listed[example_id]
        assert example["kind"] == kind
        assert example["language"] == "python"
        assert example["file"] == source.absolute().as_uri()
    assert listed[ids["correction"]]["corrected"] == corrected.read_text()
    assert listed[ids["correction"]]["comment"] == "PEP 8 please"
    assert listed[ids["thumbs_down"]]["output"] == "lambda a,b:a+b"


def test_human_output_and_duplicates(daemon: RunningDaemon) -> None:
    args = ("feedback", "thumbs-down", "--comment", "dup check", "--output", "same output")
    first = gepad(daemon.home, *args)
    assert first.returncode == 0
    assert first.stdout.startswith("recorded thumbs_down example #")
    example_id = first.stdout.strip().rsplit("#", 1)[1]
    second = gepad(daemon.home, *args)
    assert second.returncode == 0
    assert second.stdout.strip() == (
        f"already recorded as example #{example_id} (identical submission)"
    )


def test_examples_table_filter_and_limit(daemon: RunningDaemon) -> None:
    gepad(daemon.home, "feedback", "comment", "--comment", "table row comment")
    table = gepad(daemon.home, "examples")
    assert table.returncode == 0
    lines = table.stdout.splitlines()
    header = ["ID", "KIND", "COMPONENT", "SOURCE", "CREATED", "SPLIT", "SUMMARY"]
    assert lines[0].split() == header
    assert "table row comment" in table.stdout
    assert lines[1].split()[3] == "cli"  # the command line says who it is

    only = _examples(daemon.home, "--kind", "comment")
    assert only and all(e["kind"] == "comment" for e in only)
    assert len(_examples(daemon.home, "--limit", "1")) == 1
    none = gepad(daemon.home, "examples", "--kind", "test-result")
    assert none.returncode == 0 and none.stdout.strip() == "no test_result examples yet"


def test_bad_feedback_input(daemon: RunningDaemon, tmp_path: Path) -> None:
    no_corrected = gepad(daemon.home, "feedback", "correction", "--output", "x")
    assert no_corrected.returncode == 2
    assert "--corrected" in no_corrected.stderr
    no_comment = gepad(daemon.home, "feedback", "comment")
    assert no_comment.returncode == 2
    missing_file = gepad(
        daemon.home, "feedback", "thumbs-down", "--output-file", str(tmp_path / "gone.txt")
    )
    assert missing_file.returncode == 2
    assert "gone.txt: no such file" in missing_file.stderr
    both = gepad(daemon.home, "feedback", "thumbs-down", "--output", "a", "--output-file", "b")
    assert both.returncode == 2
    assert "not allowed with" in both.stderr
    bad_kind = gepad(daemon.home, "feedback", "thumbs-sideways")
    assert bad_kind.returncode == 2
    server_refused = gepad(daemon.home, "examples", "--limit", "100000")
    assert server_refused.returncode == 2
    assert "limit" in server_refused.stderr
    unknown_component = gepad(
        daemon.home, "feedback", "thumbs-up", "--component", "Not A Component"
    )
    assert unknown_component.returncode == 2
    assert "component" in unknown_component.stderr
    for result in (no_corrected, missing_file, server_refused, unknown_component):
        assert "Traceback" not in result.stderr
