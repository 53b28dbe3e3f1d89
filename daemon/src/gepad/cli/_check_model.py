"""`gepad doctor`'s "models answer" check: a real, tiny completion, not a TCP connect.

It sends one short request (capped at `llm_max_tokens.probe`, 8 tokens by default) to the
task and the reflection model, through the same client the daemon uses, and tells apart a
model that answers, one that is slow or stalled, one that loops, one that cannot be reached,
one that refuses the request, and missing or rejected credentials. The probe is not written
to the daemon's `llm_calls` (doctor does not open the store for writing); it costs a few
tokens per model.
"""

from __future__ import annotations

import asyncio
import time

from gepad.cli._checks import CheckResult, DoctorContext

__all__ = ["PROBE_MESSAGES", "check_models_answer"]

PROBE_MESSAGES = ({"role": "user", "content": "Reply with the single word OK."},)
_PROBE_TIMEOUT_CAP_S = 60.0


async def _ask(settings: object, purpose: str) -> tuple[bool, str, str | None]:
    from gepad.llm import (
        LlmAuthError,
        LlmCallRecord,
        LlmClient,
        LlmRequestError,
        LlmSettings,
        LlmUnavailableError,
    )

    assert isinstance(settings, LlmSettings)

    async def discard(record: LlmCallRecord) -> None:
        del record

    client = LlmClient(settings, discard)
    model = client.model_for(purpose)
    started = time.monotonic()
    try:
        result = await client.complete(
            purpose,
            list(PROBE_MESSAGES),
            max_tokens=settings.max_tokens_for("probe"),
            use_cache=False,
        )
    except LlmAuthError as exc:
        return False, f"{model}: auth-error: {exc}", "set the provider's key in the environment"
    except LlmRequestError as exc:
        return False, f"{model}: refusing the request: {exc}", "check the model name and api_base"
    except LlmUnavailableError as exc:
        if exc.outcome in ("timeout", "stalled"):
            what = "slow" if exc.outcome == "timeout" else "stalled"
            return (
                False,
                f"{model}: {what} (no answer to an 8-token request within "
                f"{settings.timeout_s:g} s): {exc}",
                "a smaller model, fewer threads competing, or a larger llm_timeout_s",
            )
        return False, f"{model}: unreachable: {exc}", "start the model server or fix api_base"
    seconds = time.monotonic() - started
    if result.finish == "looped":
        return False, f"{model}: looping (the tiny answer repeated itself)", None
    return True, f"{model} answered in {seconds:.1f} s ({result.text.strip()[:20]!r})", None


def check_models_answer(ctx: DoctorContext) -> CheckResult:
    from gepad.config import load_config
    from gepad.errors import ConfigError
    from gepad.llm import LlmSettings

    name = "models answer"
    try:
        config = load_config(ctx.paths, ctx.environ)
        settings = LlmSettings.from_config(
            config,
            max_retries=0,
            timeout_s=min(float(config.llm_timeout_s), _PROBE_TIMEOUT_CAP_S),
        )
    except ConfigError as exc:
        return CheckResult(name, True, f"not checked: {exc}", skipped=True)
    if not config.optimizer_enabled:
        return CheckResult(
            name, True, "not checked: optimizer disabled (optimizer_enabled = false)", skipped=True
        )
    purposes = ["task"]
    if settings.model_for("reflection") != settings.model_for("task"):
        purposes.append("reflection")
    details: list[str] = []
    for purpose in purposes:
        ok, detail, hint = asyncio.run(_ask(settings, purpose))
        if not ok:
            return CheckResult(name, False, f"{purpose} model {detail}", hint)
        details.append(f"{purpose}: {detail}")
    return CheckResult(name, True, "; ".join(details))
