"""GEPA (Genetic-Pareto reflective prompt evolution) as a pure, stepped library.

The engine performs no I/O: it hands out requests (`Evaluate`, `Reflect`, `Merge`), the caller
performs them and feeds the answers back with `Engine.complete`. Clock and randomness come from
the caller (`now` arguments, a seed), and the whole state round-trips through JSON.
"""

from ._config import EngineConfig
from ._engine import Engine
from ._errors import EngineError, ProtocolError, StateError
from ._stop import (
    AllOf,
    AnyOf,
    BudgetView,
    Deadline,
    MaxCost,
    MaxIterations,
    MaxRollouts,
    MaxTokens,
    NoImprovement,
    StopCondition,
)
from ._templates import (
    CONDENSE_TEMPLATE,
    MERGE_TEMPLATE,
    REFLECTION_TEMPLATE,
    ParsedText,
    parse_instruction_block,
)
from ._types import (
    Answer,
    Candidate,
    EvalOutcome,
    EvalResult,
    Evaluate,
    Event,
    ExampleSpec,
    Finished,
    Idle,
    Merge,
    Reflect,
    ReflectiveRecord,
    Request,
    TextAnswer,
)

__all__ = [
    "CONDENSE_TEMPLATE",
    "MERGE_TEMPLATE",
    "REFLECTION_TEMPLATE",
    "AllOf",
    "Answer",
    "AnyOf",
    "BudgetView",
    "Candidate",
    "Deadline",
    "Engine",
    "EngineConfig",
    "EngineError",
    "EvalOutcome",
    "EvalResult",
    "Evaluate",
    "Event",
    "ExampleSpec",
    "Finished",
    "Idle",
    "MaxCost",
    "MaxIterations",
    "MaxRollouts",
    "MaxTokens",
    "Merge",
    "NoImprovement",
    "ParsedText",
    "ProtocolError",
    "Reflect",
    "ReflectiveRecord",
    "Request",
    "StateError",
    "StopCondition",
    "TextAnswer",
    "parse_instruction_block",
]
