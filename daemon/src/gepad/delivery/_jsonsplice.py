"""Changing one entry of a JSON document the user owns without touching the rest of its bytes.

`json.load` + `json.dump` would re-encode the whole file: non-ASCII escaped, duplicate keys
dropped, `1e400` turned into the invalid `Infinity`, the user's layout lost. Instead, `parse`
records where every value sits (character offsets) and `insert_member` / `insert_item` /
`remove_span` splice text at those offsets. Callers check the result with `json.loads`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

__all__ = ["Node", "SpliceError", "insert_item", "insert_member", "parse", "remove_item"]

_WS = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"')
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")


class SpliceError(ValueError):
    """The text is not JSON this module can edit (the message says where)."""


@dataclass(slots=True)
class Node:
    """A value at `text[start:end]`; objects keep (key, key_start, value) members in order."""

    kind: str  # "object", "array" or "scalar"
    start: int
    end: int
    members: list[tuple[str, int, Node]] = field(default_factory=list)
    items: list[Node] = field(default_factory=list)

    def last(self, key: str) -> Node | None:
        """The value of the last member named `key` (what every JSON reader uses)."""
        found = [value for name, _, value in self.members if name == key]
        return found[-1] if found else None


def parse(text: str) -> Node:
    node, pos = _value(text, _skip(text, 0))
    if _skip(text, pos) != len(text):
        raise SpliceError(f"unexpected text at offset {_skip(text, pos)}")
    return node


def _skip(text: str, pos: int) -> int:
    match = _WS.match(text, pos)
    assert match is not None
    return match.end()


def _value(text: str, pos: int) -> tuple[Node, int]:
    if pos >= len(text):
        raise SpliceError("unexpected end of the document")
    char = text[pos]
    if char == "{":
        return _object(text, pos)
    if char == "[":
        return _array(text, pos)
    if char == '"':
        _, end = _string(text, pos)
        return Node("scalar", pos, end), end
    for literal in ("true", "false", "null"):
        if text.startswith(literal, pos):
            return Node("scalar", pos, pos + len(literal)), pos + len(literal)
    match = _NUMBER.match(text, pos)
    if match is None or match.end() == pos:
        raise SpliceError(f"unexpected {char!r} at offset {pos}")
    return Node("scalar", pos, match.end()), match.end()


def _string(text: str, pos: int) -> tuple[str, int]:
    match = _STRING.match(text, pos)
    if match is None:
        raise SpliceError(f"bad string at offset {pos}")
    value: str = json.loads(match.group(0))
    return value, match.end()


def _object(text: str, pos: int) -> tuple[Node, int]:
    node = Node("object", pos, pos)
    pos = _skip(text, pos + 1)
    if text.startswith("}", pos):
        node.end = pos + 1
        return node, node.end
    while True:
        if not text.startswith('"', pos):
            raise SpliceError(f"expected a key at offset {pos}")
        key_start = pos
        key, pos = _string(text, pos)
        pos = _skip(text, pos)
        if not text.startswith(":", pos):
            raise SpliceError(f"expected ':' at offset {pos}")
        value, pos = _value(text, _skip(text, pos + 1))
        node.members.append((key, key_start, value))
        pos = _skip(text, pos)
        if text.startswith(",", pos):
            pos = _skip(text, pos + 1)
        elif text.startswith("}", pos):
            node.end = pos + 1
            return node, node.end
        else:
            raise SpliceError(f"expected ',' or '}}' at offset {pos}")


def _array(text: str, pos: int) -> tuple[Node, int]:
    node = Node("array", pos, pos)
    pos = _skip(text, pos + 1)
    if text.startswith("]", pos):
        node.end = pos + 1
        return node, node.end
    while True:
        value, pos = _value(text, pos)
        node.items.append(value)
        pos = _skip(text, pos)
        if text.startswith(",", pos):
            pos = _skip(text, pos + 1)
        elif text.startswith("]", pos):
            node.end = pos + 1
            return node, node.end
        else:
            raise SpliceError(f"expected ',' or ']' at offset {pos}")


def _indent_at(text: str, pos: int) -> str:
    line_start = text.rfind("\n", 0, pos) + 1
    head = text[line_start:pos]
    return head[: len(head) - len(head.lstrip(" \t"))]


def _insert(
    text: str, container: Node, first_child: int | None, last_end: int | None, piece: str
) -> tuple[int, str]:
    """Where to put `piece` in `container` and the exact text to insert there."""
    nl = "\r\n" if "\r\n" in text else "\n"
    if last_end is None or first_child is None:  # empty: {} or [ ] or {\n}
        inner = text[container.start + 1 : container.end - 1]
        outer = _indent_at(text, container.start)
        step = "  "
        closing = "" if "\n" in inner else nl + outer
        return container.start + 1, f"{nl}{outer}{step}{piece}{closing}"
    if "\n" not in text[container.start : first_child]:
        return last_end, f", {piece}"  # a compact one-line container stays on its line
    return last_end, f",{nl}{_indent_at(text, first_child)}{piece}"


def insert_member(text: str, obj: Node, key: str, value_json: str) -> tuple[int, str]:
    """(offset, text) that adds `"key": value` as the last member of `obj`."""
    piece = f"{json.dumps(key, ensure_ascii=False)}: {value_json}"
    if not obj.members:
        return _insert(text, obj, None, None, piece)
    return _insert(text, obj, obj.members[0][1], obj.members[-1][2].end, piece)


def insert_item(text: str, array: Node, value_json: str) -> tuple[int, str]:
    """(offset, text) that appends `value_json` to `array`."""
    if not array.items:
        return _insert(text, array, None, None, value_json)
    return _insert(text, array, array.items[0].start, array.items[-1].end, value_json)


def remove_item(text: str, array: Node, index: int) -> str:
    """`text` without `array`'s item `index` and the comma that joined it to its neighbour."""
    items = array.items
    item = items[index]
    if index + 1 < len(items):
        return text[: item.start] + text[items[index + 1].start :]
    if index > 0:
        return text[: items[index - 1].end] + text[item.end :]
    return text[: array.start + 1] + text[array.end - 1 :]  # the only item: `[]` is left
