"""Line provenance: which node of a lineage first introduced each line of a text.

Pure: a lineage is given as nodes (text and parents); nothing here knows the engine or the
store. A line of a node is *inherited* when a line-level diff against one of its parents keeps
it unchanged (difflib's matching blocks); otherwise the node introduced it. Parents are tried in
order, so a merge credits the first parent that has the line.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["LineageNode", "attribute_lines"]


@dataclass(frozen=True, slots=True)
class LineageNode:
    text: str
    parents: tuple[str, ...] = ()


def attribute_lines(nodes: Mapping[str, LineageNode], start: str) -> list[str]:
    """For each line of `nodes[start].text`, the id of the node that introduced it.

    Parents missing from `nodes` are ignored. Cycles (which a lineage never has, but a bad
    state file could) are cut: a node met again while being resolved counts as a root.
    """
    order = _ancestors_first(nodes, start)
    intro: dict[str, list[str]] = {}
    for node_id in order:
        node = nodes[node_id]
        lines = node.text.splitlines()
        owner: list[str | None] = [None] * len(lines)
        for parent in node.parents:
            if parent not in intro:
                continue
            _inherit(nodes[parent].text.splitlines(), intro[parent], lines, owner)
        intro[node_id] = [o if o is not None else node_id for o in owner]
    return intro[start]


def _inherit(
    parent_lines: Sequence[str],
    parent_intro: Sequence[str],
    lines: Sequence[str],
    owner: list[str | None],
) -> None:
    matcher = difflib.SequenceMatcher(None, parent_lines, lines, autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            j = block.b + k
            if owner[j] is None:
                owner[j] = parent_intro[block.a + k]


def _ancestors_first(nodes: Mapping[str, LineageNode], start: str) -> list[str]:
    """`start` and its ancestors, every node after all of its parents (iterative DFS)."""
    order: list[str] = []
    done: set[str] = set()
    on_path: set[str] = set()
    stack: list[tuple[str, int]] = [(start, 0)]
    on_path.add(start)
    while stack:
        node_id, i = stack.pop()
        parents = [p for p in nodes[node_id].parents if p in nodes]
        if i < len(parents):
            stack.append((node_id, i + 1))
            parent = parents[i]
            if parent not in done and parent not in on_path:
                on_path.add(parent)
                stack.append((parent, 0))
            continue
        on_path.discard(node_id)
        done.add(node_id)
        order.append(node_id)
    return order
