"""The `aider` target's second file: a `read:` entry for CONVENTIONS.gepad.md in .aider.conf.yml.

aider reads the files listed under `read:` as read-only context (`read: CONVENTIONS.md` is the
form its docs show). The YAML file is the user's, so gepad edits it as text, line by line, in
the forms aider's docs use, and checks every edit by parsing the file before and after
(PyYAML): the only difference must be gepad's entry, or nothing is written.

- no `read:` key: `read: CONVENTIONS.gepad.md` is appended;
- `read: X` (one file): the line becomes `read: [X, CONVENTIONS.gepad.md]`;
- `read: [a, b]`: `, CONVENTIONS.gepad.md` is added before the `]`;
- a block list (`read:` then `- a` lines): `- CONVENTIONS.gepad.md` is added after the last item.

The record's `sep` holds the exact (old, new) text of the edit, so disabling puts the old text
back byte for byte; if the user changed that part since, gepad's item is taken out by line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import yaml  # type: ignore[import-untyped]

from gepad.errors import DeliveryError

from ._limits import Limit
from ._markers import newline_of
from ._place import Place
from ._types import FileRecord, RenderContext, WriteResult, sha256

__all__ = ["CONVENTIONS", "AiderConf"]

CONVENTIONS = "CONVENTIONS.gepad.md"

_READ = re.compile(
    r"^read:[ \t]*(?P<value>[^\r\n#]*?)[ \t]*(?P<comment>#[^\r\n]*)?(?P<nl>\r?\n|$)", re.M
)
_ITEM = re.compile(r"^(?P<indent>[ \t]*)-[ \t]")


@dataclass(frozen=True, slots=True)
class AiderConf:
    limit: Limit | None = None
    prompt_bearing: bool = False

    def check_enable(self, place: Place, record: FileRecord | None) -> None:
        text = _text(place)
        if text is not None:
            _parse(text, place)

    def write(
        self, place: Place, record: FileRecord | None, ctx: RenderContext, *, force: bool = False
    ) -> WriteResult:
        text = _text(place)
        mine = sha256(CONVENTIONS.encode())
        created = record.created if record else text is None
        dirs = record.created_dirs if record else ()
        if text is not None and CONVENTIONS in _reads(_parse(text, place)):
            return WriteResult(
                FileRecord(str(place), mine, created, dirs, record.sep if record else "")
            )
        old, new = _edit(text or "", place)
        content = (text or "").replace(old, new, 1) if old else (text or "") + new
        _check(text or "", content, place, added=True)
        dirs = (*dirs, *place.write(content.encode("utf-8")))
        return WriteResult(
            FileRecord(str(place), mine, created, dirs, json.dumps([old, new])), written=True
        )

    def remove(self, place: Place, record: FileRecord) -> str:
        text = _text(place)
        if text is None or CONVENTIONS not in _reads(_parse(text, place)):
            return "absent"
        rest = _undo(text, record.sep, place)
        if record.created and not rest.strip():
            place.unlink()
            place.prune(record.created_dirs)
            return "removed"
        place.write(rest.encode("utf-8"))
        return f"removed gepad's read: {CONVENTIONS} entry; the rest of the file is kept"


def _text(place: Place) -> str | None:
    raw = place.read()
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DeliveryError(f"{place}: not UTF-8; gepad will not rewrite it") from None


def _parse(text: str, place: Place) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        raise DeliveryError(
            f"{place}: not valid YAML ({exc}); gepad will not rewrite it: fix it or move it away"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DeliveryError(f"{place}: expected a YAML mapping at the top level; left untouched")
    return data


def _reads(data: dict[str, Any]) -> list[Any]:
    value = data.get("read")
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _edit(text: str, place: Place) -> tuple[str, str]:
    """(old, new): the text to replace (empty: append `new`) to add gepad's entry."""
    nl = newline_of(text) if text else "\n"
    matches = list(_READ.finditer(text))
    if not matches:
        lead = "" if not text or text.endswith("\n") else nl
        return "", f"{lead}read: {CONVENTIONS}{nl}"
    if len(matches) > 1:
        raise DeliveryError(f"{place}: more than one 'read:' line; add {CONVENTIONS} by hand")
    m = matches[0]
    value, comment, end = m["value"], m["comment"] or "", m["nl"]
    tail = f" {comment}" if comment else ""
    if value.startswith("[") and value.endswith("]"):
        inner = value[1:-1].strip()
        items = f"{inner}, {CONVENTIONS}" if inner else CONVENTIONS
        return m[0], f"read: [{items}]{tail}{end}"
    if value:
        return m[0], f"read: [{value}, {CONVENTIONS}]{tail}{end}"
    # A block list: the item lines that follow, at one indent (continuations deeper).
    indent: str | None = None
    last = pos = m.end()
    for line in text[m.end() :].splitlines(keepends=True):
        item = _ITEM.match(line)
        if indent is None and item:
            indent = item["indent"]
        deeper = indent is not None and line[len(indent) :][:1] in (" ", "\t")
        if (item and item["indent"] == indent) or (deeper and line.startswith(indent or "")):
            last = pos + len(line)
        elif line.strip() and not line.strip().startswith("#"):
            break
        pos += len(line)
    if indent is None:
        raise DeliveryError(f"{place}: 'read:' has a form gepad does not edit; add it by hand")
    before = text[m.start() : last]
    lead = "" if before.endswith("\n") else nl
    return before, f"{before}{lead}{indent}- {CONVENTIONS}{nl}"


def _check(before: str, after: str, place: Place, *, added: bool) -> None:
    """The edit changed gepad's entry and nothing else, as YAML sees it."""
    old, new = _parse(before, place), _parse(after, place)
    old_reads, new_reads = _reads(old), _reads(new)
    expected = [*old_reads, CONVENTIONS] if added else [r for r in old_reads if r != CONVENTIONS]
    rest_same = {k: v for k, v in old.items() if k != "read"} == {
        k: v for k, v in new.items() if k != "read"
    }
    if new_reads != expected or not rest_same:
        raise DeliveryError(
            f"{place}: editing 'read:' would change more than gepad's entry; left untouched "
            f"(add or remove {CONVENTIONS} by hand)"
        )


def _undo(text: str, sep: str, place: Place) -> str:
    """`text` without gepad's entry: the recorded edit reversed when it is still there."""
    try:
        old, new = json.loads(sep) if sep else ("", "")
    except ValueError:
        old, new = "", ""
    if new and text.count(new) == 1:
        candidate = text.replace(new, old, 1)
        try:
            _check(text, candidate, place, added=False)
            return candidate
        except DeliveryError:
            pass
    # Changed since: take out a line that is just gepad's item, or its place in a flow list.
    for pattern in (
        rf"^[ \t]*-[ \t]+{re.escape(CONVENTIONS)}[ \t]*\r?\n",
        rf",[ \t]*{re.escape(CONVENTIONS)}",
    ):
        candidate, count = re.subn(pattern, "", text, count=1, flags=re.M)
        if count:
            _check(text, candidate, place, added=False)
            return candidate
    raise DeliveryError(f"{place}: cannot find gepad's read: entry to remove; remove it by hand")
