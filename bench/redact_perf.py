"""Redaction speed before and after issue 12: adversarial inputs and ordinary code.

    python bench/redact_perf.py [--before REV] [--repeat N]

"before" is `daemon/src/gepad/llm/_redact.py` as of REV (default 9529d88, the last commit
before the issue-12 rules; it was one self-contained module), loaded from `git show`;
"after" is the installed `gepad.llm.Redactor`. Each figure is the best of N runs on one core.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
KIB = 1024

ADVERSARIAL = {
    "256 KiB of `a.`": "a." * (128 * KIB),
    "256 KiB of `a-`": "a-" * (128 * KIB),
    "256 KiB base64-ish run": "aB3+" * (64 * KIB),
    "256 KiB of `=`": "=" * (256 * KIB),
    "256 KiB of `a=`": "a=" * (128 * KIB),
    "256 KiB of `A=b `": "A=b " * (64 * KIB),
    "256 KiB of `curl -u `": "curl -u " * (32 * KIB),
    "240 KiB of `x://a:`": "x://a:" * (40 * KIB),
}


def _load_before(rev: str) -> Any:
    source = subprocess.run(
        ["git", "show", f"{rev}:daemon/src/gepad/llm/_redact.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    folder = Path(tempfile.mkdtemp(prefix="redact-before-"))
    path = folder / "redact_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("redact_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["redact_before"] = module
    spec.loader.exec_module(module)
    return module.Redactor()


def _best(redactor: Any, text: str, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        redactor.redact(text)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", default="9529d88")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from gepad.llm import Redactor

    before, after = _load_before(args.before), Redactor()
    code = "\n".join(
        p.read_text(encoding="utf-8")
        for folder in ("daemon/src", "gepa_engine/src", "lsp/src", "clients/python/src")
        for p in sorted((ROOT / folder).rglob("*.py"))
    )
    cases = {**ADVERSARIAL, f"this repo's source ({len(code) / KIB / KIB:.2f} MiB)": code}
    print("| input | before (s) | after (s) |")
    print("| --- | --- | --- |")
    for name, text in cases.items():
        b, a = _best(before, text, args.repeat), _best(after, text, args.repeat)
        print(f"| {name} | {b:.3f} | {a:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
