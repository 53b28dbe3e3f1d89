#!/usr/bin/env python3
"""Time one optimizer step's bookkeeping (parent selection + frontier update, no LLM).

    python bench/engine_overhead.py [--json OUT]

Both engines get a pool of 200 candidates scored on 2,000 validation examples (the same scores,
from `gepad_sim._overhead.overhead_scores`) and add one more; each is repeated 50 times and the
median is reported. The gepad half is `gepad_overhead_ms` in `gepad_sim.engine_overhead_gepad`;
the reference half times gepa 0.1.4's `ParetoCandidateSelector` and
`GEPAState.update_state_with_new_program`. OUT is {"gepad_ms_median": x, "reference_ms_median":
y}. `--reference-only` skips the gepad half (its median is then null).
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from gepad_sim._overhead import reference_overhead_ms

EXIT_OK = 0
EXIT_UNAVAILABLE = 2

_GEPAD_MODULE = "gepad_sim.engine_overhead_gepad"

Timer = Callable[[int, int, int, int], list[float]]


def _gepad_timer() -> Timer | None:
    try:
        module = importlib.import_module(_GEPAD_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name in (_GEPAD_MODULE, "gepad_sim"):
            return None
        raise
    fn = getattr(module, "gepad_overhead_ms", None)
    return fn if callable(fn) else None


def _describe(name: str, timings: Sequence[float]) -> str:
    return (
        f"{name:<10} median {statistics.median(timings):9.3f} ms   "
        f"(min {min(timings):.3f}, max {max(timings):.3f}, {len(timings)} repeats)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="engine_overhead.py", description=__doc__.split("\n")[0])
    parser.add_argument("--json", metavar="OUT", help="write the two medians to this JSON file")
    parser.add_argument("--candidates", type=int, default=200)
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--reference-only", action="store_true", help="time only the reference (gepa 0.1.4)"
    )
    args = parser.parse_args(argv)
    for flag in ("candidates", "examples", "repeats"):
        if getattr(args, flag) < 1:
            parser.error(f"--{flag} must be at least 1")
    if args.json is not None and not Path(args.json).resolve().parent.is_dir():
        parser.error(f"--json: the folder of {args.json!r} does not exist")

    gepad: Timer | None = None
    if not args.reference_only:
        gepad = _gepad_timer()
        if gepad is None:
            print(
                f"engine_overhead: the gepad half needs {_GEPAD_MODULE} "
                "(bench/gepad_sim/engine_overhead_gepad.py) with gepad_overhead_ms(n_candidates, "
                "n_examples, repeats, seed) -> list[float]; it does not exist yet "
                "(use --reference-only to time the reference alone)",
                file=sys.stderr,
            )
            return EXIT_UNAVAILABLE

    sizes = (args.candidates, args.examples, args.repeats, args.seed)
    print(
        f"one step's bookkeeping (selection + frontier update, no LLM): {args.candidates} "
        f"candidates x {args.examples} validation examples"
    )
    gepad_median: float | None = None
    if gepad is not None:
        gepad_ms = gepad(*sizes)
        gepad_median = statistics.median(gepad_ms)
        print(_describe("gepad", gepad_ms), flush=True)
    reference_ms = reference_overhead_ms(*sizes)
    reference_median = statistics.median(reference_ms)
    print(_describe("reference", reference_ms), flush=True)

    if args.json is not None:
        doc = {"gepad_ms_median": gepad_median, "reference_ms_median": reference_median}
        Path(args.json).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
