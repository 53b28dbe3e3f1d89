"""How long the `claude-capture` PostToolUse hook holds Claude Code up, per tool call.

Runs the hook script exactly as the target installs it, N times, on a PostToolUse input for an
Edit of a file of the given size, with no daemon running (the hook never talks to it), and
prints the median and the worst wall time next to a bare `python -c pass`.

    python bench/hook_latency.py --runs 30 --file-kib 64
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gepad.delivery import RenderContext
from gepad.delivery._claude_capture import render_capture_script


def _wall(cmd: list[str], data: bytes) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, input=data, check=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--file-kib", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ws = root / "ws"
        ws.mkdir()
        src = ws / "big.py"
        src.write_text("value = 1\n" * (args.file_kib * 1024 // 10))
        ctx = RenderContext("general", 1, "", sys.executable, str(root / "home"))
        script = root / "gepad-capture.py"
        script.write_text(render_capture_script(ctx))
        payload = {
            "session_id": "bench",
            "transcript_path": "",
            "cwd": str(ws),
            "hook_event_name": "PostToolUse",
            "tool_name": "Edit",
            "tool_input": {"file_path": str(src), "old_string": "x", "new_string": "value = 1\n"},
            "tool_response": {"filePath": str(src), "success": True},
        }
        data = json.dumps(payload).encode()
        hook = [_wall([sys.executable, str(script)], data) for _ in range(args.runs)]
        bare = [_wall([sys.executable, "-c", "pass"], b"") for _ in range(args.runs)]
        lines = (root / "home" / "spool" / "claude-code.jsonl").read_text().count("\n")
    print(f"hook ({args.file_kib} KiB file, {lines} lines spooled):")
    print(f"  median {statistics.median(hook) * 1000:.0f} ms, worst {max(hook) * 1000:.0f} ms")
    print(f"bare python: median {statistics.median(bare) * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
