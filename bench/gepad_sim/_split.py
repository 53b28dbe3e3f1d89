"""The train / validation / held-out test split of a scenario's tasks (spec item 5)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from gepad_sim._scenario import Task

__all__ = ["Split", "split_tasks"]


@dataclass(frozen=True, slots=True)
class Split:
    train: tuple[Task, ...]
    val: tuple[Task, ...]
    test: tuple[Task, ...]


def split_tasks(tasks: Sequence[Task], seed: int) -> Split:
    """Shuffle with `random.Random(seed)`; train is the first floor(0.4n), val the next
    floor(0.3n), test the rest.

    The shuffle has its own generator, not the run's LM stream, so every optimizer sees the same
    split for a seed. Integer arithmetic keeps the floors exact (0.3 * 10 is not 3.0 in floats).
    """
    shuffled = list(tasks)
    random.Random(seed).shuffle(shuffled)
    n = len(shuffled)
    n_train = (4 * n) // 10
    n_val = (3 * n) // 10
    return Split(
        train=tuple(shuffled[:n_train]),
        val=tuple(shuffled[n_train : n_train + n_val]),
        test=tuple(shuffled[n_train + n_val :]),
    )
