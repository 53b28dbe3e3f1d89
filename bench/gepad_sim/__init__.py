"""gepad_sim: the simulated user, its scenarios and the benchmark harness.

Nothing here reaches a real LLM. A scenario (TOML) describes a user's rules and tasks; `SimLMs`
are the task, reflection and merge LMs whose behaviour the issue specifies; `run_optimizer`
runs one optimizer on one scenario and seed and scores its result on a held-out split the
optimizer never sees.
"""

from gepad_sim._errors import OptimizerUnavailableError, ScenarioError, SimError
from gepad_sim._harness import (
    MIN_TASKS,
    TEST_REPEATS,
    Optimizer,
    RunContext,
    RunResult,
    check_runnable,
    rollouts_to_threshold,
    run_optimizer,
)
from gepad_sim._lms import LOOKS_RIGHT, Record, SimLMs, TaskOutcome
from gepad_sim._optimizers import OPTIMIZER_NAMES, resolve_optimizer, run_named, run_seed
from gepad_sim._overhead import overhead_scores, reference_overhead_ms
from gepad_sim._prompt import (
    DISTRACTOR_CHARS,
    over_specific_line,
    over_specific_pattern,
    prompt_lines,
)
from gepad_sim._report import (
    PairedDiff,
    SummaryRow,
    format_paired,
    format_table,
    paired_diffs,
    r90_for_median,
    summarise,
)
from gepad_sim._scenario import (
    Rule,
    Scenario,
    SimParams,
    Task,
    load_scenario,
    loads_scenario,
    parse_scenario,
)
from gepad_sim._server import (
    COMPLETIONS_PATH,
    FAULT_MODES,
    SLOW_SECONDS,
    SimServer,
    SimServerConfig,
    SimServerError,
    bind_address,
)
from gepad_sim._server_roles import (
    APOLOGY,
    JUDGE_AVOIDS_ALL,
    JUDGE_NEW_OUTPUT,
    JUDGE_USER_SECTIONS,
    MODEL_ROLES,
    UNKNOWN_TASK_OUTPUT,
    CondensePrompt,
    JudgeVerdict,
    MergePrompt,
    ReflectionPrompt,
    SimRoles,
    judge_new_output,
    parse_condense_prompt,
    parse_judge_sections,
    parse_merge_prompt,
    parse_reflection_prompt,
)
from gepad_sim._split import Split, split_tasks

__all__ = [
    "APOLOGY",
    "COMPLETIONS_PATH",
    "DISTRACTOR_CHARS",
    "FAULT_MODES",
    "JUDGE_AVOIDS_ALL",
    "JUDGE_NEW_OUTPUT",
    "JUDGE_USER_SECTIONS",
    "LOOKS_RIGHT",
    "MIN_TASKS",
    "MODEL_ROLES",
    "OPTIMIZER_NAMES",
    "SLOW_SECONDS",
    "TEST_REPEATS",
    "UNKNOWN_TASK_OUTPUT",
    "CondensePrompt",
    "JudgeVerdict",
    "MergePrompt",
    "Optimizer",
    "OptimizerUnavailableError",
    "PairedDiff",
    "Record",
    "ReflectionPrompt",
    "Rule",
    "RunContext",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "SimError",
    "SimLMs",
    "SimParams",
    "SimRoles",
    "SimServer",
    "SimServerConfig",
    "SimServerError",
    "Split",
    "SummaryRow",
    "Task",
    "TaskOutcome",
    "bind_address",
    "check_runnable",
    "format_paired",
    "format_table",
    "judge_new_output",
    "load_scenario",
    "loads_scenario",
    "over_specific_line",
    "over_specific_pattern",
    "overhead_scores",
    "paired_diffs",
    "parse_condense_prompt",
    "parse_judge_sections",
    "parse_merge_prompt",
    "parse_reflection_prompt",
    "parse_scenario",
    "prompt_lines",
    "r90_for_median",
    "reference_overhead_ms",
    "resolve_optimizer",
    "rollouts_to_threshold",
    "run_named",
    "run_optimizer",
    "run_seed",
    "split_tasks",
    "summarise",
]
