"""The root of every exception gepad raises on purpose."""

from __future__ import annotations


class GepadError(Exception):
    """Base class for gepad's own errors."""


class ConfigError(GepadError):
    """The configuration is invalid; the message names the key and the file."""


class StoreError(GepadError):
    """The database cannot be used as asked."""


class SchemaTooNewError(StoreError):
    """The database was written by a newer gepad; it is refused and left untouched."""


class InvalidFieldError(StoreError):
    """A value handed to the store is not allowed; nothing was written.

    `field` names the offending field so the wire layer can report it (JSON-RPC -32602).
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class NotFoundError(StoreError):
    """A row the caller referred to by id does not exist."""


class StoreClosedError(StoreError):
    """The store was closed; no further reads or writes are possible."""


class DiskFullError(StoreError):
    """A write failed because the disk is full; the message says so and names the path."""


class CorruptDatabaseError(StoreError):
    """The database file is damaged; gepad refuses to write to it. The message names the
    file and what to do (restore a backup, or move it aside)."""


class PromptError(GepadError):
    """A prompt operation was refused."""


class UnknownComponentError(PromptError):
    """No prompt component by that name exists."""

    def __init__(self, component: str) -> None:
        super().__init__(f"unknown prompt component {component!r}")
        self.component = component


class InvalidPromptError(PromptError):
    """A prompt argument is not allowed; `field` names it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class PromptVersionError(PromptError):
    """The version named cannot be used that way (not pending, does not exist, already current)."""

    def __init__(self, component: str, version: int, message: str) -> None:
        super().__init__(f"{component} v{version}: {message}")
        self.component = component
        self.version = version


class DaemonError(GepadError):
    """The daemon process cannot start or run as asked."""


class AlreadyRunningError(DaemonError):
    """Another daemon holds the lock for this GEPAD_HOME; it is left running."""

    def __init__(self, pid: int | None, ws_url: str | None) -> None:
        where = f"pid {pid}, {ws_url}" if pid is not None else "its daemon.json is not written yet"
        super().__init__(f"gepad is already running ({where})")
        self.pid = pid
        self.ws_url = ws_url


class KernelError(GepadError):
    """Kernel-coding mode (gepad.kernel) cannot do what was asked."""


class KernelProblemError(KernelError):
    """A kernel problem definition is malformed; the message names the file and the field."""

    def __init__(self, where: str, field: str, reason: str) -> None:
        super().__init__(f"{where}: {field}: {reason}")
        self.where = where
        self.field = field
        self.reason = reason


class SimWriterError(KernelError):
    """The simulated kernel writer has no prepared variants for the problem asked."""


class KernelSolveError(KernelError):
    """A test-time kernel search was asked for something it cannot do (no problems, bad budget)."""


class DeliveryError(GepadError):
    """Delivering the prompt into an assistant's files was refused; the message says why."""


class DeliveryConflictError(DeliveryError):
    """The request clashes with what is on disk or already enabled (e.g. a file not gepad's)."""


class ModelUnavailableError(GepadError):
    """The model a request needs (e.g. the assistant's) could not be used; the message says
    which model and why, and how to configure one."""


class OutcomeError(GepadError):
    """Outcome ingestion (gepad.outcomes) cannot do what was asked."""


class ReportParseError(OutcomeError):
    """A test or compiler report cannot be read; the message says where and why.

    `maybe_incomplete` is True when the text simply ends too early (a half-written XML or JSON
    file): the ingester retries such a file until it has stopped changing.
    """

    def __init__(self, message: str, *, maybe_incomplete: bool = False) -> None:
        super().__init__(message)
        self.maybe_incomplete = maybe_incomplete


class WorkspaceError(OutcomeError):
    """A workspace path given to `workspace.add`/`workspace.remove` cannot be used."""


class CaptureError(GepadError):
    """A capture source (Claude Code, Continue, git) cannot be used as asked."""
