"""Line attribution over a lineage (pure), and the package's exports."""

from __future__ import annotations

from pathlib import Path

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


async def test_an_edit_keeps_the_provenance_of_the_version_it_was_made_from(tmp_path: Path) -> None:
    from gepa_engine import Engine
    from gepad.dashboard import EngineView
    from gepad.prompts import PromptService
    from gepad.store import Store

    store = await Store.open(tmp_path / "gepad.db")
    try:
        prompts = PromptService(store, swap_policy="auto", seeds={"general": "be careful\ntest"})
        await prompts.start()
        engine = Engine.start({"general": "be careful\ntest"})
        # The user's edit enters the engine as a root candidate, with no parent.
        edit = engine.add_seed_candidate({"general": "be careful\nuse pathlib\ntest"})
        await store.save_engine_state(None, "general", engine.to_json())
        await prompts.set_text("general", "be careful\nuse pathlib\ntest")
        history = await store.prompt_versions("general", limit=10)
        view = EngineView(store)
        lines = await view.attribute("general", history[0], history)
        owners = [a.candidate.id if a.candidate else a.version for a in lines]
        assert owners == [engine.best.id, edit, engine.best.id]
        # A version the engine never saw is its own node; its unchanged lines keep theirs.
        await prompts.set_text("general", "be careful\nuse pathlib\ntest\nbe brief")
        history = await store.prompt_versions("general", limit=10)
        lines = await EngineView(store).attribute("general", history[0], history)
        owners = [a.candidate.id if a.candidate else a.version for a in lines]
        assert owners == [engine.best.id, edit, engine.best.id, 3]
    finally:
        await store.close()
