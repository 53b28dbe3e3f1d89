"""`assist.run`: the personalized assistant, called from the editor through the daemon.

The task model (purpose `assist`) answers with the component's CURRENT prompt as its system
message; the answer is recorded as a generation so that the user's later edit of it becomes a
`correction` linked to the prompt version that produced it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Final

from gepad.errors import InvalidFieldError, ModelUnavailableError
from gepad.learning._adapters import StoreCache, to_store_call
from gepad.llm import (
    AttemptRunner,
    LlmCallRecord,
    LlmClient,
    LlmError,
    LlmInputError,
    LlmSettings,
)
from gepad.prompts import PromptService
from gepad.store import NewGeneration, Store

__all__ = ["AssistRequest", "AssistService"]

log = logging.getLogger(__name__)

# A model that wraps its whole answer in one fenced block: the editor wants the code only.
_FENCED: Final = re.compile(r"\A\s*```[^\n`]*\n(?P<body>.*?)\n?```\s*\Z", re.DOTALL)


@dataclass(frozen=True, slots=True)
class AssistRequest:
    component: str
    instruction: str
    context: str | None = None
    file: str | None = None
    language: str | None = None
    workspace: str | None = None


def user_message(req: AssistRequest) -> str:
    """What the task model is asked: the instruction first, then where and on what."""
    parts = [req.instruction.strip()]
    where = ", ".join(
        f"{name}: {value}"
        for name, value in (("file", req.file), ("language", req.language))
        if value
    )
    if where:
        parts.append(f"({where})")
    if req.context:
        parts.append(f"Context:\n{req.context}")
    return "\n\n".join(parts)


def strip_fence(text: str) -> str:
    match = _FENCED.match(text)
    if match is None or "```" in match.group("body"):
        return text  # prose around the code, or several blocks: the answer as it is
    return match.group("body")


class AssistService:
    """Runs the assistant and records what it produced.

    Raises `UnknownComponentError`, `InvalidFieldError` (a request the model cannot take) and
    `ModelUnavailableError` (no answer from the model: unreachable, refused, over budget).
    """

    def __init__(
        self,
        store: Store,
        prompts: PromptService,
        settings: LlmSettings,
        *,
        llm_attempts: AttemptRunner | None = None,
    ) -> None:
        self._store = store
        self._prompts = prompts
        self._llm = LlmClient(
            settings, self._record_call, cache=StoreCache(store), attempts=llm_attempts
        )

    async def _record_call(self, record: LlmCallRecord) -> None:
        # Assist calls count towards the daily budget like the optimizer's.
        try:
            await self._store.record_llm_call(None, to_store_call(record, None))
        except Exception:
            log.exception("recording an assist call failed")

    async def run(
        self,
        *,
        component: str,
        instruction: str,
        context: str | None = None,
        file: str | None = None,
        language: str | None = None,
        workspace: str | None = None,
    ) -> dict[str, Any]:
        """Answer `instruction` with the component's current prompt; record the generation."""
        req = AssistRequest(component, instruction, context, file, language, workspace)
        state = self._prompts.current(req.component)
        messages = [
            {"role": "system", "content": state.text},
            {"role": "user", "content": user_message(req)},
        ]
        try:
            result = await self._llm.complete("assist", messages)
        except LlmInputError as exc:
            raise InvalidFieldError("context", str(exc)) from None
        except LlmError as exc:
            model = exc.model or self._llm.model_for("assist")
            raise ModelUnavailableError(
                f"the assistant's model {model} gave no answer: {exc} (set task_model or "
                "assist_model and api_base in config.toml; `gepad doctor` checks them)"
            ) from None
        text = strip_fence(result.text)
        generation_id = await self._store.record_generation(
            NewGeneration(
                component=req.component,
                workspace=req.workspace,
                file=req.file,
                language=req.language,
                instruction=req.instruction,
                context=req.context or "",
                output=text,
                prompt_version=state.version,
                model=result.model,
            )
        )
        return {
            "text": text,
            "generation_id": generation_id,
            "prompt_version": state.version,
            "model": result.model,
        }

    async def stop(self) -> None:
        """Nothing runs in the background; present so the daemon can undo it like the rest."""
