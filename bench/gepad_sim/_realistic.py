"""The realistic simulated user: how real users teach and how real reflection LMs rewrite.

Selected by `[sim] mode = "realistic"` (keys in `_realistic_spec.py`). The interface is the v1
`SimLMs`' (`run_task`, `run_tasks`, `reflect`, `merge`), so every optimizer drives it the same
way. Normative semantics, all draws from one `random.Random(seed)` in the order written:

**Task LM** (`run_task(prompt, task)`). A rule is *stated* when a prompt line holds one of its
triggers (case-insensitive); a rule with `scope_triggers` is stated *scoped* when such a line
also holds a scope trigger, else *unscoped*. An *over-specific note* is a line this user's
reflection LM wrote about one task's subject (the simulator keeps the exact lines it wrote; no
optimizer may recognise them by form). Then
`p_fail = comply_noise + line_penalty * max(0, lines - max_useful_lines) + overfit_penalty *
(notes about other tasks)`, and 0 when a note about this very task is present. For each rule of
the task in order: it is followed iff it is stated and `rng.random() >= p_fail` and, when the
rule it conflicts with is stated unscoped, `rng.random() >= conflict_penalty`. The score is the
share followed. For each missed rule the user complains, vaguely with probability `vague_prob`
(a random `vague_complaints` entry) and otherwise with a random choice among `feedback` and
`phrasings`; no missed rule gives a random "looks right" reply. The output is an opaque
`[answer HEX]` token: the reflection LM "reads the code" through it (a registry of what each
answer missed), no optimizer can. The token is derived from the request itself (this user's
seed, the prompt, the task and how many identical requests came before), never from the order
requests arrive in, and it draws nothing from the random stream: a server answering several
requests at once gives the same tokens, and so the same later prompts, on every run.

**Reflection LM** (`reflect(text, records)`), a full rewrite:
1. Forgetting: each existing line is dropped with probability
   `min(forget_max, forget_base + forget_per_line * lines)`.
2. For each record, for each rule its answer missed: when the missed rule's conflicting rule is
   stated unscoped in the draft, with probability `rescope_prob` that line is replaced by the
   conflicting rule's scoped statement. Then, if the missed rule is not stated in the draft, it
   is extracted with probability `extract_prob` (a specific complaint) or `vague_extract_prob`
   (a vague one): a rule with a scope is written scoped with probability `scope_prob` and
   unscoped otherwise.
3. With probability `note_prob` (when there are records) a note about a random record's task
   subject is appended, in one of several free wordings.

**Merge LM** (`merge(a, b)`): A's lines, then B's lines not in A, each dropped with half the
forgetting probability; then, for every pair of conflicting rules both stated unscoped, with
probability `rescope_prob` both lines are replaced by their scoped statements.

**Flips** (a rule with `flips_to`, `_flip.py`): the two rules of a flip pair contradict each
other. In the task LM a rule whose flip partner is stated too is followed only if, after the
checks above, `rng.random() < 0.5` (the model follows one of the two contradictory lines). In the
reflection LM, for a missed rule whose flip partner is stated in the draft, with probability
`replace_prob` the partner's lines are dropped (the rewrite replaces the old rule) before the
extraction step; otherwise both stay. Tasks name old rules only; what the user asks for after the
flip (new rule, in its `feedback` or `phrasings`, vaguely with `vague_prob`) comes from the task
the flip swapped (`flip_task`), so old examples keep asking for the old rule.

Attainable: every rule stated (scoped where it has a scope), at most `max_useful_lines` lines and
no notes, leaving only `comply_noise`: `1 - comply_noise`.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gepad_sim._errors import SimError
from gepad_sim._flip import flip_partners
from gepad_sim._lms import Record, TaskOutcome
from gepad_sim._prompt import prompt_lines
from gepad_sim._realistic_spec import RealisticSpec, RuleExtras
from gepad_sim._scenario import Rule, Scenario, Task

__all__ = ["LOOKS_RIGHT_REPLIES", "NOTE_TEMPLATES", "RealisticLMs"]

LOOKS_RIGHT_REPLIES: tuple[str, ...] = ("Looks right to me.", "Fine, thanks.", "Good.")

NOTE_TEMPLATES: tuple[str, ...] = (
    "When working on the {subject}, remember to handle the edge cases.",
    "For anything like the {subject}, double-check the inputs first.",
    "Take extra care with the {subject}.",
    "If the request is about the {subject}, be careful about None values.",
    "Regarding the {subject}: validate everything before returning.",
)

_VIEW_CACHE_LIMIT = 4096
_ANSWER_LIMIT = 20000


@dataclass(frozen=True, slots=True)
class _View:
    n_lines: int
    stated: frozenset[str]
    unscoped: frozenset[str]
    notes_for: tuple[str, ...]  # task ids, one per note line


class RealisticLMs:
    """The realistic user's task, reflection and merge LMs, on one seeded random stream."""

    def __init__(self, scenario: Scenario, seed: int) -> None:
        if scenario.realistic is None:
            raise SimError(f"scenario {scenario.name!r} is not a realistic one")
        self._rng = random.Random(seed)
        self._seed = seed
        self._asked: Counter[bytes] = Counter()  # identical (prompt, task) requests so far
        self._sim = scenario.sim
        self._spec: RealisticSpec = scenario.realistic
        self._p = scenario.realistic.params
        self._rules: tuple[Rule, ...] = scenario.rules
        self._by_id = {r.id: r for r in scenario.rules}
        self._extras = {r.id: self._spec.rules.get(r.id, RuleExtras()) for r in scenario.rules}
        self._flip_partner = flip_partners(scenario)
        self._subjects = dict(self._spec.subjects)
        self._task_by_input = {t.input: t.id for t in scenario.tasks}
        self._notes: dict[str, str] = {}  # note line -> task id
        self._answers: dict[str, tuple[str, ...]] = {}  # answer token -> missed rule ids
        self._vague: dict[str, frozenset[str]] = {}  # answer token -> vaguely complained rules
        self._views: dict[str, _View] = {}
        self._rollouts = self._reflection_calls = self._merge_calls = self._answer_no = 0

    @property
    def rollouts(self) -> int:
        return self._rollouts

    @property
    def reflection_calls(self) -> int:
        return self._reflection_calls

    @property
    def merge_calls(self) -> int:
        return self._merge_calls

    def is_note(self, line: str) -> bool:
        """Whether the simulator's reflection LM wrote `line` as an over-specific note."""
        return line.strip() in self._notes

    # -- reading a prompt ------------------------------------------------------------------

    def _stated_in(self, lines: Sequence[str]) -> tuple[frozenset[str], frozenset[str]]:
        stated: set[str] = set()
        scoped: set[str] = set()
        lowered = [line.lower() for line in lines]
        for rule in self._rules:
            scope = [s.lower() for s in self._extras[rule.id].scope_triggers]
            for low in lowered:
                if any(t in low for t in rule.triggers_lower):
                    stated.add(rule.id)
                    if not scope or any(s in low for s in scope):
                        scoped.add(rule.id)
        return frozenset(stated), frozenset(stated - scoped)

    def _view(self, prompt: str) -> _View:
        view = self._views.get(prompt)
        if view is None:
            lines = prompt_lines(prompt)
            stated, unscoped = self._stated_in(lines)
            notes = tuple(self._notes[line] for line in lines if line in self._notes)
            view = _View(len(lines), stated, unscoped, notes)
            if len(self._views) >= _VIEW_CACHE_LIMIT:
                self._views.clear()
            self._views[prompt] = view
        return view

    # -- task LM ---------------------------------------------------------------------------

    def run_task(self, prompt: str, task: Task) -> TaskOutcome:
        self._rollouts += 1
        return self._task(prompt, task)

    def run_tasks(self, prompt: str, tasks: Iterable[Task]) -> list[TaskOutcome]:
        return [self.run_task(prompt, t) for t in tasks]

    def score_with(self, rng: random.Random, prompt: str, tasks: Sequence[Task]) -> float:
        """Mean score of `prompt` on `tasks` drawn from `rng`: uncounted, stream untouched."""
        saved, self._rng = self._rng, rng
        try:
            return sum(self._task(prompt, t).score for t in tasks) / len(tasks)
        finally:
            self._rng = saved

    def _uncounted_mean(self, prompt: str, tasks: Sequence[Task], repeats: int) -> float:
        total = 0.0
        for _ in range(repeats):
            for t in tasks:
                total += self._task(prompt, t).score
        return total / (repeats * len(tasks))

    def _task(self, prompt: str, task: Task) -> TaskOutcome:
        sim, p, rng = self._sim, self._p, self._rng
        view = self._view(prompt)
        if task.id in view.notes_for:
            p_fail = 0.0
        else:
            others = sum(1 for t in view.notes_for if t != task.id)
            p_fail = min(
                1.0,
                sim.comply_noise
                + sim.line_penalty * max(0, view.n_lines - sim.max_useful_lines)
                + sim.overfit_penalty * others,
            )
        followed: list[str] = []
        missed: list[str] = []
        for rid in task.rules:
            if rid not in self._by_id:
                raise SimError(f"task {task.id!r} names rule {rid!r}, which the scenario lacks")
            ok = rid in view.stated and rng.random() >= p_fail
            rival = self._rival_of(rid)
            if ok and rival is not None and rival in view.unscoped:
                ok = rng.random() >= p.conflict_penalty
            partner = self._flip_partner.get(rid)
            if ok and partner is not None and partner in view.stated:
                ok = rng.random() < 0.5
            (followed if ok else missed).append(rid)
        score = len(followed) / len(task.rules) if task.rules else 1.0
        complaints: list[str] = []
        vague: set[str] = set()
        for rid in missed:
            if rng.random() < p.vague_prob:
                complaints.append(rng.choice(self._spec.vague_complaints))
                vague.add(rid)
            else:
                rule = self._by_id[rid]
                complaints.append(rng.choice((rule.feedback, *self._extras[rid].phrasings)))
        feedback = " ".join(complaints) if complaints else rng.choice(LOOKS_RIGHT_REPLIES)
        token = self._remember(prompt, task.id, tuple(missed), frozenset(vague))
        return TaskOutcome(
            task_id=task.id,
            input=task.input,
            score=score,
            output=token,
            feedback=feedback,
            followed=tuple(followed),
            missed=tuple(missed),
        )

    def _rival_of(self, rid: str) -> str | None:
        """The rule that, stated unscoped, breaks `rid`'s tasks."""
        for other, extra in self._extras.items():
            if extra.conflicts_with == rid and extra.scope_triggers:
                return other
        return None

    def _remember(
        self, prompt: str, task_id: str, missed: tuple[str, ...], vague: frozenset[str]
    ) -> str:
        self._answer_no += 1
        key = hashlib.sha256(
            json.dumps([self._seed, prompt, task_id], ensure_ascii=False).encode("utf-8")
        ).digest()
        occurrence = self._asked[key]
        self._asked[key] += 1
        digest = hashlib.sha256(key + occurrence.to_bytes(8, "big")).hexdigest()
        token = f"[answer {digest[:16]}]"
        if len(self._answers) >= _ANSWER_LIMIT:
            self._answers.clear()
            self._vague.clear()
        self._answers[token] = missed
        self._vague[token] = vague
        return token

    # -- reflection LM ---------------------------------------------------------------------

    def _forget(self, lines: list[str], scale: float = 1.0) -> list[str]:
        p = self._p
        drop = scale * min(p.forget_max, p.forget_base + p.forget_per_line * len(lines))
        return [line for line in lines if self._rng.random() >= drop]

    def _statement(self, rule: Rule) -> str:
        extra = self._extras[rule.id]
        if (
            extra.scope_triggers
            and extra.unscoped_statement is not None
            and self._rng.random() >= self._p.scope_prob
        ):
            return extra.unscoped_statement
        return rule.statement

    def _rescope(self, out: list[str], rid: str) -> None:
        """Replace `rid`'s unscoped lines in `out` by its scoped statement."""
        rule = self._by_id[rid]
        scope = [s.lower() for s in self._extras[rid].scope_triggers]
        for i, line in enumerate(out):
            low = line.lower()
            if any(t in low for t in rule.triggers_lower) and not any(s in low for s in scope):
                out[i] = rule.statement

    def _drop_rule(self, out: list[str], rid: str) -> list[str]:
        """`out` without the lines that state `rid`."""
        return [line for line in out if not self._by_id[rid].is_stated_in(line)]

    def reflect(self, text: str, records: Sequence[Record]) -> str:
        self._reflection_calls += 1
        rng, p = self._rng, self._p
        out = self._forget(prompt_lines(text))
        for record in records:
            missed = self._answers.get(record.output, ())
            vague = self._vague.get(record.output, frozenset())
            for rid in missed:
                rival = self._rival_of(rid)
                if (
                    rival is not None
                    and rival in self._stated_in(out)[1]
                    and rng.random() < p.rescope_prob
                ):
                    self._rescope(out, rival)
                partner = self._flip_partner.get(rid)
                if (
                    partner is not None
                    and partner in self._stated_in(out)[0]
                    and rng.random() < p.replace_prob
                ):
                    out = self._drop_rule(out, partner)
                if rid in self._stated_in(out)[0]:
                    continue
                chance = p.vague_extract_prob if rid in vague else self._sim.extract_prob
                if rng.random() < chance:
                    out.append(self._statement(self._by_id[rid]))
        if records and rng.random() < p.note_prob:
            record = rng.choice(list(records))
            task_id = self._task_id_of(record)
            if task_id is not None:
                template = rng.choice(NOTE_TEMPLATES)
                note = template.format(subject=self._subjects.get(task_id, "this task"))
                self._notes[note] = task_id
                if note not in out:
                    out.append(note)
        return "\n".join(out)

    def _task_id_of(self, record: Record) -> str | None:
        return self._task_by_input.get(record.input)

    # -- merge LM --------------------------------------------------------------------------

    def merge(self, a: str, b: str) -> str:
        self._merge_calls += 1
        lines_a = prompt_lines(a)
        in_a = set(lines_a)
        combined = self._forget(
            lines_a + [line for line in prompt_lines(b) if line not in in_a], scale=0.5
        )
        unscoped = self._stated_in(combined)[1]
        for rid in sorted(unscoped):
            rival = self._extras[rid].conflicts_with
            if (
                rival is not None
                and rival in unscoped
                and rid < rival
                and self._rng.random() < self._p.rescope_prob
            ):
                self._rescope(combined, rid)
                self._rescope(combined, rival)
        return "\n".join(dict.fromkeys(combined))
