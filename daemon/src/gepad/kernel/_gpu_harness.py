"""GPU correctness and timing harness. Runs as its own process (``python -I this_file spec.json``).

Never imported by the daemon for its work: the daemon starts it in the sandbox, so a crashing or
hanging kernel takes down only this process. Standard library plus torch (the ``kernel`` extra);
torch is imported inside `main`, so the pure helpers below can be tested without it.

For each trial: seed, draw fresh inputs from the reference's ``get_inputs()``, compute the
reference output, fill the output buffer with NaN (poison), call the launcher through ctypes,
synchronize, and compare at the problem's tolerance. Inputs are checked to be unchanged. Timing:
warm-up calls, then CUDA events around each call on the current stream; the median is reported,
for the kernel and for the reference module on the same inputs.

Writes one JSON object to ``spec["result_path"]``.
"""

from __future__ import annotations

import ctypes
import json
import re
import statistics
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

_INT_VALUE = re.compile(
    r"\s*(?:numel\(\s*(?P<numel>\w+)\s*\)|shape\(\s*(?P<shape>\w+)\s*,\s*(?P<dim>-?\d+)\s*\)"
    r"|(?P<lit>-?\d+))\s*"
)
_CTYPES = {
    "input": ctypes.c_void_p,
    "output": ctypes.c_void_p,
    "int": ctypes.c_int,
    "int64": ctypes.c_longlong,
    "float": ctypes.c_float,
}


def resolve_int(expr: str, tensors: Mapping[str, Any]) -> int:
    """numel(T) / shape(T, d) / a literal, against objects with .numel() and .shape."""
    m = _INT_VALUE.fullmatch(expr)
    if m is None:
        raise ValueError(f"bad integer expression {expr!r}")
    if m["lit"] is not None:
        return int(m["lit"])
    if m["numel"] is not None:
        return int(tensors[m["numel"]].numel())
    return int(tensors[m["shape"]].shape[int(m["dim"])])


def launcher_values(args: Sequence[Mapping[str, Any]], tensors: Mapping[str, Any]) -> list[Any]:
    """ctypes values for the launcher, in order; tensors must expose data_ptr()."""
    values: list[Any] = []
    for arg in args:
        kind = arg["kind"]
        if kind in ("input", "output"):
            values.append(ctypes.c_void_p(tensors[arg["name"]].data_ptr()))
        elif kind in ("int", "int64"):
            values.append(_CTYPES[kind](resolve_int(arg["value"], tensors)))
        else:
            values.append(ctypes.c_float(float(arg["value"])))
    return values


def median_ms(samples: Sequence[float]) -> float:
    if not samples:
        raise ValueError("no timing samples")
    return float(statistics.median(samples))


