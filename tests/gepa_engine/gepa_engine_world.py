"""A tiny deterministic world for driving the engine in tests.

Each example needs some keywords in the prompt; its score is the share present, its feedback
names the missing ones. The "reflection LLM" appends what the feedback asks for (and, when
asked to, also forgets the first line, so lineages diverge); the "merge LLM" takes the union.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from gepa_engine import (
    Engine,
    EvalOutcome,
    EvalResult,
    Evaluate,
    Event,
    Finished,
    Idle,
    Merge,
    Reflect,
    TextAnswer,
)

COMPONENT = "general"


def lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if ln.strip()]


@dataclass
class World:
    needs: dict[str, tuple[str, ...]]
    noise: float = 0.0
    forget_first: bool = False
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    calls: dict[str, int] = field(default_factory=lambda: {"eval": 0, "reflect": 0, "merge": 0})
    reflect_answer: Callable[[Reflect], str] | None = None
    merge_answer: Callable[[Merge], str] | None = None

    def score(self, prompt: str, ex: str) -> tuple[float, str]:
        need = self.needs[ex]
        if not need:
            return 1.0, "fine"
        missing = [k for k in need if f"use {k}" not in prompt]
        got = len(need) - len(missing)
        if self.noise:
            # Noise depends only on what is asked, never on call order, so a restored engine
            # and an uninterrupted one see identical answers.
            draw = zlib.crc32(f"{prompt}|{ex}".encode()) / 2**32
            if draw < self.noise:
                got = max(0, got - 1)
        feedback = " ".join(f"please use {k}." for k in missing) or "fine"
        return got / len(need), feedback

    def evaluate(self, req: Evaluate) -> EvalResult:
        outs = []
        for ex in req.example_ids:
            self.calls["eval"] += 1
            s, fb = self.score(req.components[COMPONENT], ex)
            outs.append(EvalOutcome(ex, s, fb, f"output for {ex}", f"input of {ex}"))
        return EvalResult(tuple(outs))

    def reflect(self, req: Reflect) -> TextAnswer:
        self.calls["reflect"] += 1
        if self.reflect_answer is not None:
            return TextAnswer(self.reflect_answer(req), cost_usd=0.01, tokens=100)
        current = lines(req.current_text)
        if self.forget_first and len(current) > 1:
            current = current[1:]
        for r in req.records:
            for part in r.feedback.split("."):
                part = part.strip()
                if part.startswith("please use "):
                    line = "use " + part.removeprefix("please use ")
                    if line not in current:
                        current.append(line)
                        break
        return TextAnswer("```\n" + "\n".join(current) + "\n```", cost_usd=0.01, tokens=100)

    def merge(self, req: Merge) -> TextAnswer:
        self.calls["merge"] += 1
        if self.merge_answer is not None:
            return TextAnswer(self.merge_answer(req))
        a = lines(req.text_a)
        merged = a + [ln for ln in lines(req.text_b) if ln not in a]
        return TextAnswer("```\n" + "\n".join(merged) + "\n```")

    def answer(self, req: Evaluate | Reflect | Merge) -> EvalResult | TextAnswer:
        if isinstance(req, Evaluate):
            return self.evaluate(req)
        if isinstance(req, Reflect):
            return self.reflect(req)
        return self.merge(req)


def step(engine: Engine, world: World, now: float = 0.0) -> list[Event] | Idle | Finished:
    req = engine.next_request(now)
    if isinstance(req, (Idle, Finished)):
        return req
    return engine.complete(req.id, world.answer(req), now)


def run(
    engine: Engine, world: World, max_steps: int = 10_000
) -> tuple[list[Event], Idle | Finished]:
    events: list[Event] = []
    for _ in range(max_steps):
        out = step(engine, world)
        if isinstance(out, (Idle, Finished)):
            return events + engine.take_events(), out
        events.extend(out)
    raise AssertionError("the engine did not stop")


def keyword_world(n_keywords: int, n_examples: int, seed: int = 0, **kw: object) -> World:
    rng = random.Random(seed)
    keys = [f"k{i}" for i in range(n_keywords)]
    needs = {f"e{i}": tuple(sorted(rng.sample(keys, rng.randint(1, 2)))) for i in range(n_examples)}
    return World(needs=needs, **kw)  # type: ignore[arg-type]


def example_ids(world: World) -> Iterable[str]:
    return sorted(world.needs, key=lambda e: int(e[1:]))
