"""JUnit XML reports (pytest --junitxml, ctest, surefire, jest-junit), read with junitparser.

A test case with a `<failure>` or `<error>` is a failed outcome, one with `<skipped>` is left
out, any other is a pass. The files a test touches come from the `file` attribute (pytest's
xunit1 family, jest-junit), from the classname (`tests.test_calc.TestAdd` ->
`tests/test_calc.py`), and from `path:line` references in the failure text (a traceback names
the source file the failure happened in).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import PurePosixPath

from junitparser import Error, Failure, JUnitXml, JUnitXmlError, Skipped, TestCase, TestSuite

from gepad.errors import ReportParseError
from gepad.outcomes._types import Outcome, clip

__all__ = ["parse_junit", "under_test_names"]

# `calc.py:12`, `src/calc.ts:3:7`, `(src/calc.ts:3:7)`: a path with an extension, then a line.
_PATH_REF = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w.-]+\.[A-Za-z][\w]{0,7}):\d+")
_SOURCE_SUFFIXES = (".py", ".js", ".ts", ".jsx", ".tsx", ".java", ".kt", ".c", ".cc", ".cpp")
_MAX_FILES = 8


def parse_junit(data: bytes, *, where: str) -> tuple[Outcome, ...]:
    """Every non-skipped test case in a JUnit XML document. Raises `ReportParseError`."""
    try:
        xml = JUnitXml.fromstring(data)
    except SyntaxError as exc:  # xml.etree's ParseError is a SyntaxError
        raise ReportParseError(
            f"{where}: not well-formed XML: {exc}", maybe_incomplete=_ends_early(exc, data)
        ) from None
    except JUnitXmlError as exc:
        raise ReportParseError(
            f"{where}: not a JUnit report (the root element must be <testsuites> or "
            f"<testsuite>): {exc}"
        ) from None
    outcomes: list[Outcome] = []
    try:
        for suite in _suites(xml):
            outcomes.extend(_case_outcome(case, suite) for case in suite if _counts(case))
    except (ValueError, TypeError) as exc:  # a bad numeric attribute, e.g. time="abc"
        raise ReportParseError(f"{where}: invalid JUnit attribute: {exc}") from None
    return tuple(outcomes)


def _ends_early(exc: SyntaxError, data: bytes) -> bool:
    """True when the parser ran off the end: the file may still be being written."""
    text = str(exc)
    if "no element found" in text or "unclosed token" in text:
        return True
    position = getattr(exc, "position", None)
    if not position:
        return False
    line = int(position[0])
    return line >= data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def _suites(root: JUnitXml | TestSuite) -> Iterator[TestSuite]:
    for suite in root:
        if not isinstance(suite, TestSuite):
            continue
        yield suite
        # Some tools nest suites (a suite per file inside a suite per package).
        yield from _suites_nested(suite)


def _suites_nested(suite: TestSuite) -> Iterator[TestSuite]:
    for child in suite.testsuites():  # type: ignore[no-untyped-call]
        yield child
        yield from _suites_nested(child)


def _counts(case: TestCase) -> bool:
    return not any(isinstance(r, Skipped) for r in case.result)


def _case_outcome(case: TestCase, suite: TestSuite) -> Outcome:
    name = case.name or "(unnamed test)"
    classname = case.classname or suite.name or ""
    test_id = f"{classname}::{name}" if classname else name
    failures = [r for r in case.result if isinstance(r, (Failure, Error))]
    message = "\n\n".join(_result_text(r) for r in failures)
    files = _files(case, classname, message)
    return Outcome(
        kind="test_result",
        key=f"test:{test_id}",
        passed=not failures,
        message=clip(f"{test_id} failed:\n{message}") if failures else "",
        tool="junit",
        files=files,
        under_test=under_test_names(files),
        test=test_id,
    )


def _result_text(result: Failure | Error) -> str:
    head = " ".join(p for p in (result.type, result.message) if p)
    body = (result.text or "").strip()
    what = "error" if isinstance(result, Error) else "failure"
    # Tools often repeat the message (and type) at the top of the body: say it once.
    if body and (not result.message or result.message in body):
        return f"[{what}] {body}"
    return f"[{what}] {head}\n{body}".strip()


def _files(case: TestCase, classname: str, message: str) -> tuple[str, ...]:
    found: list[str] = []
    attr = case._elem.get("file")  # junitparser exposes no accessor for this optional attribute
    if attr:
        found.append(attr)
    found.extend(_classname_paths(classname))
    found.extend(m.group(1) for m in _PATH_REF.finditer(message))
    unique = list(dict.fromkeys(f.replace("\\", "/") for f in found))
    return tuple(unique[:_MAX_FILES])


def _classname_paths(classname: str) -> list[str]:
    """`tests.test_calc.TestAdd` -> `tests/test_calc/TestAdd.py`, `tests/test_calc.py`, ..."""
    if not classname or "/" in classname:
        return [classname] if classname else []
    parts = classname.split(".")
    paths = []
    for end in range(len(parts), 0, -1):
        stem = "/".join(parts[:end])
        paths.append(f"{stem}.py")
        if end == len(parts):
            paths.append(f"{stem}.java")
    return paths


def under_test_names(files: tuple[str, ...]) -> tuple[str, ...]:
    """The basenames a test file exercises by convention: test_x.py, x_test.go, x.test.ts -> x.*"""
    names: list[str] = []
    for f in files:
        path = PurePosixPath(f)
        stem, suffix = path.stem, path.suffix
        if suffix not in (*_SOURCE_SUFFIXES, ".go"):
            continue
        for prefix in ("test_", "Test"):
            if stem.startswith(prefix) and len(stem) > len(prefix):
                names.append(stem[len(prefix) :].lstrip("_") + suffix)
        for ending in ("_test", ".test", ".spec", "Test", "Tests"):
            if stem.endswith(ending) and len(stem) > len(ending):
                names.append(stem[: -len(ending)] + suffix)
    return tuple(dict.fromkeys(n for n in names if n))