def _write(path: str, payload: Mapping[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(payload, fh)


def _time(torch: Any, fn: Callable[[], Any], warmup: int, iters: int) -> list[float]:
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    samples: list[float] = []
    for _ in range(iters):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        samples.append(float(start.elapsed_time(end)))
    return samples


def run(spec: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ok": False,
        "stage": "setup",
        "error": None,
        "trials": 0,
        "trials_passed": 0,
    }
    try:
        import torch
    except ImportError as exc:
        out["error"] = f"torch is not importable ({exc}); install gepad[kernel] with a CUDA torch"
        return out
    out["torch"] = torch.__version__
    if not torch.cuda.is_available():
        out["error"] = "torch sees no CUDA device"
        return out
    out["device"] = torch.cuda.get_device_name(0)
    dtype = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[
        spec["dtype"]
    ]
    namespace: dict[str, Any] = {"__name__": "gepad_reference"}
    exec(compile(spec["reference"], "reference.py", "exec"), namespace)
    torch.manual_seed(int(spec["seed"]))
    model = namespace["Model"](*namespace["get_init_inputs"]()).cuda().eval()

    out["stage"] = "load"
    try:
        lib = ctypes.CDLL(spec["library"])
        launcher = getattr(lib, spec["entry"])
    except (OSError, AttributeError) as exc:
        out["error"] = f"entry point {spec['entry']} not found in the built library: {exc}"
        return out
    args = spec["args"]
    launcher.restype = None
    launcher.argtypes = [_CTYPES[a["kind"]] for a in args]

    atol, rtol = float(spec["atol"]), float(spec["rtol"])
    inputs: list[Any] = []
    tensors: dict[str, Any] = {}
    for trial in range(int(spec["trials"])):
        out["stage"] = "run"
        out["trials"] = trial + 1
        torch.manual_seed(int(spec["seed"]) + 1 + trial)
        raw = namespace["get_inputs"]()
        inputs = [x.cuda().contiguous() if torch.is_tensor(x) else x for x in raw]
        tensors = {}
        for a in args:
            if a["kind"] == "input":
                value = inputs[a["index"]]
                if not torch.is_tensor(value) or value.dtype != dtype:
                    got = value.dtype if torch.is_tensor(value) else type(value).__name__
                    out["error"] = f"get_inputs()[{a['index']}] is {got}, expected a {dtype} tensor"
                    return out
                tensors[a["name"]] = value
        with torch.no_grad():
            expected = model(*inputs)
        torch.cuda.synchronize()
        result = torch.full_like(expected, float("nan")).contiguous()
        output_name = next(a["name"] for a in args if a["kind"] == "output")
        tensors[output_name] = result
        before = {n: t.clone() for n, t in tensors.items() if n != output_name}
        try:
            launcher(*launcher_values(args, tensors))
            torch.cuda.synchronize()
        except Exception as exc:  # illegal memory access and friends surface here
            # (RuntimeError, or torch.AcceleratorError in newer releases)
            out["error"] = f"trial {trial + 1}: CUDA error after the launch: {exc}"
            return out
        out["stage"] = "compare"
        for name, copy in before.items():
            if not torch.equal(copy, tensors[name]):
                out["error"] = f"trial {trial + 1}: the kernel modified its input {name}"
                return out
        poison = torch.isnan(result) & ~torch.isnan(expected)
        if bool(poison.any()):
            out["error"] = (
                f"trial {trial + 1}: {int(poison.sum())} of {result.numel()} output values still "
                "hold the NaN poison: the kernel did not write them (launch failed, or too few "
                "threads/blocks)"
            )
            return out
        # NaN where both are NaN (allowed by equal_nan) must not poison the error figure.
        diff = torch.nan_to_num((result.float() - expected.float()).abs(), nan=0.0)
        out["max_abs_error"] = max(float(diff.max()), float(out.get("max_abs_error", 0.0)))
        close = torch.isclose(result, expected, atol=atol, rtol=rtol, equal_nan=True)
        if not bool(close.all()):
            bad = int((~close).sum())
            flat = int((~close).flatten().nonzero()[0])
            out["error"] = (
                f"trial {trial + 1}: wrong values (mismatch) at {bad} of {result.numel()} "
                f"positions (atol {atol:g}, rtol {rtol:g}); max abs error {float(diff.max()):.3g}; "
                f"first at flat index {flat}: got {float(result.flatten()[flat]):.6g}, expected "
                f"{float(expected.flatten()[flat]):.6g}"
            )
            return out
        out["trials_passed"] = trial + 1

    out["stage"] = "timing"
    values = launcher_values(args, tensors)
    kernel_samples = _time(
        torch, lambda: launcher(*values), int(spec["warmup"]), int(spec["iters"])
    )

    def reference() -> None:
        with torch.no_grad():
            model(*inputs)

    reference_samples = _time(torch, reference, int(spec["warmup"]), int(spec["iters"]))
    out["kernel_ms"] = median_ms(kernel_samples)
    out["reference_ms"] = median_ms(reference_samples)
    out["speedup"] = (
        out["reference_ms"] / out["kernel_ms"] if out["kernel_ms"] > 0 else float("inf")
    )
    out["stage"] = "done"
    out["ok"] = True
    return out


def main(argv: Sequence[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: _gpu_harness.py SPEC.json\n")
        return 2
    with open(argv[1], encoding="utf-8") as fh:
        spec = json.load(fh)
    try:
        payload = run(spec)
    except Exception as exc:  # report, don't hide: the traceback goes to stderr too
        traceback.print_exc()
        payload = {"ok": False, "stage": "harness", "error": f"{type(exc).__name__}: {exc}"}
    _write(spec["result_path"], payload)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
