"""The parts one engine is made of, shared by the planner and the answer handlers."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._config import EngineConfig
from ._dataset import Dataset
from ._pending import Pending
from ._pool import Pool
from ._scoreboard import Scoreboard
from ._state import EngineState
from ._stop import BudgetView, StopCondition
from ._types import Event

__all__ = ["Core"]


@dataclass(slots=True)
class Core:
    state: EngineState
    config: EngineConfig
    stop: StopCondition | None
    data: Dataset
    board: Scoreboard
    pool: Pool
    # Events produced while planning wait for the caller's next `complete` or `take_events`.
    deferred: list[Event] = field(default_factory=list)

    @classmethod
    def build(cls, state: EngineState, config: EngineConfig, stop: StopCondition | None) -> Core:
        data = Dataset(state, config)
        board = Scoreboard(state, data)
        return cls(state, config, stop, data, board, Pool(state, config, board))

    def set_pending(self, make: type[Pending], **fields: object) -> None:
        s = self.state
        s.pending = make(id=s.next_request, **fields)  # type: ignore[arg-type]
        s.next_request += 1

    def view(self, now: float) -> BudgetView:
        s = self.state
        return BudgetView(
            rollouts=s.rollouts,
            iterations=s.iteration,
            cost_usd=s.cost_usd,
            tokens=s.tokens,
            now=now,
            iterations_since_improvement=s.iteration - s.last_improvement,
        )

    def rollouts_left(self) -> int | None:
        cap = None if self.stop is None else self.stop.rollout_cap()
        return None if cap is None else max(0, cap - self.state.rollouts)

    def flush(self, events: list[Event]) -> list[Event]:
        if self.deferred:
            events = self.deferred + events
            self.deferred = []
        return events
