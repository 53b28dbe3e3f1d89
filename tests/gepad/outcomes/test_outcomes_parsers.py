"""The report parsers, the globs and the linking rules, on fixed inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gepad.config import Config
from gepad.errors import ReportParseError, WorkspaceError
from gepad.outcomes import (
    GlobSet,
    link_generations,
    normalize_workspace,
    parse_compiler_log,
    parse_junit,
    parse_sarif,
    report_format,
    to_path,
    under_test_names,
)
from gepad.outcomes._types import Outcome
from gepad.store import Generation

# What pytest 8 writes with --junitxml (default xunit2 family), trimmed to two cases.
PYTEST_XML = b"""<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">
<testsuite name="pytest" errors="0" failures="1" skipped="1" tests="3" time="0.046">
<testcase classname="tests.test_calc" name="test_add" time="0.001"><failure
 message="assert 0 == 4&#10; +  where 0 = add(2, 2)">def test_add():
&gt;       assert add(2, 2) == 4
E       assert 0 == 4

tests/test_calc.py:3: AssertionError</failure></testcase>
<testcase classname="tests.test_calc" name="test_ok" time="0.000" />
<testcase classname="tests.test_calc" name="test_later" time="0.000">
<skipped message="todo"/></testcase>
</testsuite></testsuites>"""

# Maven surefire: a bare <testsuite> root, an <error>, Java classnames.
SUREFIRE_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="com.acme.CalcTest" tests="1" errors="1" failures="0" skipped="0">
  <testcase name="adds" classname="com.acme.CalcTest" time="0.01">
    <error message="boom" type="java.lang.IllegalStateException"
    >java.lang.IllegalStateException: boom
\tat com.acme.Calc.add(Calc.java:12)</error>
  </testcase>
</testsuite>"""

# jest-junit with addFileAttribute=true.
JEST_XML = b"""<testsuites name="jest tests" tests="1" failures="1">
  <testsuite name="sum" tests="1" failures="1">
    <testcase classname="sum adds" name="sum adds" file="src/sum.test.ts">
      <failure>Error: expect(received).toBe(expected)
    at Object.&lt;anonymous&gt; (src/sum.test.ts:4:19)</failure>
    </testcase>
  </testsuite>
</testsuites>"""


def test_pytest_report_gives_a_failure_a_pass_and_no_skip() -> None:
    outcomes = parse_junit(PYTEST_XML, where="r.xml")
    assert [(o.test, o.passed) for o in outcomes] == [
        ("tests.test_calc::test_add", False),
        ("tests.test_calc::test_ok", True),
    ]
    failed = outcomes[0]
    assert failed.kind == "test_result"
    assert failed.key == "test:tests.test_calc::test_add"
    assert "assert 0 == 4" in failed.message
    assert "tests/test_calc.py:3: AssertionError" in failed.message
    assert "tests/test_calc.py" in failed.files
    assert "calc.py" in failed.under_test
    assert outcomes[1].message == ""


def test_surefire_error_names_the_java_files() -> None:
    (outcome,) = parse_junit(SUREFIRE_XML, where="TEST-x.xml")
    assert not outcome.passed
    assert "[error] java.lang.IllegalStateException: boom" in outcome.message
    assert "com/acme/CalcTest.java" in outcome.files
    assert "Calc.java" in outcome.files  # from the stack trace line
    assert "Calc.java" in outcome.under_test


def test_jest_file_attribute_is_used() -> None:
    (outcome,) = parse_junit(JEST_XML, where="junit.xml")
    assert outcome.files[0] == "src/sum.test.ts"
    assert outcome.under_test == ("sum.ts",)


