"""Users who change their minds: a rule that flips half-way through an online run.

A realistic scenario's rule with `flips_to = "new"` is the *old* rule of a flip pair. Tasks name
only old rules. At the flip (clock `flip_at * budget` of an online run) the user changes their
mind: every task that arrives afterwards, and every held-out task, asks for the new rule instead
of the old one (`flip_task`). Tasks that arrived before keep the old rule: they are the old
examples, and whatever scores them (the harness, or the daemon's judge reading the stored
complaint) still wants the old rule. Post-flip measures: the held-out curve's mean over the
marks at or after the flip (`post_flip_auc`) and whether the final prompt follows the new rule
(`follows_new_rule`: every new rule stated, no old one).

The daemon end-to-end run has no rollout clock of its own; it feeds the train and validation
tasks in the order and with the cut an online run of the same budget would (`flip_arrivals`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from gepad_sim._prompt import prompt_lines
from gepad_sim._scenario import Scenario, Task
from gepad_sim._split import split_tasks

__all__ = [
    "flip_arrivals",
    "flip_pairs",
    "flip_partners",
    "flip_task",
    "flipped_by_input",
    "follows_new_rule",
    "post_flip_auc",
]


def flip_pairs(scenario: Scenario) -> dict[str, str]:
    """Old rule id → new rule id, for every rule that flips (empty for most scenarios)."""
    spec = scenario.realistic
    if spec is None:
        return {}
    return {rid: e.flips_to for rid, e in spec.rules.items() if e.flips_to is not None}


def flip_partners(scenario: Scenario) -> dict[str, str]:
    """Each rule of a flip pair → the other one (both directions)."""
    pairs = flip_pairs(scenario)
    return pairs | {new: old for old, new in pairs.items()}


def flip_task(task: Task, pairs: Mapping[str, str]) -> Task:
    """`task` as the user asks for it after the flip: old rules replaced by new ones."""
    if not any(r in pairs for r in task.rules):
        return task
    return Task(id=task.id, input=task.input, rules=tuple(pairs.get(r, r) for r in task.rules))


def follows_new_rule(scenario: Scenario, prompt: str) -> bool | None:
    """Whether `prompt` states every new rule and no old one (None: the scenario has no flip)."""
    pairs = flip_pairs(scenario)
    if not pairs:
        return None
    by_id = {r.id: r for r in scenario.rules}
    lines = prompt_lines(prompt)

    def stated(rid: str) -> bool:
        return any(by_id[rid].is_stated_in(line) for line in lines)

    return all(stated(new) and not stated(old) for old, new in pairs.items())


def post_flip_auc(curve: Sequence[tuple[int, float]], flip_clock: int, budget: int) -> float | None:
    """Mean of the held-out curve's marks in [flip_clock, budget]; None when there is none."""
    points = [v for mark, v in curve if flip_clock <= mark <= budget]
    return sum(points) / len(points) if points else None


def flip_arrivals(
    scenario: Scenario, train: Sequence[Task], val: Sequence[Task], budget: int
) -> tuple[list[tuple[Task, str]], list[tuple[Task, str]]]:
    """The train and validation tasks as (task, split), split into those that arrive before the
    flip and those after it (flipped), in the order an online run of `budget` releases them."""
    spec = scenario.realistic
    if spec is None:
        return [(t, "train") for t in train] + [(t, "val") for t in val], []
    p = spec.params
    n_train = max(1, math.ceil(p.online_start * len(train)))
    n_val = max(1, math.ceil(p.online_start * len(val)))
    order = [(t, "train") for t in train[:n_train]] + [(t, "val") for t in val[:n_val]]
    rest_t, rest_v = list(train[n_train:]), list(val[n_val:])
    while rest_t or rest_v:
        if rest_t:
            order.append((rest_t.pop(0), "train"))
        if rest_v:
            order.append((rest_v.pop(0), "val"))
    pairs = flip_pairs(scenario)
    if not pairs:
        return order, []
    # Releases happen at every `online_every` of the clock; those before the flip's clock
    # come before it (a release at the flip's clock is already flipped, as in `OnlineFeed`).
    flip_clock = round(p.flip_at * budget)
    releases = max(0, (flip_clock - 1) // p.online_every)
    cut = min(len(order), n_train + n_val + releases * p.online_batch)
    return order[:cut], [(flip_task(t, pairs), s) for t, s in order[cut:]]


def flipped_by_input(scenario: Scenario, seed: int, budget: int | None) -> dict[str, Task]:
    """Input → flipped task, for the tasks an online run of `budget` asks for after the flip
    (those arriving after it, and the held-out ones); empty without a flip or a budget."""
    pairs = flip_pairs(scenario)
    if not pairs or budget is None:
        return {}
    split = split_tasks(scenario.tasks, seed)
    _, post = flip_arrivals(scenario, split.train, split.val, budget)
    flipped = [t for t, _ in post] + [flip_task(t, pairs) for t in split.test]
    return {t.input.strip(): t for t in flipped}
