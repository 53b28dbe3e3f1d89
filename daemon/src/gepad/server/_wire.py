"""Pydantic models for every method's params: strict types, unknown fields refused."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints, ValidationError

from gepad.server._dispatch import params_error
from gepad.server._protocol import INVALID_PARAMS, RpcError

__all__ = [
    "FEEDBACK_KINDS",
    "MAX_FIELD_CHARS",
    "MAX_PROMPT_CHARS",
    "ApproveParams",
    "AssistRunParams",
    "CompileResultFeedback",
    "Component",
    "CorrectionFeedback",
    "DeliverDisableParams",
    "DeliverEnableParams",
    "DeliverStatusParams",
    "EmptyParams",
    "ExamplesListParams",
    "Feedback",
    "GenerationRecordParams",
    "HistoryParams",
    "PinParams",
    "PromptGetParams",
    "RollbackParams",
    "SetParams",
    "SubscribeParams",
    "WorkspaceParams",
    "parse_feedback",
]

MAX_FIELD_CHARS: Final = 256 * 1024
MAX_PROMPT_CHARS: Final = 64 * 1024
MAX_EXAMPLES_LIMIT: Final = 1000
MAX_HISTORY_LIMIT: Final = 500

Component = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
Text = Annotated[str, StringConstraints(max_length=MAX_FIELD_CHARS)]
Short = Annotated[str, StringConstraints(max_length=4096)]
RowId = Annotated[int, Field(ge=1)]
Version = Annotated[int, Field(ge=1)]


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class EmptyParams(_Params):
    pass


class OptimizerRunParams(_Params):
    budget: Annotated[int, Field(ge=1, le=1_000_000)] | None = None


class PromptGetParams(_Params):
    component: Component = "general"


class HistoryParams(_Params):
    component: Component = "general"
    limit: Annotated[int, Field(ge=1, le=MAX_HISTORY_LIMIT)] = 20


class SubscribeParams(_Params):
    # Explicit null subscribes to every component, including ones created later.
    components: Annotated[list[Component], Field(max_length=256)] | None = ["general"]


class SetParams(_Params):
    component: Component
    text: Annotated[str, StringConstraints(max_length=MAX_PROMPT_CHARS)]


class RollbackParams(_Params):
    component: Component
    version: Version


class ApproveParams(_Params):
    component: Component
    version: Version


class PinParams(_Params):
    component: Component
    pinned: bool


class ExamplesListParams(_Params):
    limit: Annotated[int, Field(ge=1, le=MAX_EXAMPLES_LIMIT)] = 50
    kind: (
        Literal[
            "thumbs_down",
            "thumbs_up",
            "correction",
            "comment",
            "test_result",
            "compile_result",
            "kernel",
        ]
        | None
    ) = None
    # `next_cursor` of the previous page (opaque; same `kind` expected).
    cursor: Annotated[str, StringConstraints(max_length=200)] | None = None


class GenerationRecordParams(_Params):
    component: Component = "general"
    workspace: Text | None = None
    file: Text | None = None
    language: Short | None = None
    instruction: Text | None = None
    context: Text | None = None
    output: Text
    prompt_version: Version | None = None
    model: Short | None = None


class DeliverEnableParams(_Params):
    workspace: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    target: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    component: Component = "general"


class DeliverDisableParams(_Params):
    workspace: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    target: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class DeliverStatusParams(_Params):
    workspace: Annotated[str, StringConstraints(min_length=1, max_length=4096)] | None = None


class AssistRunParams(_Params):
    component: Component = "general"
    instruction: Annotated[str, StringConstraints(min_length=1, max_length=MAX_FIELD_CHARS)]
    context: Text | None = None
    file: Text | None = None
    language: Short | None = None
    workspace: Text | None = None


class WorkspaceParams(_Params):
    # An absolute folder path or a file:// URI (what a language server has as its root).
    path: Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class _FeedbackCommon(_Params):
    kind: str
    component: Component = "general"
    workspace: Text | None = None
    file: Text | None = None
    language: Short | None = None
    context: Text | None = None
    output: Text | None = None
    generation_id: RowId | None = None
    prompt_version: Version | None = None
    # Which client sent it (issue 14); capture sources are set by the daemon itself.
    source: Literal["lsp", "cli", "mcp"] | None = None


class ThumbsDownFeedback(_FeedbackCommon):
    kind: Literal["thumbs_down"]
    comment: Text | None = None


class ThumbsUpFeedback(_FeedbackCommon):
    kind: Literal["thumbs_up"]


class CorrectionFeedback(_FeedbackCommon):
    kind: Literal["correction"]
    corrected: Text
    comment: Text | None = None


class CommentFeedback(_FeedbackCommon):
    kind: Literal["comment"]
    comment: Annotated[str, StringConstraints(min_length=1, max_length=MAX_FIELD_CHARS)]


class TestResultFeedback(_FeedbackCommon):
    __test__ = False  # not a pytest class, whatever its name says

    kind: Literal["test_result"]
    test: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    passed: bool
    message: Text | None = None


class CompileResultFeedback(_FeedbackCommon):
    kind: Literal["compile_result"]
    tool: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    ok: bool
    # Compiler output as text, or structured diagnostics (e.g. LSP Diagnostic objects).
    diagnostics: Text | Annotated[list[JsonValue], Field(max_length=10_000)] | None = None


Feedback = (
    ThumbsDownFeedback
    | ThumbsUpFeedback
    | CorrectionFeedback
    | CommentFeedback
    | TestResultFeedback
    | CompileResultFeedback
)

_FEEDBACK_MODELS: Final[dict[str, type[_FeedbackCommon]]] = {
    "thumbs_down": ThumbsDownFeedback,
    "thumbs_up": ThumbsUpFeedback,
    "correction": CorrectionFeedback,
    "comment": CommentFeedback,
    "test_result": TestResultFeedback,
    "compile_result": CompileResultFeedback,
}
FEEDBACK_KINDS: Final = tuple(_FEEDBACK_MODELS)


def parse_feedback(params: dict[str, Any]) -> Feedback:
    """Validate by `kind` first, so errors name plain fields ('corrected'), not union arms."""
    kind = params.get("kind")
    model = _FEEDBACK_MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        allowed = ", ".join(FEEDBACK_KINDS)
        message = "field required" if "kind" not in params else f"must be one of {allowed}"
        raise RpcError(
            INVALID_PARAMS,
            f"invalid params: 'kind': {message}",
            {"errors": [{"field": "kind", "message": message}]},
        )
    try:
        return model.model_validate(params)  # type: ignore[return-value]
    except ValidationError as exc:
        raise params_error(exc) from None
