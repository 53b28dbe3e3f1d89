"""The examples: their splits, retirement, and the minibatch sampler.

The dataset owns the state's `splits`, `retired` and sampler fields. Every query about which
examples are active goes through `active`, which is cached and cleared on any change, so the
scoreboard and the planner never keep a second copy in sync by hand.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._config import EngineConfig
from ._errors import EngineError
from ._state import EngineState
from ._types import ExampleSpec

__all__ = ["Dataset"]

_SPLITS = ("train", "val", "holdout")


class Dataset:
    def __init__(self, state: EngineState, config: EngineConfig) -> None:
        self._s = state
        self._config = config
        self._active: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._sets: dict[tuple[str, ...], frozenset[str]] = {}
        # The examples reflection learns from: training, and validation feedback too when the
        # configuration says so (every example is the user's own feedback).
        self.learn_splits: tuple[str, ...] = (
            ("train", "val") if config.reflect_on_val else ("train",)
        )
        # Bumped on every change: the scoreboard rebuilds what depends on membership.
        self.version = 0

    def _changed(self) -> None:
        self._active.clear()
        self._sets.clear()
        self.version += 1

    def split_of(self, example_id: str) -> str | None:
        return self._s.splits.get(example_id)

    def is_active(self, example_id: str, *splits: str) -> bool:
        split = self._s.splits.get(example_id)
        return split is not None and split in splits and example_id not in self._s.retired

    def active_set(self, *splits: str) -> frozenset[str]:
        """`active(*splits)` as a set, for membership tests in the hot loops."""
        cached = self._sets.get(splits)
        if cached is None:
            cached = frozenset(self.active(*splits))
            self._sets[splits] = cached
        return cached

    def active(self, *splits: str) -> tuple[str, ...]:
        """The active examples of `splits`, in the order they were added."""
        cached = self._active.get(splits)
        if cached is None:
            s = self._s
            cached = tuple(e for e, sp in s.splits.items() if sp in splits and e not in s.retired)
            self._active[splits] = cached
        return cached

    def add(self, specs: Iterable[ExampleSpec]) -> tuple[list[str], list[str]]:
        """Add examples; returns (new ids, re-activated ids)."""
        s = self._s
        added: list[str] = []
        revived: list[str] = []
        counts = dict.fromkeys(_SPLITS, 0)
        for sp in s.splits.values():
            counts[sp] += 1
        for spec in specs:
            if spec.id in s.splits:
                if spec.id in s.retired:
                    s.retired.discard(spec.id)
                    revived.append(spec.id)
                    if (
                        s.splits[spec.id] in self.learn_splits
                        and spec.id not in s.sampler_order[s.sampler_pos :]
                    ):
                        s.sampler_order.append(spec.id)
                continue
            split = self._assign_split(spec.split, counts)
            counts[split] += 1
            s.splits[spec.id] = split
            if split in self.learn_splits:
                s.sampler_order.append(spec.id)
            added.append(spec.id)
        if added or revived:
            self._changed()
        return added, revived

    def retire(self, ids: Iterable[str]) -> list[str]:
        s = self._s
        retired = [ex for ex in dict.fromkeys(ids) if ex in s.splits and ex not in s.retired]
        s.retired.update(retired)
        if retired:
            self._changed()
        return retired

    def _assign_split(self, wanted: str | None, counts: dict[str, int]) -> str:
        if wanted is None:
            n_val = counts["val"] + counts["holdout"]
            total = sum(counts.values()) + 1
            # Keep the validation share on target; the first example always trains.
            wanted = "val" if n_val + 1 <= self._config.val_fraction * total else "train"
        if wanted == "val":
            n_val = counts["val"] + counts["holdout"] + 1
            if counts["holdout"] + 1 <= int(self._config.holdout_fraction * n_val):
                return "holdout"
            return "val"
        if wanted not in ("train", "holdout"):
            raise EngineError(f"unknown split {wanted!r}; use train, val, holdout or None")
        return wanted

    def next_minibatch(self, size: int | None = None) -> list[str]:
        """The next examples of the epoch-shuffled sampler over the examples to learn from."""
        s = self._s
        active = set(self.active(*self.learn_splits))
        k = min(self._config.minibatch_size if size is None else size, len(active))
        batch: list[str] = []
        reshuffled = False
        while len(batch) < k:
            if s.sampler_pos >= len(s.sampler_order):
                if reshuffled:
                    break
                order = sorted(active)
                s.rng.shuffle(order)
                s.sampler_order = order
                s.sampler_pos = 0
                reshuffled = True
            ex = s.sampler_order[s.sampler_pos]
            s.sampler_pos += 1
            if ex in active and ex not in batch:
                batch.append(ex)
        return batch
