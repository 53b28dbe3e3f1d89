"""`gepad doctor [--json]`: a checklist with a hint per failure; exit 1 if any fails.

Marks: ✓ passed, ✗ failed, `-` not checked (what the check needs is missing, e.g. the
optimizer check while the daemon is stopped); a skipped check does not fail the run.
"""

from __future__ import annotations

import argparse
import os

from gepad.cli._checks import CheckResult, DoctorContext, run_checks
from gepad.cli._errors import EXIT_FAILURE, EXIT_OK
from gepad.cli._output import out, print_json
from gepad.paths import resolve_paths

__all__ = ["run"]


def run(args: argparse.Namespace) -> int:
    ctx = DoctorContext(paths=resolve_paths(), environ=dict(os.environ))
    results = run_checks(ctx)
    ok = all(r.ok for r in results)
    if args.json:
        print_json(
            {
                "ok": ok,
                "checks": [
                    {
                        "name": r.name,
                        "ok": r.ok,
                        "skipped": r.skipped,
                        "detail": r.detail,
                        "hint": r.hint,
                    }
                    for r in results
                ],
            }
        )
    else:
        for r in results:
            out(f"{_mark(r)} {r.name}: {r.detail}")
            if not r.ok and r.hint:
                out(f"    hint: {r.hint}")
        failed = sum(not r.ok for r in results)
        skipped = sum(r.skipped for r in results)
        summary = "all checks passed" if ok else f"{failed} check(s) failed"
        if skipped:
            summary = (
                f"{summary}, {skipped} not checked"
                if not ok
                else f"all checks that ran passed, {skipped} not checked"
            )
        out(summary)
    return EXIT_OK if ok else EXIT_FAILURE


def _mark(result: CheckResult) -> str:
    if result.skipped:
        return "-"
    return "✓" if result.ok else "✗"
