"""The simulated reflection model's answers to the daemon's drift templates.

The daemon asks its reflection model three things when users change their minds
(`gepad.learning._drift_prompts`); the simulator answers them the way a real model would, from
its knowledge of the user's rules, never from the scenario's wording of a particular request:
- **contradictions**: an item's rules are those its text names (a rule's `feedback` or a
  phrasing; a vague complaint names none) or, for an output the user liked, the rules that
  output follows (read through the answer registry, else the rules of its request's task).
  A NEW item contradicts an older one when one of its rules is the flip partner of one of the
  older item's. Each true pair is missed with probability `error`, and with probability
  `error` one unrelated pair is added;
- **forget**: the items whose rules include a rule the text to drop names (by its triggers);
  each is missed with probability `error`;
- **remove rule**: the instructions without the lines that state such a rule;
- **supersede**: for each (older, NEW) pair whose rules clash as above, unless it errs (with
  probability `error`), the instructions without the older rule's lines and with the new
  rule's statement when it is not stated yet.

Answers are the JSON (or ``` block) the templates ask for. A prompt that is none of the three
is not answered here (`answer` returns None).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from gepad.learning._drift_prompts import (
    CONTRADICTION_TEMPLATE,
    FORGET_TEMPLATE,
    REMOVE_RULE_TEMPLATE,
    SUPERSEDE_TEMPLATE,
)
from gepad_sim._flip import flip_partners
from gepad_sim._prompt import prompt_lines
from gepad_sim._scenario import Scenario, Task

__all__ = ["DriftAnswers", "DriftItem", "parse_items"]

_ITEM = re.compile(r"^### Item (?P<id>\d+)(?: \((?P<age>older|NEW)\))?\n", re.M)
_REQUEST = re.compile(r"\ARequest: (?P<request>[^\n]*)\n")
_LIKED = "The user liked this output:\n"

LikedReader = Callable[[str, "Task | None"], "frozenset[str] | None"]


def _parts(template: str, *fields: str) -> list[str]:
    """The rendered template's literal pieces around its fields, in order."""
    marks = {f: f"\x00{i}\x00" for i, f in enumerate(fields)}
    rendered = template.format(**marks)
    return re.split("\x00\\d\x00", rendered)


_CONTRA = _parts(CONTRADICTION_TEMPLATE, "items")
_FORGET = _parts(FORGET_TEMPLATE, "rule", "items")
_REMOVE = _parts(REMOVE_RULE_TEMPLATE, "rule", "current")
_SUPERSEDE = _parts(SUPERSEDE_TEMPLATE, "pairs", "current")


def _match(text: str, parts: list[str]) -> list[str] | None:
    """The field values of `text` rendered from a template split into `parts`, or None."""
    pattern = "(.*?)".join(re.escape(p) for p in parts)
    m = re.fullmatch(pattern, text.strip(), re.S) or re.fullmatch(pattern, text, re.S)
    return None if m is None else list(m.groups())


@dataclass(frozen=True, slots=True)
class DriftItem:
    id: int
    new: bool
    request: str
    text: str


def parse_items(text: str) -> list[DriftItem]:
    heads = list(_ITEM.finditer(text))
    items: list[DriftItem] = []
    for i, m in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        body = text[m.end() : end].strip("\n")
        request = ""
        r = _REQUEST.match(body)
        if r is not None:
            request, body = r["request"].strip(), body[r.end() :]
        items.append(DriftItem(int(m["id"]), m["age"] == "NEW", request, body))
    return items


def _squash(text: str) -> str:
    return " ".join(text.split())


