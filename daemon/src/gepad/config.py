"""The daemon's settings: `config.toml` under the config dir, overridden by `GEPAD_<KEY>`.

Built once into a frozen `Config` and passed down explicitly. Every key is optional; an
unknown key or a bad value raises `ConfigError` naming the key and where it came from
(the file, or the environment variable).
"""

from __future__ import annotations

import json
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gepad.errors import ConfigError
from gepad.paths import Paths

__all__ = [
    "DEFAULT_MODEL",
    "ENV_PREFIX",
    "ComponentEngineSettings",
    "Config",
    "EngineSettings",
    "load_config",
    "unknown_env_vars",
]

ENV_PREFIX = "GEPAD_"
DEFAULT_MODEL = "ollama/qwen2.5-coder:7b"

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


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
    confirm_top: Annotated[int, Field(ge=0, le=20)] | None = None
    confirm_share: Annotated[float, Field(ge=0, le=1)] | None = None
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


class Config(BaseModel):
    """Every setting of the daemon. Frozen: build a new one rather than changing it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Network and access.
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 7453
    allow_non_loopback: bool = False
    # The dashboard answers only loopback clients unless this is true (and the host allows more).
    dashboard_allow_non_loopback: bool = False
    allowed_origins: tuple[str, ...] = ()
    max_connections: Annotated[int, Field(ge=1, le=10_000)] = 64
    max_message_bytes: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = 1_048_576
    # Prompts and feedback.
    swap_policy: Literal["auto", "review"] = "auto"
    # A hand edit in a delivered file: a proposal awaiting `prompt approve`, or adopted at once.
    delivery_edits: Literal["propose", "adopt"] = "propose"
    dedupe_window_s: Annotated[float, Field(ge=0, le=86_400)] = 5.0
    log_level: str = "INFO"
    # Third-party loggers (openai, httpx, litellm, websockets, ...) stay at WARNING, even at
    # DEBUG, unless this is true: some of them log request bodies or headers.
    log_third_party: bool = False
    # The learning issue's keys, present now so the file format stays stable.
    task_model: str = DEFAULT_MODEL
    reflection_model: str = DEFAULT_MODEL
    judge_model: str | None = None
    # How the judge grades (gepad.learning._judging) and how often it is checked against the
    # user's own thumbs-up / thumbs-down labels (gepad.learning._calibration).
    judge_mode: Literal["single", "pairwise", "repeat"] = "single"
    judge_repeats: Annotated[int, Field(ge=1, le=15)] = 3
    judge_temperature: Annotated[float, Field(gt=0, le=2)] = 0.7
    judge_calibration_per_run: Annotated[int, Field(ge=0, le=100)] = 4
    judge_kappa_threshold: Annotated[float, Field(ge=-1, le=1)] = 0.4
    # The prequential ("already handled") measure (gepad.learning._prequential): each new
    # example scored with the current prompt before the optimizer learns from it (one rollout
    # each, counted against the daily budget), and the window of its rolling rate.
    prequential_enabled: bool = True
    prequential_window: Annotated[int, Field(ge=1, le=1000)] = 20
    # Users change their minds (gepad.learning._drift): newer feedback that contradicts older
    # feedback retires the older examples; at most `drift_max_calls` reflection-model calls per
    # run (counted against the daily budget).
    drift_enabled: bool = True
    drift_max_calls: Annotated[int, Field(ge=0, le=100)] = 4
    api_base: str | None = None
    model_params: dict[str, dict[str, Any]] = Field(default_factory=dict)
    daily_budget_usd: Annotated[float, Field(ge=0)] = 1.0
    daily_budget_tokens: Annotated[int, Field(ge=0)] = 2_000_000
    redact: Literal["auto", "always", "never"] = "auto"
    optimize_after_examples: Annotated[int, Field(ge=1)] = 5
    optimize_every_minutes: Annotated[float, Field(gt=0)] = 30.0
    optimize_run_rollouts: Annotated[int, Field(ge=1)] = 200
    optimizer_enabled: bool = True
    # How the optimizer searches, per component ([engine], [engine.kernel]).
    engine: EngineSettings = Field(default_factory=EngineSettings)
    merge_model: str | None = None
    assist_model: str | None = None
    llm_timeout_s: Annotated[float, Field(gt=0)] = 60.0
    llm_concurrency: Annotated[int, Field(ge=1, le=64)] = 4
    cache: Literal["auto", "always", "never"] = "auto"
    # Retries with backoff, and the circuit breaker that pauses the optimizer on a dead model.
    llm_max_retries: Annotated[int, Field(ge=0, le=20)] = 3
    llm_backoff_base_s: Annotated[float, Field(ge=0)] = 0.5
    llm_backoff_max_s: Annotated[float, Field(ge=0)] = 30.0
    llm_breaker_threshold: Annotated[int, Field(ge=1)] = 5
    llm_breaker_cooldown_s: Annotated[float, Field(ge=0)] = 60.0
    # Answer caps per purpose (task, reflection, merge, judge, assist, probe); streaming with a
    # stall timeout (no token for that long = stalled); the temperature of a retry after a
    # timeout, a stall or a loop, so it is not the same greedy call again.
    llm_max_tokens: dict[str, int] = Field(default_factory=dict)
    llm_stream: bool = False
    llm_stall_timeout_s: Annotated[float, Field(gt=0)] = 30.0
    llm_retry_temperature: Annotated[float, Field(ge=0, le=2)] = 0.7
    # Model calls run in a worker subprocess that exits after this many idle seconds, so the
    # daemon never loads litellm (~150 MB) itself; false keeps the calls in the daemon.
    llm_worker: bool = True
    llm_worker_idle_s: Annotated[float, Field(gt=0, le=86_400)] = 90.0
    # `gepad lsp`: globs (on the file path) for the `kernel` component besides .cu/.cuh; how
    # long an untouched generation waits before it counts as a weak thumbs-up; how many lines
    # around a selection go into the feedback context; whether it starts a missing daemon.
    lsp_kernel_globs: tuple[str, ...] = ()
    lsp_thumbs_up_after_s: Annotated[float, Field(gt=0)] = 300.0
    lsp_context_lines: Annotated[int, Field(ge=0, le=1000)] = 10
    lsp_autostart: bool = True
    # Outcome ingestion (gepad.outcomes): workspace folders to watch besides those registered
    # with `workspace.add`; which files in them are reports; how old a generation may be and
    # still take the blame; debounce, and how long a report that does not parse may keep
    # changing before it counts as malformed; how often vanished folders are looked for.
    outcomes_enabled: bool = True
    workspaces: tuple[str, ...] = ()
    watch_globs: tuple[str, ...] = (
        "**/*junit*.xml",
        "**/TEST-*.xml",
        "**/test-results/**/*.xml",
        "**/test-reports/**/*.xml",
        "**/*.sarif",
        "**/*.sarif.json",
        "**/build*.log",
        "**/compile*.log",
        "**/nvcc*.log",
    )
    outcome_link_window_s: Annotated[float, Field(gt=0)] = 3600.0
    outcome_debounce_s: Annotated[float, Field(ge=0, le=60)] = 0.5
    outcome_settle_s: Annotated[float, Field(gt=0, le=600)] = 5.0
    outcome_rescan_s: Annotated[float, Field(gt=0, le=600)] = 2.0
    # Capture (gepad.capture, issue 14): Continue's dev-data folder (default
    # ~/.continue/dev_data), the commit marks of assistants (regular expressions over
    # "Author <email>\n<message>"), how often enabled git workspaces are looked at, and how long
    # a file Claude wrote must stay unchanged before its edit counts as the user's correction.
    capture_continue_dir: str | None = None
    capture_git_patterns: tuple[str, ...] = (
        r"(?im)^co-authored-by:\s*claude\b",
        r"(?im)^co-authored-by:[^\n]*\b(codex|copilot)\b",
        r"(?im)^co-authored-by:\s*aider\b",
        r"(?i)\A[^\n]*\(aider\) <",
        r"(?i)\A[^\n]*(copilot-swe-agent|chatgpt-codex-connector|codex)[^\n]*<",
    )
    capture_git_poll_s: Annotated[float, Field(gt=0, le=86_400)] = 30.0
    capture_settle_s: Annotated[float, Field(ge=0, le=600)] = 2.0

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in _LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(_LOG_LEVELS)}")
        return level

    @field_validator("capture_git_patterns")
    @classmethod
    def _regexes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a regular expression ({exc})") from None
        return value

    @field_validator("host")
    @classmethod
    def _non_empty_host(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()

    @model_validator(mode="before")
    @classmethod
    def _reflection_defaults_to_task(cls, data: Any) -> Any:
        # "reflection_model defaults to the task model" must follow a user-set task_model.
        if isinstance(data, dict) and "task_model" in data and "reflection_model" not in data:
            return {**data, "reflection_model": data["task_model"]}
        return data

    @property
    def effective_judge_model(self) -> str:
        return self.judge_model or self.reflection_model


def load_config(paths: Paths, environ: Mapping[str, str]) -> Config:
    """Read `paths.config_file` (missing is fine) and apply `GEPAD_<KEY>` overrides."""
    file_values = _read_toml(paths.config_file)
    env_values, env_names = _read_env(environ)
    merged = {**file_values, **env_values}
    try:
        return Config.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, paths.config_file, env_names)) from None


# `GEPAD_*` names read outside `Config`: the home, the service-file dir (gepad service).
_OTHER_ENV_NAMES = frozenset({"GEPAD_HOME", "GEPAD_SERVICE_DIR"})


def unknown_env_vars(environ: Mapping[str, str]) -> list[str]:
    """The `GEPAD_*` variables in `environ` that gepad does not read (a typo, usually)."""
    known = _OTHER_ENV_NAMES | {ENV_PREFIX + key.upper() for key in Config.model_fields}
    return sorted(n for n in environ if n.startswith(ENV_PREFIX) and n not in known)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror}") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the config file is not valid UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def _read_env(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    values: dict[str, Any] = {}
    names: dict[str, str] = {}
    for key, field in Config.model_fields.items():
        name = ENV_PREFIX + key.upper()
        if name not in environ:
            continue
        raw = environ[name]
        values[key] = raw if _is_textual(field.annotation) else _parse_env_value(raw)
        names[key] = name
    return values, names


def _parse_env_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _is_textual(annotation: Any) -> bool:
    """True when the field takes only strings (optionally None): no JSON decoding then."""
    if annotation is str:
        return True
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return all(isinstance(arg, str) for arg in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return all(_is_textual(a) for a in args)
    return False


def _describe(exc: ValidationError, config_file: Path, env_names: Mapping[str, str]) -> str:
    problems: list[str] = []
    for error in exc.errors(include_url=False):
        loc = [str(part) for part in error["loc"]]
        key = ".".join(loc) if loc else "(config)"
        where = env_names.get(loc[0], str(config_file)) if loc else str(config_file)
        source = f"environment variable {where}" if where in env_names.values() else where
        if error["type"] == "extra_forbidden":
            message = f"unknown key {key!r}"
        else:
            message = f"{key!r}: {_lower_first(error['msg'])} (got {error.get('input')!r})"
        problems.append(f"{source}: {message}")
    return "; ".join(problems)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