def test_truncated_xml_is_maybe_incomplete() -> None:
    with pytest.raises(ReportParseError) as info:
        parse_junit(PYTEST_XML[: len(PYTEST_XML) // 2], where="half.xml")
    assert info.value.maybe_incomplete
    assert "half.xml" in str(info.value)


def test_non_junit_xml_is_malformed_with_a_clear_message() -> None:
    with pytest.raises(ReportParseError, match="not a JUnit report") as info:
        parse_junit(b"<project><x/></project>", where="pom.xml")
    assert not info.value.maybe_incomplete
    with pytest.raises(ReportParseError, match="not well-formed"):
        parse_junit(b"this is not xml at all", where="junit.xml")


def test_gnu_style_errors_grouped_per_file_and_warnings_ignored() -> None:
    log = (
        "src/a.c:3:5: error: 'x' undeclared (first use in this function)\n"
        "    3 |     x = 1;\n"
        "      |     ^\n"
        "src/a.c:9:1: error: expected ';' before '}' token\n"
        "src/b.c:2:1: warning: unused variable 'y'\n"
        "2 errors generated.\n"
    )
    (outcome,) = parse_compiler_log(log)
    assert outcome.kind == "compile_result"
    assert outcome.files == ("src/a.c",)
    assert outcome.key == "compile:src/a.c"
    assert not outcome.passed
    assert outcome.message.splitlines()[0] == (
        "src/a.c:3:5: error: 'x' undeclared (first use in this function)"
    )
    assert "expected ';' before '}' token" in outcome.message


def test_nvcc_style_and_tool_level_errors() -> None:
    log = (
        'kernel.cu(2): error: expected a ";"\n'
        "  }\n"
        "  ^\n\n"
        'ptxas error   : Entry function "k" uses too much shared data\n'
    )
    by_key = {o.key: o for o in parse_compiler_log(log)}
    assert by_key["compile:kernel.cu"].tool == "nvcc"
    assert by_key["compile:kernel.cu"].files == ("kernel.cu",)
    assert 'kernel.cu(2): error: expected a ";"' in by_key["compile:kernel.cu"].message
    assert by_key["compile:ptxas"].files == ()
    assert parse_compiler_log("all good\nlinking done\n") == ()


def _sarif(results: list[object]) -> bytes:
    doc = {
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "ruff"}}, "results": results}],
    }
    return json.dumps(doc).encode()


def test_sarif_results_grouped_per_file() -> None:
    loc = {
        "physicalLocation": {
            "artifactLocation": {"uri": "file:///w/src/app.py"},
            "region": {"startLine": 7},
        }
    }
    data = _sarif(
        [
            {"ruleId": "E711", "level": "error", "message": {"text": "comparison to None"},
             "locations": [loc]},
            {"ruleId": "F401", "message": {"text": "os imported but unused"}, "locations": [loc]},
            {"ruleId": "N1", "level": "note", "message": {"text": "just a note"}},
        ]
    )  # fmt: skip
    (outcome,) = parse_sarif(data, where="r.sarif")
    assert outcome.tool == "ruff"
    assert outcome.files == ("/w/src/app.py",)
    assert outcome.message.splitlines() == [
        "/w/src/app.py:7: error [E711]: comparison to None",
        "/w/src/app.py:7: warning [F401]: os imported but unused",
    ]


@pytest.mark.parametrize(
    ("doc", "where"),
    [
        ([], "(root): must be a JSON object, got list"),
        ({"runs": {}}, "runs: must be a JSON array, got dict"),
        ({"runs": [{"tool": {}}]}, "runs[0].tool.driver: must be a JSON object"),
        (
            {"runs": [{"tool": {"driver": {"name": "t"}}, "results": [{"message": {}}]}]},
            "runs[0].results[0].message: needs a non-empty 'text'",
        ),
        (
            {"runs": [{"tool": {"driver": {"name": "t"}}, "results": [{"level": "fatal"}]}]},
            "runs[0].results[0].level: must be one of",
        ),
    ],
)
def test_sarif_structure_errors_name_the_json_path(doc: object, where: str) -> None:
    with pytest.raises(ReportParseError) as info:
        parse_sarif(json.dumps(doc).encode(), where="bad.sarif")
    assert str(info.value).startswith("bad.sarif: ")
    assert where in str(info.value)
    assert not info.value.maybe_incomplete


