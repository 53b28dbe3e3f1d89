"""The dashboard's JSON-RPC methods (served to every authenticated client, the page included)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from gepad.dashboard._access import DashboardAccess
from gepad.dashboard._http import PAGE_PATH
from gepad.dashboard._insight import Insight
from gepad.prompts import PromptService
from gepad.server import MethodSpec

__all__ = ["dashboard_methods"]

Component = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _Empty(_Params):
    pass


class _ComponentParams(_Params):
    component: Component = "general"


class ProvenanceParams(_Params):
    component: Component = "general"
    version: Annotated[int, Field(ge=1)] | None = None


class SpendParams(_Params):
    days: Annotated[int, Field(ge=1, le=90)] = 14


class ExamplesParams(_Params):
    limit: Annotated[int, Field(ge=1, le=10_000)] = 2000


class _Methods:
    def __init__(self, insight: Insight, access: DashboardAccess, prompts: PromptService) -> None:
        self._insight = insight
        self._access = access
        self._prompts = prompts

    async def open(self, _: _Empty) -> dict[str, Any]:
        code = self._access.issue_code()
        return {"url": f"{self._access.origin}{PAGE_PATH}?code={code}", "single_use": True}

    async def provenance(self, p: ProvenanceParams) -> dict[str, Any]:
        return await self._insight.provenance(p.component, p.version)

    async def curve(self, p: _ComponentParams) -> dict[str, Any]:
        return await self._insight.curve(p.component)

    async def lineage(self, p: _ComponentParams) -> dict[str, Any]:
        self._prompts.current(p.component)
        return await self._insight.engines.lineage(p.component)

    async def review(self, p: _ComponentParams) -> dict[str, Any]:
        return await self._insight.review(p.component)

    async def spend(self, p: SpendParams) -> dict[str, Any]:
        return await self._insight.spend(p.days)

    async def examples(self, p: ExamplesParams) -> dict[str, Any]:
        return await self._insight.examples(p.limit)

    async def trend(self, _: _Empty) -> dict[str, Any]:
        return {
            "components": [await self._insight.trend(c) for c in sorted(self._prompts.components())]
        }


def dashboard_methods(
    insight: Insight, access: DashboardAccess, prompts: PromptService
) -> list[MethodSpec]:
    m = _Methods(insight, access, prompts)
    return [
        MethodSpec("dashboard.open", _Empty.model_validate, m.open),
        MethodSpec("prompt.provenance", ProvenanceParams.model_validate, m.provenance),
        MethodSpec("dashboard.curve", _ComponentParams.model_validate, m.curve),
        MethodSpec("dashboard.lineage", _ComponentParams.model_validate, m.lineage),
        MethodSpec("dashboard.review", _ComponentParams.model_validate, m.review),
        MethodSpec("dashboard.spend", SpendParams.model_validate, m.spend),
        MethodSpec("dashboard.examples", ExamplesParams.model_validate, m.examples),
        MethodSpec("dashboard.trend", _Empty.model_validate, m.trend),
    ]
