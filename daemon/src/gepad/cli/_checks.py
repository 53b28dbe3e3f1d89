"""`gepad doctor`'s checks: each is a function from the context to one `CheckResult`.

Later issues add theirs by appending a function to `DEFAULT_CHECKS` (e.g. "the task model
answers"). A check never raises on purpose; if it does, `run_checks` reports the error as
that check's failure so one broken check cannot hide the others.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gepad.cli._rpc import with_client
from gepad.paths import Paths
from gepad_client import DaemonNotRunning, GepadClientError

__all__ = [
    "DEFAULT_CHECKS",
    "Check",
    "CheckResult",
    "DoctorContext",
    "check_config",
    "check_daemon",
    "check_database",
    "check_judge",
    "check_models_answer",
    "check_optimizer",
    "run_checks",
]


@dataclass(frozen=True, slots=True)
class DoctorContext:
    paths: Paths
    environ: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    hint: str | None = None
    # True when the check could not run (what it needs is missing): neither passed nor failed.
    skipped: bool = False


Check = Callable[[DoctorContext], CheckResult]


def check_config(ctx: DoctorContext) -> CheckResult:
    from gepad.config import load_config  # pydantic: paid only by `doctor`
    from gepad.errors import ConfigError

    name = "config valid"
    try:
        config = load_config(ctx.paths, ctx.environ)
    except ConfigError as exc:
        return CheckResult(name, False, str(exc), "fix or remove the key named above")
    where = (
        f"{ctx.paths.config_file}"
        if ctx.paths.config_file.exists()
        else f"no {ctx.paths.config_file}; defaults"
    )
    return CheckResult(name, True, f"{where} (port {config.port}, swap {config.swap_policy})")


def check_daemon(ctx: DoctorContext) -> CheckResult:
    name = "daemon reachable"
    try:
        status = with_client(lambda c: c.get_status(), timeout=3.0)
    except DaemonNotRunning as exc:
        detail = str(exc).split("; start it with", 1)[0]
        return CheckResult(name, False, detail, "start it with `gepad start`")
    except GepadClientError as exc:
        return CheckResult(
            name, False, str(exc), "see `gepad logs`; `gepad stop && gepad start` restarts it"
        )
    return CheckResult(
        name, True, f"pid {status['pid']} at {status['ws_url']}, version {status['version']}"
    )


def check_database(ctx: DoctorContext) -> CheckResult:
    from gepad.store import SCHEMA_VERSION

    name = "database writable"
    db = ctx.paths.db_file
    if not db.exists():
        anchor = _nearest_existing(db.parent)
        if _dir_writable(anchor):
            return CheckResult(name, True, f"{db} does not exist yet; it can be created")
        return CheckResult(
            name,
            False,
            f"cannot create {db}: {anchor} is not writable",
            "fix the folder's permissions, or set GEPAD_HOME to a writable folder",
        )
    try:
        # Read-only, so that checking can never change the file.
        conn = sqlite3.connect(f"{db.absolute().as_uri()}?mode=ro", uri=True, timeout=2.0)
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return CheckResult(
            name,
            False,
            f"{db}: cannot read it as a database ({exc})",
            "move the file aside; gepad creates a fresh one on start",
        )
    problems = _quick_check(db)
    if problems:
        from gepad.store import corrupt_advice

        return CheckResult(
            name,
            False,
            f"{db}: the database is corrupt (quick_check: {'; '.join(problems[:3])})",
            corrupt_advice(db),
        )
    if version > SCHEMA_VERSION:
        return CheckResult(
            name,
            False,
            f"{db}: schema version {version} is newer than this gepad's ({SCHEMA_VERSION})",
            "upgrade gepad, or point GEPAD_HOME elsewhere",
        )
    if not os.access(db, os.W_OK) or not _dir_writable(db.parent):
        return CheckResult(
            name,
            False,
            f"{db} or its folder is read-only (sqlite needs both for its journal)",
            f"fix the permissions of {db.parent}",
        )
    size_kib = db.stat().st_size / 1024
    return CheckResult(
        name, True, f"{db} (schema v{version}, {size_kib:,.0f} KiB) is readable and writable"
    )


def check_optimizer(ctx: DoctorContext) -> CheckResult:
    """Is the optimizer able to learn: a reachable model, credentials accepted, budget left?"""
    name = "optimizer has a model"
    try:
        status = with_client(lambda c: c.get_status(), timeout=3.0)
    except GepadClientError:
        # The daemon check already fails with its hint; do not count the same cause twice.
        return CheckResult(name, True, "not checked: the daemon is not running", skipped=True)
    opt = dict(status.get("optimizer") or {})
    state = opt.get("state", "unknown")
    models = opt.get("models") or {}
    detail = f"{state}; task model {models.get('task', '?')}"
    if state in ("waiting-for-model", "auth-error", "error"):
        return CheckResult(
            name, False, f"{detail}: {opt.get('reason')}", opt.get("hint") or "see `gepad logs`"
        )
    if state == "disabled":
        return CheckResult(name, True, "optimizer disabled (optimizer_enabled = false)")
    if state == "budget-exhausted":
        return CheckResult(name, True, f"{detail}: {opt.get('reason')}")
    return CheckResult(name, True, detail)


def check_judge(ctx: DoctorContext) -> CheckResult:
    """Does the judge agree with the user's own thumbs-up / thumbs-down (Cohen's kappa)?"""
    from gepad.cli._judge_lines import judge_verdict

    name = "judge agrees with your labels"
    try:
        status = with_client(lambda c: c.get_status(), timeout=3.0)
    except GepadClientError:
        return CheckResult(name, True, "not checked: the daemon is not running", skipped=True)
    ok, detail, hint, skipped = judge_verdict(dict(status.get("optimizer") or {}))
    return CheckResult(name, ok, detail, hint, skipped=skipped)


def check_models_answer(ctx: DoctorContext) -> CheckResult:
    """A real tiny completion to each model (gepad.cli._check_model), not a TCP connect."""
    from gepad.cli._check_model import check_models_answer as probe

    return probe(ctx)


DEFAULT_CHECKS: tuple[Check, ...] = (
    check_config, check_database, check_daemon, check_optimizer, check_judge,
    check_models_answer,
)  # fmt: skip


def run_checks(ctx: DoctorContext, checks: Sequence[Check] = DEFAULT_CHECKS) -> list[CheckResult]:
    results = []
    for check in checks:
        try:
            results.append(check(ctx))
        except Exception as exc:
            label = getattr(check, "__name__", "check").removeprefix("check_").replace("_", " ")
            results.append(CheckResult(label, False, f"the check itself failed: {exc!r}"))
    return results


def _quick_check(db: Path) -> list[str]:
    """What `PRAGMA quick_check` finds (read-only; empty: intact)."""
    from gepad.store import quick_check

    try:
        return quick_check(db)
    except sqlite3.Error as exc:
        return [str(exc)]


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _dir_writable(folder: Path) -> bool:
    """Really creates and removes a file: os.access alone misses read-only mounts."""
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix=".gepad-doctor-")
    except OSError:
        return False
    os.close(fd)
    os.unlink(name)
    return True
