"""The optimizer registry: names the benchmark command accepts, resolved lazily.

`gepad` and `greedy` live in `gepad_sim.engine_driver` (the engine's side), `reference` in
`gepad_sim._reference` (needs the `gepa` package). Each is imported only when asked for, so a
missing piece fails that optimizer with a clear message and leaves the others usable.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from gepad_sim._errors import OptimizerUnavailableError
from gepad_sim._harness import Optimizer, RunContext, RunResult, run_optimizer
from gepad_sim._scenario import Scenario

__all__ = ["OPTIMIZER_NAMES", "resolve_optimizer", "run_named", "run_seed"]

OPTIMIZER_NAMES: tuple[str, ...] = (
    "gepad",
    "greedy",
    "reference",
    "seed",
    # Ablations of gepad, for RESULTS.md: one mechanism switched off each.
    "gepad-mb3",
    "gepad-noguard",
    "gepad-nomerge",
    "gepad-noholdout",
    "gepad-noprune",
    "gepad-norestore",
    "gepad-noval",
    "gepad-withguard",
)

_ENGINE_DRIVER = "gepad_sim.engine_driver"


def run_seed(ctx: RunContext) -> str:
    """No optimisation: score the seed prompt once on validation (counted) and keep it."""
    prompt = ctx.scenario.seed_prompt
    outcomes = ctx.lms.run_tasks(prompt, ctx.val)
    ctx.report_best(prompt, sum(o.score for o in outcomes) / len(outcomes))
    return prompt


def _import_optional(module: str, what: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        # Only the module itself being absent means "not available"; a broken import inside it
        # is a bug that should surface with its own traceback.
        if exc.name is not None and (exc.name == module or module.startswith(exc.name + ".")):
            raise OptimizerUnavailableError(what) from exc
        raise


def _engine_function(name: str, function: str) -> Optimizer:
    module = _import_optional(
        _ENGINE_DRIVER,
        f"optimizer {name!r} needs bench/gepad_sim/engine_driver.py with {function}(ctx) -> str, "
        "which does not exist yet",
    )
    fn = getattr(module, function, None)
    if not callable(fn):
        raise OptimizerUnavailableError(
            f"optimizer {name!r}: {_ENGINE_DRIVER} has no function {function}(ctx) -> str"
        )
    return fn  # type: ignore[no-any-return]


def resolve_optimizer(name: str) -> Optimizer:
    """The optimizer function registered under `name`."""
    if name == "seed":
        return run_seed
    if name == "gepad":
        return _engine_function(name, "run_gepad")
    if name == "greedy":
        return _engine_function(name, "run_greedy")
    if name.startswith("gepad-no") or name in ("gepad-withguard", "gepad-mb3"):
        return _engine_function(name, "run_" + name.replace("-", "_"))
    if name == "reference":
        try:
            importlib.import_module("gepa")
        except ModuleNotFoundError as exc:
            raise OptimizerUnavailableError(
                "optimizer 'reference' needs the reference package gepa==0.1.4 "
                "(pip install -e '.[bench]')"
            ) from exc
        module = importlib.import_module("gepad_sim._reference")
        return module.run_reference  # type: ignore[no-any-return]
    known = ", ".join(OPTIMIZER_NAMES)
    raise OptimizerUnavailableError(f"unknown optimizer {name!r} (known: {known})")


def run_named(
    scenario: Scenario, optimizer: str, *, seed: int, budget: int, online: bool = False
) -> RunResult:
    """Resolve `optimizer` by name and run it once (picklable entry point for worker processes)."""
    return run_optimizer(
        scenario,
        resolve_optimizer(optimizer),
        name=optimizer,
        seed=seed,
        budget=budget,
        online=online,
    )
