"""`gepad lsp`: gepad's language server on stdin/stdout (see gepad_lsp).

The server is its own program, `python -m gepad_lsp`, and this command becomes it (exec): the
daemon package never imports the language server (the layers point the other way), and the
editor's pipes pass straight through.
"""

from __future__ import annotations

import argparse
import os
import sys

__all__ = ["run"]


def run(args: argparse.Namespace) -> int:
    argv = [sys.executable, "-m", "gepad_lsp", *(["--verbose"] if args.verbose else [])]
    sys.stderr.flush()
    os.execv(sys.executable, argv)  # does not return
    return 1  # pragma: no cover
