"""The `[engine]` table of `config.toml`: how the optimizer searches, per component.

    [engine]                 # every component
    minibatch_size = 4
    [engine.kernel]          # the kernel component only (inherits [engine], then overrides)
    prune_every = 0

Validated like every other key (an unknown key or a bad value names itself); turned into the
engine's own `EngineConfig` by `engine_config_for`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gepa_engine import EngineConfig

__all__ = ["ComponentEngineSettings", "EngineSettings", "engine_config_for"]


class ComponentEngineSettings(BaseModel):
    """The engine knobs a user may set (see docs/engine.md for what each does)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    minibatch_size: Annotated[int, Field(ge=1, le=64)] | None = None
    selection: Literal["pareto", "current_best", "epsilon_greedy"] | None = None
    use_merge: bool | None = None
    max_merges: Annotated[int, Field(ge=0)] | None = None
    max_prompt_chars: Annotated[int, Field(ge=100)] | None = None
    val_fraction: Annotated[float, Field(gt=0, lt=1)] | None = None
    holdout_fraction: Annotated[float, Field(ge=0, lt=1)] | None = None
    restore_dropped: bool | None = None
    prune_every: Annotated[int, Field(ge=0)] | None = None
    prune_tries: Annotated[int, Field(ge=1, le=100)] | None = None
    reflect_on_val: bool | None = None
    prefer_shorter: bool | None = None
    # The verbatim-quote guard: off by default. It compares new lines with the reflection
    # records' input, which in the daemon is the user's own code context.
    quote_guard_chars: Annotated[int, Field(ge=0)] | None = None

    def values(self) -> dict[str, object]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class EngineSettings(ComponentEngineSettings):
    """`[engine]` with its optional `[engine.kernel]` override."""

    kernel: ComponentEngineSettings = Field(default_factory=ComponentEngineSettings)

    @model_validator(mode="after")
    def _no_quote_guard_for_kernels(self) -> EngineSettings:
        # Kernel rules name identifiers (`__shfl_down_sync`) that the context holds verbatim.
        if self.kernel.quote_guard_chars:
            raise ValueError(
                "engine.kernel.quote_guard_chars must stay 0 (kernel rules quote code)"
            )
        return self

    def values(self) -> dict[str, object]:
        out = super().values()
        out.pop("kernel", None)
        return out


def engine_config_for(settings: EngineSettings, component: str) -> EngineConfig:
    """The engine configuration of `component`: the defaults, `[engine]`, then its own table."""
    values = settings.values()
    if component == "kernel":
        values.pop("quote_guard_chars", None)
        values |= settings.kernel.values()
    return EngineConfig(**values)  # type: ignore[arg-type]
