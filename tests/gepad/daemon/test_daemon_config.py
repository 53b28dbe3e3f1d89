"""Paths and config: GEPAD_HOME layout, defaults, TOML, env overrides, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from gepad.config import DEFAULT_MODEL, Config, load_config
from gepad.errors import ConfigError
from gepad.paths import resolve_paths


def test_gepad_home_puts_every_file_under_it(tmp_path: Path) -> None:
    p = resolve_paths({"GEPAD_HOME": str(tmp_path)})
    assert p.home == tmp_path
    assert p.config_file == tmp_path / "config.toml"
    assert p.db_file == tmp_path / "data" / "gepad.db"
    assert p.log_file == tmp_path / "logs" / "gepad.log"
    assert p.runtime_dir == tmp_path / "run"
    assert p.discovery_file == tmp_path / "run" / "daemon.json"
    assert p.token_file == tmp_path / "run" / "token"
    assert p.lock_file == tmp_path / "run" / "daemon.lock"
    assert p.spool_dir == tmp_path / "spool"
    assert not tmp_path.joinpath("run").exists(), "resolving paths must create nothing"


def test_without_gepad_home_platform_dirs_are_used(tmp_path: Path) -> None:
    env = {"XDG_RUNTIME_DIR": str(tmp_path), "HOME": str(tmp_path)}
    p = resolve_paths(env)
    assert p.home is None
    assert p.config_file.name == "config.toml" and "gepad" in p.config_file.parts
    assert p.db_file.name == "gepad.db" and "gepad" in p.db_file.parts
    assert p.runtime_dir == tmp_path / "gepad"


def test_defaults_without_file_or_env(tmp_path: Path) -> None:
    c = load_config(resolve_paths({"GEPAD_HOME": str(tmp_path)}), {})
    assert (c.host, c.port, c.allow_non_loopback, c.allowed_origins) == (
        "127.0.0.1",
        7453,
        False,
        (),
    )
    assert (c.max_connections, c.max_message_bytes) == (64, 1_048_576)
    assert (c.swap_policy, c.dedupe_window_s, c.log_level) == ("auto", 5.0, "INFO")
    assert c.task_model == c.reflection_model == DEFAULT_MODEL
    assert c.judge_model is None and c.effective_judge_model == DEFAULT_MODEL
    assert (c.api_base, c.model_params) == (None, {})
    assert (c.daily_budget_usd, c.daily_budget_tokens) == (1.0, 2_000_000)
    assert (c.redact, c.cache) == ("auto", "auto")
    assert (c.optimize_after_examples, c.optimize_every_minutes) == (5, 30.0)
    assert (c.llm_timeout_s, c.llm_concurrency) == (60.0, 4)


def test_file_values_and_env_overrides(tmp_path: Path) -> None:
    paths = resolve_paths({"GEPAD_HOME": str(tmp_path)})
    paths.config_file.write_text(
        'port = 9000\nswap_policy = "review"\nallowed_origins = ["vscode-webview://x"]\n'
        'task_model = "openai/gpt-4o-mini"\nlog_level = "debug"\n'
        '[model_params."openai/gpt-4o-mini"]\ntemperature = 0.2\n'
    )
    env = {
        "GEPAD_PORT": "0",
        "GEPAD_MAX_CONNECTIONS": "8",
        "GEPAD_ALLOW_NON_LOOPBACK": "true",
        "GEPAD_API_BASE": "http://127.0.0.1:11434",
        "GEPAD_HOME": str(tmp_path),  # not a config key: ignored by the model
    }
    c = load_config(paths, env)
    assert c.port == 0 and c.max_connections == 8 and c.allow_non_loopback is True
    assert c.swap_policy == "review" and c.allowed_origins == ("vscode-webview://x",)
    assert c.log_level == "DEBUG"
    # reflection_model follows a user-set task_model unless it is set itself
    assert c.task_model == c.reflection_model == "openai/gpt-4o-mini"
    assert c.model_params == {"openai/gpt-4o-mini": {"temperature": 0.2}}
    assert c.api_base == "http://127.0.0.1:11434"


def test_textual_env_values_are_not_json_decoded(tmp_path: Path) -> None:
    paths = resolve_paths({"GEPAD_HOME": str(tmp_path)})
    c = load_config(paths, {"GEPAD_TASK_MODEL": "123", "GEPAD_HOST": "::1"})
    assert c.task_model == "123" and c.host == "::1"


def test_unknown_key_names_the_key_and_the_file(tmp_path: Path) -> None:
    paths = resolve_paths({"GEPAD_HOME": str(tmp_path)})
    paths.config_file.write_text("prot = 1\n")
    with pytest.raises(ConfigError) as err:
        load_config(paths, {})
    assert "'prot'" in str(err.value) and str(paths.config_file) in str(err.value)


def test_bad_value_in_file_names_key_and_file(tmp_path: Path) -> None:
    paths = resolve_paths({"GEPAD_HOME": str(tmp_path)})
    paths.config_file.write_text("port = 70000\n")
    with pytest.raises(ConfigError) as err:
        load_config(paths, {})
    assert "'port'" in str(err.value) and str(paths.config_file) in str(err.value)
    assert "70000" in str(err.value)


@pytest.mark.parametrize(
    ("name", "value", "key"),
    [
        ("GEPAD_SWAP_POLICY", "sometimes", "swap_policy"),
        ("GEPAD_MAX_CONNECTIONS", "lots", "max_connections"),
        ("GEPAD_ALLOWED_ORIGINS", '"http://a"', "allowed_origins"),
        ("GEPAD_LOG_LEVEL", "LOUD", "log_level"),
        ("GEPAD_REDACT", "maybe", "redact"),
        ("GEPAD_LLM_CONCURRENCY", "0", "llm_concurrency"),
    ],
)
def test_bad_env_value_names_the_variable(tmp_path: Path, name: str, value: str, key: str) -> None:
    paths = resolve_paths({"GEPAD_HOME": str(tmp_path)})
    with pytest.raises(ConfigError) as err:
        load_config(paths, {name: value})
    message = str(err.value)
    assert f"environment variable {name}" in message and f"'{key}'" in message
    assert str(paths.config_file) not in message


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    paths = resolve_paths({"GEPAD_HOME": str(tmp_path)})
    paths.config_file.write_text("port = = 3\n")
    with pytest.raises(ConfigError, match=r"config\.toml: invalid TOML"):
        load_config(paths, {})


def test_config_is_frozen(tmp_path: Path) -> None:
    c = load_config(resolve_paths({"GEPAD_HOME": str(tmp_path)}), {})
    with pytest.raises(ValidationError):
        c.port = 1  # type: ignore[misc]
    assert isinstance(c, Config)
