"""The `[engine]` table of `config.toml` turned into the engine's own configuration.

    [engine]                 # every component
    minibatch_size = 4
    [engine.kernel]          # the kernel component only (inherits [engine], then overrides)
    prune_every = 0

The table is validated with the rest of the configuration (`gepad.config.EngineSettings`); this
module is apart so that reading the configuration (the CLI, the language server) does not load
the engine.
"""

from __future__ import annotations

from gepa_engine import EngineConfig
from gepad.config import EngineSettings

__all__ = ["engine_config_for"]


def engine_config_for(settings: EngineSettings, component: str) -> EngineConfig:
    """The engine configuration of `component`: the defaults, `[engine]`, then its own table."""
    values = settings.values()
    if component == "kernel":
        values.pop("quote_guard_chars", None)
        values |= settings.kernel.values()
    return EngineConfig(**values)  # type: ignore[arg-type]
