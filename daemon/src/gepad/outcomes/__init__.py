"""Outcome ingestion: test and compiler reports in watched workspaces become examples.

See docs/outcomes.md. `OutcomeIngester` is the service the daemon runs; the parsers are public
so that tools and tests can read a report the same way the daemon does.
"""

from gepad.outcomes._diagnostics import parse_compiler_log
from gepad.outcomes._ingest import IngestSettings, OutcomeIngester, report_format
from gepad.outcomes._junit import parse_junit, under_test_names
from gepad.outcomes._link import link_generations, to_path
from gepad.outcomes._registry import normalize_workspace
from gepad.outcomes._sarif import parse_sarif
from gepad.outcomes._types import Outcome
from gepad.outcomes._watch import GlobSet, WorkspaceWatcher

__all__ = [
    "GlobSet",
    "IngestSettings",
    "Outcome",
    "OutcomeIngester",
    "WorkspaceWatcher",
    "link_generations",
    "normalize_workspace",
    "parse_compiler_log",
    "parse_junit",
    "parse_sarif",
    "report_format",
    "to_path",
    "under_test_names",
]
