"""LLM access for the daemon: one client, redaction before anything leaves the machine.

Importing this package does not import litellm; the client loads it on its first call, or
(in the daemon) `LlmWorker` runs the calls in a subprocess that loads it and exits when idle.
"""

from ._attempt import AttemptRunner
from ._client import LlmClient
from ._errors import (
    CircuitOpenError,
    LlmAuthError,
    LlmBudgetExceeded,
    LlmError,
    LlmInputError,
    LlmRequestError,
    LlmUnavailableError,
)
from ._locality import REDACT_MODES, RedactMode, is_local_model, is_loopback_url, should_redact
from ._redact import (
    KINDS as REDACTION_KINDS,
)
from ._redact import (
    Redaction,
    RedactionReport,
    Redactor,
    redact_messages,
    shannon_entropy,
)
from ._request import cache_key
from ._settings import CACHE_MODES, DEFAULT_MODEL, CacheMode, LlmSettings
from ._types import (
    OUTCOMES,
    PURPOSES,
    LlmCallRecord,
    LlmResult,
    Outcome,
    Purpose,
    Recorder,
    ResponseCache,
    Usage,
)
from ._worker import LlmWorker, WorkerSettings

__all__ = [
    "CACHE_MODES",
    "DEFAULT_MODEL",
    "OUTCOMES",
    "PURPOSES",
    "REDACTION_KINDS",
    "REDACT_MODES",
    "AttemptRunner",
    "CacheMode",
    "CircuitOpenError",
    "LlmAuthError",
    "LlmBudgetExceeded",
    "LlmCallRecord",
    "LlmClient",
    "LlmError",
    "LlmInputError",
    "LlmRequestError",
    "LlmResult",
    "LlmSettings",
    "LlmUnavailableError",
    "LlmWorker",
    "Outcome",
    "Purpose",
    "Recorder",
    "RedactMode",
    "Redaction",
    "RedactionReport",
    "Redactor",
    "ResponseCache",
    "Usage",
    "WorkerSettings",
    "cache_key",
    "is_local_model",
    "is_loopback_url",
    "redact_messages",
    "shannon_entropy",
    "should_redact",
]
