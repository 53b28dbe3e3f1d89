"""The daemon harness lives in tests/gepad/daemon; make it importable from here."""

import sys
from pathlib import Path

_HARNESS_DIR = str(Path(__file__).resolve().parents[1] / "daemon")
if _HARNESS_DIR not in sys.path:
    sys.path.insert(0, _HARNESS_DIR)
