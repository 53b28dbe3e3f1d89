"""The capture methods on the daemon's websocket (`capture.*`, docs/protocol.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from gepad.errors import CaptureError
from gepad.server import INVALID_PARAMS, MethodSpec, RpcError

from ._service import CaptureService

__all__ = ["capture_methods"]

_Path = Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class EnableParams(_Params):
    source: Literal["continue", "git"]
    workspace: _Path | None = None
    path: _Path | None = None


class DisableParams(_Params):
    source: Literal["continue", "git"]
    workspace: _Path | None = None


class StatusParams(_Params):
    pass


class FileParams(_Params):
    file: _Path


class WorkspaceParams(_Params):
    workspace: _Path


def _invalid(exc: CaptureError) -> RpcError:
    return RpcError(INVALID_PARAMS, f"invalid params: {exc}")


def capture_methods(service: CaptureService) -> dict[str, MethodSpec]:
    async def enable(p: EnableParams) -> dict[str, Any]:
        try:
            return await service.enable(p.source, workspace=p.workspace, path=p.path)
        except CaptureError as exc:
            raise _invalid(exc) from None

    async def disable(p: DisableParams) -> dict[str, Any]:
        try:
            return await service.disable(p.source, workspace=p.workspace)
        except CaptureError as exc:
            raise _invalid(exc) from None

    async def status(_: StatusParams) -> dict[str, Any]:
        return await service.status()

    async def generations(p: FileParams) -> dict[str, Any]:
        return {"generations": service.generations_for(p.file)}

    async def last(p: WorkspaceParams) -> dict[str, Any]:
        return {"generation": await service.last(p.workspace)}

    specs = [
        MethodSpec("capture.enable", EnableParams.model_validate, enable),
        MethodSpec("capture.disable", DisableParams.model_validate, disable),
        MethodSpec("capture.status", StatusParams.model_validate, status),
        MethodSpec("capture.generations", FileParams.model_validate, generations),
        MethodSpec("capture.last", WorkspaceParams.model_validate, last),
    ]
    return {s.name: s for s in specs}
