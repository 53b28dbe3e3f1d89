"""The `gepad` and `greedy` optimizers: gepa_engine driven over the simulated LMs.

This is the whole of what a caller of the engine does: perform each request and hand back the
answer. The simulated reflection and merge LMs return bare text; a real LLM is asked (by the
engine's templates) for a fenced block, so the driver wraps the text the same way and the
engine's parser does its normal work.
"""

from __future__ import annotations

from gepa_engine import (
    Engine,
    EngineConfig,
    EvalOutcome,
    EvalResult,
    Evaluate,
    ExampleSpec,
    Finished,
    Idle,
    MaxRollouts,
    Merge,
    Reflect,
    TextAnswer,
)
from gepad_sim import Record, RunContext
from gepad_sim._online import Arrival

__all__ = [
    "GEPAD_CONFIG",
    "GREEDY_CONFIG",
    "drive",
    "run_gepad",
    "run_gepad_mb3",
    "run_gepad_noguard",
    "run_gepad_noholdout",
    "run_gepad_nomerge",
    "run_gepad_noprune",
    "run_gepad_norestore",
    "run_gepad_noval",
    "run_gepad_withguard",
    "run_greedy",
]

COMPONENT = "prompt"
GEPAD_CONFIG = EngineConfig()
GREEDY_CONFIG = EngineConfig(selection="current_best")
# Ablations: one mechanism switched off (or, for the quote guard, back on) each.
NOGUARD_CONFIG = EngineConfig(quote_guard_chars=0)
WITHGUARD_CONFIG = EngineConfig(quote_guard_chars=24)
NOMERGE_CONFIG = EngineConfig(use_merge=False)
NOHOLDOUT_CONFIG = EngineConfig(holdout_fraction=0.0)
NOPRUNE_CONFIG = EngineConfig(prune_every=0)
NORESTORE_CONFIG = EngineConfig(restore_dropped=False)
NOVAL_CONFIG = EngineConfig(reflect_on_val=False)
MB3_CONFIG = EngineConfig(minibatch_size=3)


def _fenced(text: str) -> str:
    return f"```\n{text}\n```"


def drive(ctx: RunContext, config: EngineConfig) -> Engine:
    """Run the engine until its rollout budget is spent or it has nothing left to do.

    In an online run (`ctx.online`) new tasks arrive while it runs: they are added to the
    engine as they come, and an idle engine waits for the next ones (`ctx.advance`).
    """
    tasks = {t.id: t for t in (*ctx.train, *ctx.val)}
    engine = Engine.start(
        {COMPONENT: ctx.scenario.seed_prompt},
        seed=ctx.seed,
        config=config,
        stop=MaxRollouts(ctx.budget),
    )
    engine.add_examples(
        [ExampleSpec(t.id, "train") for t in ctx.train]
        + [ExampleSpec(t.id, "val") for t in ctx.val]
    )
    reported: str | None = None

    def add(arrived: list[Arrival]) -> None:
        for a in arrived:
            tasks[a.task.id] = a.task
        if arrived:
            engine.add_examples(
                [ExampleSpec(a.task.id, "train" if a.split == "train" else "val") for a in arrived]
            )

    while True:
        add(ctx.arrivals())
        request = engine.next_request()
        if isinstance(request, (Idle, Finished)):
            # Online, an engine with nothing to do waits for the user's next examples.
            waited = ctx.advance() if ctx.online and ctx.rollouts_left > 0 else []
            if not waited:
                break
            add(waited)
            continue
        if isinstance(request, Evaluate):
            prompt = request.components[COMPONENT]
            outcomes = []
            for ex in request.example_ids:
                o = ctx.lms.run_task(prompt, tasks[ex])
                outcomes.append(EvalOutcome(ex, o.score, o.feedback, o.output, o.input))
            engine.complete(request.id, EvalResult(tuple(outcomes)))
        elif isinstance(request, Reflect):
            records = [Record(r.input, r.output, r.feedback) for r in request.records]
            text = ctx.lms.reflect(request.current_text, records)
            engine.complete(request.id, TextAnswer(_fenced(text)))
        elif isinstance(request, Merge):
            text = ctx.lms.merge(request.text_a, request.text_b)
            engine.complete(request.id, TextAnswer(_fenced(text)))
        best = engine.best
        val_mean = engine.mean_val(best.id)
        if best.id != reported and val_mean is not None and not engine.is_pending_full(best.id):
            ctx.report_best(best.components[COMPONENT], val_mean)
            reported = best.id
    return engine


def run_gepad(ctx: RunContext) -> str:
    return drive(ctx, GEPAD_CONFIG).best.components[COMPONENT]


def run_gepad_mb3(ctx: RunContext) -> str:
    return drive(ctx, MB3_CONFIG).best.components[COMPONENT]


def run_greedy(ctx: RunContext) -> str:
    return drive(ctx, GREEDY_CONFIG).best.components[COMPONENT]


def run_gepad_noguard(ctx: RunContext) -> str:
    return drive(ctx, NOGUARD_CONFIG).best.components[COMPONENT]


def run_gepad_nomerge(ctx: RunContext) -> str:
    return drive(ctx, NOMERGE_CONFIG).best.components[COMPONENT]


def run_gepad_noholdout(ctx: RunContext) -> str:
    return drive(ctx, NOHOLDOUT_CONFIG).best.components[COMPONENT]


def run_gepad_noprune(ctx: RunContext) -> str:
    return drive(ctx, NOPRUNE_CONFIG).best.components[COMPONENT]


def run_gepad_norestore(ctx: RunContext) -> str:
    return drive(ctx, NORESTORE_CONFIG).best.components[COMPONENT]


def run_gepad_noval(ctx: RunContext) -> str:
    return drive(ctx, NOVAL_CONFIG).best.components[COMPONENT]


def run_gepad_withguard(ctx: RunContext) -> str:
    return drive(ctx, WITHGUARD_CONFIG).best.components[COMPONENT]
