"""The public surface is exactly `__all__`, and every name in it exists."""

from __future__ import annotations

import gepa_engine


def test_all_names_exist_and_are_public() -> None:
    for name in gepa_engine.__all__:
        assert hasattr(gepa_engine, name), name
        assert not name.startswith("_")


def test_nothing_public_is_left_out_of_all() -> None:
    public = {
        n
        for n, v in vars(gepa_engine).items()
        if not n.startswith("_") and not hasattr(v, "__path__")
    }
    assert public - {"annotations"} <= set(gepa_engine.__all__)


def test_all_is_sorted_and_unique() -> None:
    assert len(set(gepa_engine.__all__)) == len(gepa_engine.__all__)
