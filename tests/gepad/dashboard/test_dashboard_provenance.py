"""Line attribution over a lineage (pure), and the package's exports."""

from __future__ import annotations

import gepad.dashboard
from gepad.dashboard import LineageNode, attribute_lines


def test_each_line_goes_to_the_node_that_added_it() -> None:
    nodes = {
        "seed": LineageNode("be careful\nwrite tests"),
        "a": LineageNode("be careful\nuse pathlib\nwrite tests", ("seed",)),
        "b": LineageNode("be careful\nwrite tests\nuse f-strings", ("seed",)),
        # A merge keeps lines from both parents and adds one of its own.
        "m": LineageNode(
            "be careful\nuse pathlib\nwrite tests\nuse f-strings\nbe brief", ("a", "b")
        ),
    }
    assert attribute_lines(nodes, "m") == ["seed", "a", "seed", "b", "m"]
    assert attribute_lines(nodes, "a") == ["seed", "a", "seed"]


def test_a_changed_line_is_new_and_a_moved_line_keeps_its_origin() -> None:
    nodes = {
        "s": LineageNode("one\ntwo\nthree"),
        "c": LineageNode("three\none\ntwo, reworded", ("s",)),
    }
    # "three" moved ahead of the matched block: difflib keeps the longest run, so the moved line
    # reads as new to this child, the unchanged "one" keeps the seed, the rewording is new.
    assert attribute_lines(nodes, "c") == ["c", "s", "c"]


def test_missing_parents_and_cycles_do_not_break_it() -> None:
    nodes = {
        "x": LineageNode("a\nb", ("y", "gone")),
        "y": LineageNode("a", ("x",)),  # a bad state file could hold a cycle
    }
    result = attribute_lines(nodes, "x")
    assert result[1] == "x" and len(result) == 2


def test_exports_are_sorted_and_complete() -> None:
    names = gepad.dashboard.__all__

    def order(name: str) -> tuple[int, str]:  # ruff's RUF022: CONSTANTS, Classes, functions
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert names == sorted(names, key=order)
    assert all(hasattr(gepad.dashboard, n) for n in names)
    public = {n for n in vars(gepad.dashboard) if not n.startswith("_")}
    assert public - {"annotations"} == set(names)
