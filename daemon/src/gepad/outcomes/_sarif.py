"""SARIF 2.1 logs (static analysers, some compilers): JSON, validated as far as it is read.

Each result of level `error` or `warning` (SARIF's default level is `warning`) counts; results
are grouped per file and tool into one failed `compile_result` outcome. A structural problem
raises `ReportParseError` naming the JSON path, e.g. `runs[0].results[2].message`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any
from urllib.parse import unquote, urlparse

from gepad.errors import ReportParseError
from gepad.outcomes._types import Outcome, clip

__all__ = ["parse_sarif"]

_FAILING_LEVELS = frozenset({"error", "warning"})
_LEVELS = frozenset({"none", "note", "warning", "error"})


def parse_sarif(data: bytes, *, where: str) -> tuple[Outcome, ...]:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ReportParseError(f"{where}: SARIF is not UTF-8: {exc}") from None
    except json.JSONDecodeError as exc:
        ends_early = exc.pos >= len(data.decode("utf-8-sig").rstrip())
        raise ReportParseError(
            f"{where}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
            maybe_incomplete=ends_early,
        ) from None
    root = _obj(doc, "(root)", where)
    runs = _list(root.get("runs"), "runs", where)
    grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
    for i, run_value in enumerate(runs):
        run = _obj(run_value, f"runs[{i}]", where)
        tool = _tool_name(run, f"runs[{i}]", where)
        results = run.get("results")
        if results is None:
            continue
        for j, result_value in enumerate(_list(results, f"runs[{i}].results", where)):
            path = f"runs[{i}].results[{j}]"
            result = _obj(result_value, path, where)
            level = result.get("level", "warning")
            if level not in _LEVELS:
                raise ReportParseError(
                    f"{where}: {path}.level: must be one of {sorted(_LEVELS)}, got {level!r}"
                )
            if level not in _FAILING_LEVELS:
                continue
            text = _message(result, path, where)
            file, line = _location(result, path, where)
            rule = result.get("ruleId")
            rule_part = f" [{rule}]" if isinstance(rule, str) and rule else ""
            at = f"{file}:{line}" if file and line else (file or "(no location)")
            grouped[(tool, file)].append(f"{at}: {level}{rule_part}: {text}")
    return tuple(
        Outcome(
            kind="compile_result",
            key=f"sarif:{tool}:{file}",
            passed=False,
            message=clip("\n".join(lines)),
            tool=tool,
            files=(file,) if file else (),
        )
        for (tool, file), lines in grouped.items()
    )


def _obj(value: Any, path: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ReportParseError(f"{where}: {path}: must be a JSON object, got {_kind(value)}")
    return value


def _list(value: Any, path: str, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ReportParseError(f"{where}: {path}: must be a JSON array, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


def _tool_name(run: dict[str, Any], path: str, where: str) -> str:
    tool = _obj(run.get("tool"), f"{path}.tool", where)
    driver = _obj(tool.get("driver"), f"{path}.tool.driver", where)
    name = driver.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ReportParseError(f"{where}: {path}.tool.driver.name: must be a non-empty string")
    return name.strip()


def _message(result: dict[str, Any], path: str, where: str) -> str:
    message = _obj(result.get("message"), f"{path}.message", where)
    for field in ("text", "markdown", "id"):
        value = message.get(field)
        if isinstance(value, str) and value.strip():
            return value.strip()
    raise ReportParseError(f"{where}: {path}.message: needs a non-empty 'text' (or 'markdown')")


def _location(result: dict[str, Any], path: str, where: str) -> tuple[str, int | None]:
    locations = result.get("locations")
    if locations is None:
        return "", None
    for k, loc_value in enumerate(_list(locations, f"{path}.locations", where)):
        loc = _obj(loc_value, f"{path}.locations[{k}]", where)
        physical = loc.get("physicalLocation")
        if physical is None:
            continue
        physical = _obj(physical, f"{path}.locations[{k}].physicalLocation", where)
        artifact = _obj(
            physical.get("artifactLocation"),
            f"{path}.locations[{k}].physicalLocation.artifactLocation",
            where,
        )
        uri = artifact.get("uri")
        if not isinstance(uri, str) or not uri:
            raise ReportParseError(
                f"{where}: {path}.locations[{k}].physicalLocation.artifactLocation.uri: "
                "must be a non-empty string"
            )
        region = physical.get("region")
        line = region.get("startLine") if isinstance(region, dict) else None
        return _uri_path(uri), line if isinstance(line, int) and line > 0 else None
    return "", None


def _uri_path(uri: str) -> str:
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return unquote(parsed.path)
    return unquote(uri)
