"""Learning in the daemon: the metric, and the optimizer that turns feedback into prompts."""

from gepad.learning._assist import AssistRequest, AssistService
from gepad.learning._calibration import cohen_kappa
from gepad.learning._drift import DriftSettings
from gepad.learning._judge import JudgeVerdict, parse_verdict
from gepad.learning._judging import JUDGE_MODES, Grade, Judge, JudgeSettings
from gepad.learning._metric import SCORED_KINDS, Metric, RolloutResult, unified_diff
from gepad.learning._prequential import PrequentialSettings, rolling_rates
from gepad.learning._runner import MODEL_HINT, OptimizerRunner, RunnerSettings

__all__ = [
    "JUDGE_MODES",
    "MODEL_HINT",
    "SCORED_KINDS",
    "AssistRequest",
    "AssistService",
    "DriftSettings",
    "Grade",
    "Judge",
    "JudgeSettings",
    "JudgeVerdict",
    "Metric",
    "OptimizerRunner",
    "PrequentialSettings",
    "RolloutResult",
    "RunnerSettings",
    "cohen_kappa",
    "parse_verdict",
    "rolling_rates",
    "unified_diff",
]
