"""The [engine] and [engine.kernel] tables: validated like every key, applied per component."""

from __future__ import annotations

from pathlib import Path

import pytest

from gepa_engine import EngineConfig
from gepad.config import Config, load_config
from gepad.engine_settings import engine_config_for
from gepad.errors import ConfigError
from gepad.paths import resolve_paths


def _load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> Config:
    paths = resolve_paths({"GEPAD_HOME": str(tmp_path)})
    paths.config_file.write_text(text)
    return load_config(paths, env or {})


def test_defaults_are_the_engine_defaults_for_every_component(tmp_path: Path) -> None:
    config = _load(tmp_path, "")
    for component in ("general", "kernel"):
        assert engine_config_for(config.engine, component) == EngineConfig()


def test_engine_table_applies_everywhere_and_kernel_table_only_to_kernel(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        "[engine]\nminibatch_size = 4\nquote_guard_chars = 30\n"
        '[engine.kernel]\nprune_every = 0\nselection = "current_best"\n',
    )
    general = engine_config_for(config.engine, "general")
    kernel = engine_config_for(config.engine, "kernel")
    assert general.minibatch_size == 4 and general.prune_every == EngineConfig().prune_every
    assert general.quote_guard_chars == 30
    assert kernel.minibatch_size == 4 and kernel.prune_every == 0
    assert kernel.selection == "current_best"
    # Kernel rules name code identifiers the context holds verbatim: never quote-guarded.
    assert kernel.quote_guard_chars == 0


def test_environment_overrides_the_engine_table(tmp_path: Path) -> None:
    config = _load(tmp_path, "", {"GEPAD_ENGINE": '{"prune_tries": 5}'})
    assert engine_config_for(config.engine, "general").prune_tries == 5


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[engine]\nminibatch = 3\n", "minibatch"),
        ("[engine]\nminibatch_size = 0\n", "minibatch_size"),
        ('[engine]\nselection = "random"\n', "selection"),
        ("[engine.kernel]\nquote_guard_chars = 24\n", "quote_guard_chars"),
    ],
)
def test_bad_engine_keys_name_the_key_and_the_file(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, text)
    assert named in str(err.value) and "config.toml" in str(err.value)
