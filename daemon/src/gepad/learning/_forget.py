"""`gepad forget "<rule>"`: the user drops a rule outright.

Two steps, so the user sees what will go before anything goes:
1. `candidates`: the examples whose feedback is about the rule, decided by the reflection model
   (`FORGET_TEMPLATE`, batches of `_BATCH` items, strict JSON; a garbage answer is an error
   with its reason) — or the ids the user named, checked to exist and be active.
2. `apply`: retire those examples (an `example.retired` event each: reason `forget "<rule>"`,
   decided by the user), then ask the reflection model to rewrite the current prompt without
   the rule (`REMOVE_RULE_TEMPLATE`). A changed text becomes a pending `user-edit` version:
   the user reviews it (`gepad prompt approve/reject`), and the optimizer starts from it as it
   does from any hand edit, so the next version does not keep the rule.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

from gepad.errors import GepadError
from gepad.learning._adapters import BufferedRecorder, to_store_call
from gepad.learning._drift import all_examples, retire_with_reason
from gepad.learning._drift_prompts import (
    DriftAnswerError,
    item_text,
    parse_forget,
    parse_instructions,
    render_forget,
    render_remove_rule,
)
from gepad.llm import LlmClient, LlmError
from gepad.prompts import PromptService
from gepad.store import Example, Store

__all__ = ["ForgetError", "ForgetService"]

log = logging.getLogger(__name__)

_BATCH: Final = 30
_MAX_RULE_CHARS: Final = 500


class ForgetError(GepadError):
    """A forget request that cannot be carried out; the message says why. `kind` is
    "invalid" (bad input), "not_found" (an id that is no active example) or "unavailable"
    (the model gave no usable answer)."""

    def __init__(self, message: str, kind: str = "invalid") -> None:
        super().__init__(message)
        self.kind = kind


def _check_rule(rule: str) -> str:
    text = " ".join(rule.split())
    if not text:
        raise ForgetError("the rule to forget is empty; say which rule, e.g. 'use tabs'")
    if len(text) > _MAX_RULE_CHARS:
        raise ForgetError(f"the rule to forget is longer than {_MAX_RULE_CHARS} characters")
    return text


def _brief(e: Example) -> dict[str, Any]:
    return {"id": e.id, "kind": e.kind, "feedback": item_text(e)[:200]}


class ForgetService:
    def __init__(
        self,
        store: Store,
        prompts: PromptService,
        llm: LlmClient,
        recorder: BufferedRecorder,
        *,
        on_change: Callable[[], Awaitable[None]],
    ) -> None:
        self._store = store
        self._prompts = prompts
        self._llm = llm
        self._recorder = recorder
        self._on_change = on_change

    async def candidates(
        self, component: str, rule: str, ids: Sequence[int] | None = None
    ) -> dict[str, Any]:
        """The active examples about `rule` (the model decides), or the named `ids`."""
        rule = _check_rule(rule)
        self._prompts.current(component)  # an unknown component raises here
        rows = [e for e in await all_examples(self._store, component) if item_text(e)]
        if ids is not None:
            by_id = {e.id: e for e in await all_examples(self._store, component)}
            missing = sorted(set(ids) - set(by_id))
            if missing:
                raise ForgetError(
                    f"no active example of {component} has id {', '.join(map(str, missing))}",
                    "not_found",
                )
            chosen = [by_id[i] for i in sorted(set(ids))]
            return {"component": component, "rule": rule, "decided_by": "user",
                    "examples": [_brief(e) for e in chosen]}  # fmt: skip
        about: list[Example] = []
        for start in range(0, len(rows), _BATCH):
            batch = rows[start : start + _BATCH]
            text = await self._ask(component, render_forget(rule, batch))
            try:
                found = set(parse_forget(text, {e.id for e in batch}))
            except DriftAnswerError as exc:
                raise ForgetError(
                    f"the model's answer was unusable: {exc}", "unavailable"
                ) from None
            about.extend(e for e in batch if e.id in found)
        return {
            "component": component,
            "rule": rule,
            "decided_by": f"model:{self._llm.model_for('reflection')}",
            "examples": [_brief(e) for e in about],
        }

    async def apply(self, component: str, rule: str, ids: Sequence[int]) -> dict[str, Any]:
        """Retire `ids` for `rule`, then propose the prompt without the rule."""
        rule = _check_rule(rule)
        state = self._prompts.current(component)
        retired: list[int] = []
        for example_id in sorted(set(ids)):
            if await retire_with_reason(
                self._store, example_id, component=component,
                reason=f'forget "{rule}"', decided_by="user",
            ):  # fmt: skip
                retired.append(example_id)
        if retired:
            await self._on_change()
        result: dict[str, Any] = {"component": component, "rule": rule, "retired": retired,
                                  "pending_version": None, "prompt_note": None}  # fmt: skip
        try:
            text = parse_instructions(
                await self._ask(component, render_remove_rule(rule, state.text))
            )
        except (DriftAnswerError, ForgetError) as exc:
            result["prompt_note"] = (
                f"the prompt was not rewritten ({exc}); remove the rule by hand with "
                "`gepad prompt set`"
            )
            return result
        if text.strip() == state.text.strip():
            result["prompt_note"] = "the current prompt does not state the rule; left as it is"
            return result
        pending = await self._prompts.propose_edit(component, text)
        result["pending_version"] = None if pending.pending is None else pending.pending.version
        result["prompt_note"] = "a version without the rule awaits approval"
        return result

    async def _ask(self, component: str, prompt: str) -> str:
        try:
            result = await self._llm.complete("reflection", [{"role": "user", "content": prompt}])
        except LlmError as exc:
            raise ForgetError(
                f"the reflection model gave no answer: {exc}", "unavailable"
            ) from None
        finally:
            for record in self._recorder.take():
                await self._store.record_llm_call(None, to_store_call(record, component))
        return result.text
