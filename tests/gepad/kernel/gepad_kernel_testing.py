"""Shared helpers for the kernel-mode tests: skip markers and the Peano test double."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

NVCC = shutil.which("nvcc")
needs_nvcc = pytest.mark.skipif(
    NVCC is None, reason="nvcc (the CUDA toolkit) is not on PATH; compile tests need it"
)


def processes_in(directory: Path) -> list[int]:
    """Pids of live processes whose working directory is `directory` or below it."""
    found: list[int] = []
    target = str(directory.resolve())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and (cwd == target or cwd.startswith(target + os.sep)):
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_dead(pids: list[int], within_s: float = 3.0) -> list[int]:
    """The pids still alive after up to `within_s` seconds (reaping by init can lag a little)."""
    deadline = time.monotonic() + within_s
    left = [p for p in pids if alive(p)]
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = [p for p in left if alive(p)]
    return left


# A stand-in for Peano's clang++, used because the real one cannot be installed here. It answers
# --version and -print-targets like LLVM does, records its argv, and "compiles" by scanning the
# source: `#error` lines become clang-format errors; local arrays give each function a frame
# size, reported in a .su file (-fstack-usage) and as -Wframe-larger-than warnings.
_PEANO_DOUBLE = r'''#!@PYTHON@
"""TEST DOUBLE of Peano's clang++ (AMD llvm-aie) for gepad's tests. Not a compiler."""
import json, re, sys
from pathlib import Path

TARGETS = @TARGETS@
argv = sys.argv[1:]
if "--version" in argv:
    print("clang version 19.0.0 (https://github.com/Xilinx/llvm-aie test-double)")
    print("Target: x86_64-unknown-linux-gnu")
    print("InstalledDir: " + str(Path(sys.argv[0]).parent))
    sys.exit(0)
if "-print-targets" in argv:
    print("  Registered Targets:")
    for t in TARGETS:
        print(f"    {t:<10} - {t.upper()}")
    sys.exit(0)
Path("argv.json").write_text(json.dumps(argv))
src = Path(argv[argv.index("-c") + 1])
out = Path(argv[argv.index("-o") + 1])
target = next(a for a in argv if a.startswith("--target="))[len("--target="):]
if target.split("-")[0] not in TARGETS:
    print(f"error: unknown target triple '{target}'", file=sys.stderr)
    sys.exit(1)
limit = next((int(a.split("=")[1]) for a in argv if a.startswith("-Wframe-larger-than=")), None)
lines = src.read_text().splitlines()
errors = 0
for no, line in enumerate(lines, 1):
    m = re.match(r"\s*#\s*error\s+(.*)", line)
    if m:
        col = line.index("#") + 2
        print(f"{src.name}:{no}:{col}: error: {m.group(1)}", file=sys.stderr)
        print(f" {line}", file=sys.stderr)
        print(" " * col + "^", file=sys.stderr)
        errors += 1
if errors:
    print(f"{errors} error{'s' if errors > 1 else ''} generated.", file=sys.stderr)
    sys.exit(1)
sizes = {"int8_t": 1, "uint8_t": 1, "int16_t": 2, "bfloat16": 2, "int32_t": 4, "float": 4,
         "int": 4}
frames = []
current = None
for no, line in enumerate(lines, 1):
    m = re.match(r'\s*(?:extern "C"\s*)?(?:\{\s*)?void\s+(\w+)\s*\(([^)]*)\)', line)
    if m:
        current = [m.group(1), m.group(2), no, line.index(m.group(1)) + 1, 32]
        frames.append(current)
        continue
    a = re.match(r"\s*(\w+)\s+\w+\[(\d+)\];", line)
    if a and current is not None and a.group(1) in sizes:
        current[4] += sizes[a.group(1)] * int(a.group(2))
su = []
for name, params, no, col, size in frames:
    su.append(f"{src.name}:{no}:{col}:void {name}({params})\t{size}\tstatic")
    if limit is not None and size > limit:
        print(f"{src.name}:{no}:{col}: warning: stack frame size ({size}) exceeds limit "
              f"({limit}) in '{name}' [-Wframe-larger-than]", file=sys.stderr)
if "-fstack-usage" in argv:
    out.with_suffix(".su").write_text("\n".join(su) + "\n")
out.write_bytes(b"\x7fELF test-double object")
'''

_AIECC_DOUBLE = """#!@PYTHON@
\"\"\"TEST DOUBLE of mlir-aie's aiecc.py for gepad's tests. Builds nothing.\"\"\"
import json, sys
from pathlib import Path

args = sys.argv[1:]
Path("aiecc_argv.json").write_text(json.dumps(args))
design = Path(args[-1])
for no, line in enumerate(design.read_text().splitlines(), 1):
    if "undefined_symbol" in line:
        print(f"{design.name}:{no}:5: error: 'aie.core' op references an undefined symbol",
              file=sys.stderr)
        sys.exit(1)
name = next(a.split("=", 1)[1] for a in args if a.startswith("--xclbin-name="))
Path(name).write_bytes(b"test-double xclbin")
"""


def write_peano_double(folder: Path, *, targets: tuple[str, ...] = ("aie2", "aie2p")) -> Path:
    """Write the clang++ test double into `folder` and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "clang++"
    path.write_text(
        _PEANO_DOUBLE.replace("@PYTHON@", sys.executable).replace("@TARGETS@", repr(targets))
    )
    path.chmod(0o755)
    return path


def write_aiecc_double(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "aiecc.py"
    path.write_text(_AIECC_DOUBLE.replace("@PYTHON@", sys.executable))
    path.chmod(0o755)
    return path
