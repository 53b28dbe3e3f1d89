"""gepad's database: feedback examples, generations, prompt versions and the learning records.

`Store` owns one aiosqlite connection; see `_store.py` for the transaction rules and
docs/store.md for the schema, migrations, durability and the duplicate rule.
"""

from ._integrity import corrupt_advice, quick_check, storage_error
from ._migrations import SCHEMA_VERSION
from ._models import (
    DEFAULT_COMPONENT,
    EXAMPLE_KINDS,
    EXAMPLE_SOURCES,
    LLM_PURPOSES,
    PROMPT_SOURCES,
    PROMPT_STATUSES,
    SPLITS,
    AddResult,
    CaptureMark,
    ComponentState,
    Event,
    Example,
    ExampleKind,
    Generation,
    LlmCall,
    LlmCallRecord,
    LlmPurpose,
    LlmUsage,
    NewExample,
    NewGeneration,
    PromptSource,
    PromptStatus,
    PromptVersion,
    Split,
)
from ._prequential_queries import PrequentialRecord
from ._store import DEFAULT_DEDUPE_WINDOW_S, Store
from ._tx import Tx
from ._validate import COMPONENT_PATTERN

__all__ = [
    "COMPONENT_PATTERN",
    "DEFAULT_COMPONENT",
    "DEFAULT_DEDUPE_WINDOW_S",
    "EXAMPLE_KINDS",
    "EXAMPLE_SOURCES",
    "LLM_PURPOSES",
    "PROMPT_SOURCES",
    "PROMPT_STATUSES",
    "SCHEMA_VERSION",
    "SPLITS",
    "AddResult",
    "CaptureMark",
    "ComponentState",
    "Event",
    "Example",
    "ExampleKind",
    "Generation",
    "LlmCall",
    "LlmCallRecord",
    "LlmPurpose",
    "LlmUsage",
    "NewExample",
    "NewGeneration",
    "PrequentialRecord",
    "PromptSource",
    "PromptStatus",
    "PromptVersion",
    "Split",
    "Store",
    "Tx",
    "corrupt_advice",
    "quick_check",
    "storage_error",
]