class DriftAnswers:
    def __init__(
        self,
        scenario: Scenario,
        tasks_by_input: Mapping[str, Task],
        liked_reader: LikedReader,
        error: float = 0.0,
    ) -> None:
        self._rules = scenario.rules
        self._tasks = tasks_by_input
        self._reader = liked_reader
        self._error = error
        self._partner = flip_partners(scenario)
        extras = scenario.realistic.rules if scenario.realistic is not None else {}
        self._words = {
            r.id: tuple(
                _squash(w)
                for w in (r.feedback, *(extras[r.id].phrasings if r.id in extras else ()))
            )
            for r in scenario.rules
        }

    def answer(self, prompt: str, rng: random.Random) -> str | None:
        fields = _match(prompt, _CONTRA)
        if fields is not None:
            return self._contradictions(parse_items(fields[0]), rng)
        fields = _match(prompt, _FORGET)
        if fields is not None:
            return self._forget(fields[0], parse_items(fields[1]), rng)
        fields = _match(prompt, _REMOVE)
        if fields is not None:
            return self._remove(fields[0], fields[1])
        fields = _match(prompt, _SUPERSEDE)
        if fields is not None:
            return self._supersede(parse_items(fields[0]), fields[1], rng)
        return None

    def _supersede(self, items: list[DriftItem], current: str, rng: random.Random) -> str:
        lines = prompt_lines(current)
        by_id = {r.id: r for r in self._rules}
        for older, newer in zip(items[::2], items[1::2], strict=False):
            if rng.random() < self._error:
                continue
            new_rules = self._item_rules(newer)
            for old in sorted(
                r for r in self._item_rules(older) if self._partner.get(r) in new_rules
            ):
                lines = [line for line in lines if not by_id[old].is_stated_in(line)]
                new = by_id[self._partner[old]]
                if not any(new.is_stated_in(line) for line in lines):
                    lines.append(new.statement)
        return "```\n" + "\n".join(lines) + "\n```"

    def _item_rules(self, item: DriftItem) -> frozenset[str]:
        if item.text.startswith(_LIKED):
            task = self._tasks.get(item.request.strip())
            output = item.text.removeprefix(_LIKED).strip()
            followed = self._reader(output, task)
            if followed is None:
                followed = frozenset(task.rules) if task is not None else frozenset()
            return followed
        text = _squash(item.text)
        return frozenset(rid for rid, words in self._words.items() if any(w in text for w in words))

    def _contradictions(self, items: list[DriftItem], rng: random.Random) -> str:
        rules = {i.id: self._item_rules(i) for i in items}
        pairs: list[dict[str, object]] = []
        for newer in (i for i in items if i.new):
            for older in (i for i in items if i.id < newer.id):
                clash = sorted(
                    r for r in rules[newer.id] if self._partner.get(r) in rules[older.id]
                )
                if clash and rng.random() >= self._error:
                    pairs.append({"newer": newer.id, "older": older.id,
                                  "reason": f"asks for the opposite ({clash[0]})"})  # fmt: skip
        news = [i for i in items if i.new]
        if news and rng.random() < self._error:
            newer = rng.choice(news)
            olders = [i for i in items if i.id < newer.id]
            if olders:
                older = rng.choice(olders)
                if not any(p["newer"] == newer.id and p["older"] == older.id for p in pairs):
                    pairs.append({"newer": newer.id, "older": older.id, "reason": "seems opposite"})
        return json.dumps({"contradictions": pairs})

    def _named(self, rule_text: str) -> frozenset[str]:
        low = rule_text.lower()
        return frozenset(r.id for r in self._rules if any(t in low for t in r.triggers_lower))

    def _forget(self, rule_text: str, items: list[DriftItem], rng: random.Random) -> str:
        named = self._named(rule_text)
        about = [i.id for i in items if self._item_rules(i) & named and rng.random() >= self._error]
        return json.dumps({"about": about})

    def _remove(self, rule_text: str, current: str) -> str:
        named = [r for r in self._rules if r.id in self._named(rule_text)]
        kept = [
            line for line in prompt_lines(current) if not any(r.is_stated_in(line) for r in named)
        ]
        return "```\n" + "\n".join(kept) + "\n```"