def test_truncated_sarif_is_maybe_incomplete() -> None:
    data = _sarif([{"message": {"text": "x"}}])
    with pytest.raises(ReportParseError) as info:
        parse_sarif(data[:-5], where="half.sarif")
    assert info.value.maybe_incomplete


def test_default_globs_and_formats() -> None:
    globs = GlobSet(Config().watch_globs)
    for hit in (
        "junit.xml",
        "reports/pytest-junit.xml",
        "target/surefire-reports/TEST-com.acme.CalcTest.xml",
        "build/test-results/test/TEST-x.xml",
        "out/ruff.sarif",
        "build.log",
        "logs/nvcc-kernel.log",
    ):
        assert globs.matches(hit), hit
    for miss in ("pom.xml", "src/app.py", "notes.log", "junit.xml.bak"):
        assert not globs.matches(miss), miss
    assert report_format(Path("a/TEST-x.xml")) == "junit"
    assert report_format(Path("r.sarif.json")) == "sarif"
    assert report_format(Path("build.log")) == "diagnostics"


def test_under_test_names() -> None:
    assert under_test_names(("tests/test_calc.py",)) == ("calc.py",)
    assert under_test_names(("calc_test.go",)) == ("calc.go",)
    assert under_test_names(("src/sum.spec.ts",)) == ("sum.ts",)
    assert under_test_names(("README.md",)) == ()


def _gen(gid: int, file: str, at: float, workspace: str | None = None) -> Generation:
    return Generation(gid, "general", workspace, file, "python", "ask", "", "out", 1, None, at)


def test_link_prefers_named_files_then_files_under_test(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    outcome = Outcome(
        kind="test_result",
        key="test:t",
        passed=False,
        message="m",
        tool="junit",
        files=("test_calc.py",),
        under_test=("calc.py",),
    )
    report = ws / "junit.xml"
    calc = _gen(1, (ws / "calc.py").as_uri(), 100.0)
    old_calc = _gen(2, str(ws / "calc.py"), 50.0)
    elsewhere = _gen(3, str(tmp_path / "other" / "calc.py"), 100.0)
    too_old = _gen(4, str(ws / "lib" / "calc.py"), 1.0)
    # Only the file under test is there: the newest generation of it, inside the workspace.
    linked = link_generations(
        outcome, [calc, old_calc, elsewhere, too_old], workspace=ws, report=report, since=10.0
    )
    assert [g.id for g in linked] == [1]
    # A generation in the test file itself is named by the report and wins.
    in_test = _gen(5, "test_calc.py", 90.0, workspace=ws.as_uri())
    linked = link_generations(outcome, [calc, in_test], workspace=ws, report=report, since=10.0)
    assert [g.id for g in linked] == [5]
    # Outside the window nothing links.
    assert link_generations(outcome, [calc], workspace=ws, report=report, since=200.0) == ()


def test_link_matches_relative_names_as_path_suffixes(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    outcome = Outcome("compile_result", "compile:k", False, "m", "nvcc", files=("k/kernel.cu",))
    gen = _gen(1, str(ws / "src" / "k" / "kernel.cu"), 10.0)
    other = _gen(2, str(ws / "src" / "kernel.cu"), 10.0)
    linked = link_generations(outcome, [gen, other], workspace=ws, report=ws / "b.log", since=0)
    assert [g.id for g in linked] == [1]


def test_paths_and_workspaces_normalise() -> None:
    assert to_path("file:///a/b/../c.py") == Path("/a/c.py")
    assert to_path("untitled:Untitled-1") is None
    assert to_path("rel.py") is None
    assert to_path("rel.py", Path("/w")) == Path("/w/rel.py")
    assert normalize_workspace("file:///home/me/proj/") == Path("/home/me/proj")
    with pytest.raises(WorkspaceError, match="absolute"):
        normalize_workspace("proj")
    with pytest.raises(WorkspaceError, match="only local folders"):
        normalize_workspace("vscode-remote://ssh/home/me")
