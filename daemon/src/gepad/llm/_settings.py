"""The LLM client's settings: an explicit, validated, immutable value."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from gepad.errors import ConfigError

from ._locality import REDACT_MODES, RedactMode, is_local_model
from ._redact import is_secret_name
from ._types import PURPOSES

CacheMode = Literal["auto", "always", "never"]
CACHE_MODES: tuple[str, ...] = ("auto", "always", "never")
DEFAULT_MODEL = "ollama/qwen2.5-coder:7b"
# Answer caps per purpose: without one, a small model decoding greedily can loop for thousands
# of tokens. "probe" is the tiny completion that checks a model answers at all.
MAX_TOKENS_KEYS: tuple[str, ...] = (*PURPOSES, "probe")
DEFAULT_MAX_TOKENS: Mapping[str, int] = MappingProxyType(
    {"task": 1024, "reflection": 1024, "merge": 1024, "judge": 256, "assist": 1024, "probe": 8}
)

# Call arguments the client owns; a per-model parameter may not override them.
_RESERVED_PARAMS = frozenset(
    {"model", "messages", "stream", "timeout", "num_retries", "max_retries", "api_key"}
)


def _freeze(value: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Mapping[str, Any]]:
    return MappingProxyType({k: MappingProxyType(dict(v)) for k, v in value.items()})


@dataclass(frozen=True, slots=True)
class LlmSettings:
    """Models per purpose, endpoint and call policy. Build with `from_config` in the daemon.

    `judge_model` and `merge_model` default to the reflection model, `assist_model` to the
    task model. `model_params` maps a model name to extra litellm arguments for that model
    (e.g. `{"api_base": ..., "drop_params": true}`); an `api_base` there overrides the global
    one for that model. API keys never come from here: litellm reads its usual environment
    variables (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`, ...).
    """

    task_model: str = DEFAULT_MODEL
    reflection_model: str = DEFAULT_MODEL
    judge_model: str | None = None
    merge_model: str | None = None
    assist_model: str | None = None
    api_base: str | None = None
    model_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    timeout_s: float = 60.0
    concurrency: int = 4
    max_retries: int = 3
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    breaker_threshold: int = 5
    breaker_cooldown_s: float = 60.0
    redact: RedactMode = "auto"
    cache: CacheMode = "auto"
    max_tokens: Mapping[str, int] = field(default_factory=dict)
    stream: bool = False
    stall_timeout_s: float = 30.0
    retry_temperature: float = 0.7

    def __post_init__(self) -> None:
        for name in ("task_model", "reflection_model"):
            _check_model(name, getattr(self, name))
        for name in ("judge_model", "merge_model", "assist_model"):
            if getattr(self, name) is not None:
                _check_model(name, getattr(self, name))
        if self.api_base is not None and (not isinstance(self.api_base, str) or not self.api_base):
            raise ConfigError(
                f"llm setting 'api_base' must be a URL string or null, got {self.api_base!r}"
            )
        _check_number("timeout_s", self.timeout_s, minimum=0.001)
        _check_int("concurrency", self.concurrency, minimum=1)
        _check_int("max_retries", self.max_retries, minimum=0)
        _check_number("backoff_base_s", self.backoff_base_s, minimum=0.0)
        _check_number("backoff_max_s", self.backoff_max_s, minimum=0.0)
        if self.backoff_base_s > self.backoff_max_s:
            raise ConfigError(
                f"llm setting 'backoff_base_s' ({self.backoff_base_s}) must not exceed "
                f"'backoff_max_s' ({self.backoff_max_s})"
            )
        _check_int("breaker_threshold", self.breaker_threshold, minimum=1)
        _check_number("breaker_cooldown_s", self.breaker_cooldown_s, minimum=0.0)
        if self.redact not in REDACT_MODES:
            raise ConfigError(
                f"llm setting 'redact' must be one of {', '.join(REDACT_MODES)}; "
                f"got {self.redact!r}"
            )
        if self.cache not in CACHE_MODES:
            raise ConfigError(
                f"llm setting 'cache' must be one of {', '.join(CACHE_MODES)}; got {self.cache!r}"
            )
        object.__setattr__(self, "model_params", _freeze(_check_model_params(self.model_params)))
        object.__setattr__(self, "max_tokens", _check_max_tokens(self.max_tokens))
        if not isinstance(self.stream, bool):
            raise ConfigError(f"llm setting 'stream' must be true or false, got {self.stream!r}")
        _check_number("stall_timeout_s", self.stall_timeout_s, minimum=0.001)
        _check_number("retry_temperature", self.retry_temperature, minimum=0.0)
        if self.retry_temperature > 2:
            raise ConfigError(
                f"llm setting 'retry_temperature' must be <= 2, got {self.retry_temperature!r}"
            )

    @classmethod
    def from_config(cls, config: Any, **overrides: Any) -> LlmSettings:
        """Read the daemon config's keys (`task_model`, `reflection_model`, `judge_model`,
        `api_base`, `model_params`, `redact`, `llm_timeout_s`, `llm_concurrency`, `cache`,
        `llm_max_retries`, `llm_backoff_base_s`, `llm_backoff_max_s`, `llm_breaker_threshold`,
        `llm_breaker_cooldown_s`, `llm_max_tokens`, `llm_stream`, `llm_stall_timeout_s`,
        `llm_retry_temperature`).

        Any attribute the config lacks keeps its default; `overrides` win over both.
        """
        mapping = {
            "task_model": "task_model",
            "reflection_model": "reflection_model",
            "judge_model": "judge_model",
            "merge_model": "merge_model",
            "assist_model": "assist_model",
            "api_base": "api_base",
            "model_params": "model_params",
            "redact": "redact",
            "cache": "cache",
            "timeout_s": "llm_timeout_s",
            "concurrency": "llm_concurrency",
            "max_retries": "llm_max_retries",
            "backoff_base_s": "llm_backoff_base_s",
            "backoff_max_s": "llm_backoff_max_s",
            "breaker_threshold": "llm_breaker_threshold",
            "breaker_cooldown_s": "llm_breaker_cooldown_s",
            "max_tokens": "llm_max_tokens",
            "stream": "llm_stream",
            "stall_timeout_s": "llm_stall_timeout_s",
            "retry_temperature": "llm_retry_temperature",
        }
        values: dict[str, Any] = {}
        for field_name, key in mapping.items():
            value = config.get(key) if isinstance(config, Mapping) else getattr(config, key, None)
            if value is not None:
                values[field_name] = value
        values.update(overrides)
        return cls(**values)

    def model_for(self, purpose: str) -> str:
        if purpose == "task":
            return self.task_model
        if purpose == "reflection":
            return self.reflection_model
        if purpose in ("judge", "merge"):
            return getattr(self, f"{purpose}_model") or self.reflection_model
        if purpose == "assist":
            return self.assist_model or self.task_model
        raise ValueError(f"purpose must be one of {', '.join(PURPOSES)}; got {purpose!r}")

    def max_tokens_for(self, purpose: str) -> int:
        """The answer cap for `purpose` (or "probe"): the configured one, else the default."""
        return self.max_tokens.get(purpose) or DEFAULT_MAX_TOKENS[purpose]

    def api_base_for(self, model: str) -> str | None:
        base = self.model_params.get(model, {}).get("api_base")
        return str(base) if base else self.api_base

    def params_for(self, model: str) -> dict[str, Any]:
        """Extra litellm arguments for `model`, without `api_base` (passed on its own)."""
        return {k: v for k, v in self.model_params.get(model, {}).items() if k != "api_base"}

    def is_local(self, model: str) -> bool:
        return is_local_model(model, self.api_base_for(model))


def _check_model(name: str, value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"llm setting {name!r} must be a non-empty model name, got {value!r}")


def _check_number(name: str, value: object, *, minimum: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"llm setting {name!r} must be a number, got {value!r}")
    if value < minimum:
        raise ConfigError(f"llm setting {name!r} must be >= {minimum}, got {value!r}")


def _check_int(name: str, value: object, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"llm setting {name!r} must be an integer, got {value!r}")
    if value < minimum:
        raise ConfigError(f"llm setting {name!r} must be >= {minimum}, got {value!r}")


def _check_model_params(value: object) -> dict[str, dict[str, Any]]:
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"llm setting 'model_params' must map model names to tables, got {type(value).__name__}"
        )
    out: dict[str, dict[str, Any]] = {}
    for model, params in value.items():
        where = f"model_params.{model!r}"
        if not isinstance(model, str) or not model:
            raise ConfigError(f"llm setting 'model_params' has a bad model name {model!r}")
        if not isinstance(params, Mapping):
            raise ConfigError(f"llm setting '{where}' must be a table, got {type(params).__name__}")
        for key in params:
            if not isinstance(key, str):
                raise ConfigError(f"llm setting '{where}' has a non-string key {key!r}")
            if key in _RESERVED_PARAMS or is_secret_name(key):
                hint = (
                    " API keys come only from the environment variables litellm reads "
                    "(OPENAI_API_KEY, ANTHROPIC_API_KEY, ...)."
                    if key == "api_key" or is_secret_name(key)
                    else " gepad sets it itself."
                )
                raise ConfigError(f"llm setting '{where}.{key}' is not allowed.{hint}")
        try:
            json.dumps(dict(params), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"llm setting '{where}' must hold plain JSON values: {exc}") from None
        out[model] = dict(params)
    return out


def _check_max_tokens(value: object) -> Mapping[str, int]:
    if not isinstance(value, Mapping):
        raise ConfigError(
            "llm setting 'max_tokens' must map purposes to token counts, "
            f"got {type(value).__name__}"
        )
    out: dict[str, int] = {}
    for key, count in value.items():
        if key not in MAX_TOKENS_KEYS:
            raise ConfigError(
                f"llm setting 'max_tokens' has an unknown purpose {key!r}; "
                f"known: {', '.join(MAX_TOKENS_KEYS)}"
            )
        _check_int(f"max_tokens.{key}", count, minimum=1)
        out[key] = int(count)
    return MappingProxyType(out)
