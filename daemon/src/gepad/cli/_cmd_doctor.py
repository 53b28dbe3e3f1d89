"""`gepad doctor [--json]`: a ✓/✗ checklist with a hint per failure; exit 1 if any fails."""

from __future__ import annotations

import argparse
import os

from gepad.cli._checks import DoctorContext, run_checks
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
                    {"name": r.name, "ok": r.ok, "detail": r.detail, "hint": r.hint}
                    for r in results
                ],
            }
        )
    else:
        for r in results:
            out(f"{'✓' if r.ok else '✗'} {r.name}: {r.detail}")
            if not r.ok and r.hint:
                out(f"    hint: {r.hint}")
        failed = sum(not r.ok for r in results)
        out("all checks passed" if ok else f"{failed} check(s) failed")
    return EXIT_OK if ok else EXIT_FAILURE
