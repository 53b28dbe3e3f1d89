"""The real-daemon harness lives with the client tests; make it importable from here."""

import sys
from pathlib import Path

_HARNESS_DIR = str(Path(__file__).resolve().parents[2] / "gepad_client")
if _HARNESS_DIR not in sys.path:
    sys.path.insert(0, _HARNESS_DIR)
