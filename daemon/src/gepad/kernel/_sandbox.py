"""Run one untrusted command outside the daemon: own session, own directory, hard limits.

Every compile and every GPU run goes through `run_sandboxed`. The child is started in a new
session (so it leads its own process group); on timeout or cancellation the whole group gets
SIGKILL, so compiler sub-processes (cudafe++, cicc, ptxas, gcc) and anything a generated program
forks die with it. Stragglers left behind by a child that exited normally are killed too: nothing
a job starts may outlive the job.

Resource limits are set by a tiny Python wrapper that calls setrlimit and then execs the real
command (same pid, so the process group is unchanged). A wrapper rather than `preexec_fn`,
because the daemon runs threads (aiosqlite) and `preexec_fn` is unsafe after fork in a threaded
process.

The child's environment is an allow-list of names (`ENV_ALLOWED`), with HOME and TMPDIR set to
the job's directory. With a `jail` (nvcc, where bubblewrap works; `gepad.kernel._jail`) the
command runs inside it; without one this is a guard, not a jail.

Known gap (without the jail): a child that calls setsid() itself leaves the group and escapes
the group kill. The tools we run (nvcc, clang++, the GPU harness) do not; inside the jail the
pid namespace takes such a child down with the jail.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gepad.kernel._jail import Jail

__all__ = [
    "ENV_ALLOWED",
    "Limits",
    "SandboxResult",
    "compile_limits",
    "default_env",
    "gpu_run_limits",
    "run_sandboxed",
]

_log = logging.getLogger(__name__)

# Sets the limits, then becomes the real command. argv: cpu fsize as -- cmd args...
# "-" means "leave this limit alone". Exit 127 mirrors the shell's "command not found".
_WRAPPER = """\
import os, resource, sys
names = (resource.RLIMIT_CPU, resource.RLIMIT_FSIZE, resource.RLIMIT_AS)
for which, raw in zip(names, sys.argv[1:4]):
    if raw != "-":
        value = int(raw)
        resource.setrlimit(which, (value, value))
cmd = sys.argv[5:]
try:
    os.execvp(cmd[0], cmd)
except OSError as exc:
    sys.stderr.write(f"sandbox: cannot execute {cmd[0]!r}: {exc}\\n")
    sys.exit(127)
"""

_READ_CHUNK = 65536
# After the main process exits, pipes may still be held by grandchildren; they are killed, and
# this bounds how long we then wait for the pipes to drain.
_DRAIN_GRACE_S = 2.0


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-process resource limits for the child; None leaves a limit as inherited."""

    cpu_s: int | None = None
    file_size_bytes: int | None = None
    address_space_bytes: int | None = None

    def __post_init__(self) -> None:
        for name in ("cpu_s", "file_size_bytes", "address_space_bytes"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"Limits.{name} must be positive, got {value}")

    @property
    def empty(self) -> bool:
        return (
            self.cpu_s is None
            and self.file_size_bytes is None
            and (self.address_space_bytes is None)
        )


def compile_limits(
    *, cpu_s: int = 120, file_size_mib: int = 256, address_space_gib: int = 8
) -> Limits:
    """Limits for a compile job. nvcc's cicc peaks well under 2 GiB on kernel-sized sources."""
    return Limits(
        cpu_s=cpu_s,
        file_size_bytes=file_size_mib << 20,
        address_space_bytes=address_space_gib << 30,
    )


def gpu_run_limits(*, cpu_s: int = 300, file_size_mib: int = 256) -> Limits:
    """Limits for a GPU run: no address-space cap (the CUDA driver maps huge virtual ranges)."""
    return Limits(cpu_s=cpu_s, file_size_bytes=file_size_mib << 20, address_space_bytes=None)


@dataclass(frozen=True, slots=True)
class SandboxResult:
    """What one sandboxed command did. `returncode` is negative for a signal (-9: killed)."""

    returncode: int
    stdout: str
    stderr: str
    timed_out: bool
    duration_s: float
    truncated: bool

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    @property
    def output(self) -> str:
        """stdout and stderr together (stderr last: compilers report there)."""
        if self.stdout and self.stderr:
            return self.stdout.rstrip("\n") + "\n" + self.stderr
        return self.stdout or self.stderr


class _Capture:
    """Keeps the first and last `limit // 2` bytes of a stream and counts what falls between."""

    __slots__ = ("_head", "_head_cap", "_tail", "_tail_cap", "total")

    def __init__(self, limit: int) -> None:
        self._head_cap = limit - limit // 2
        self._tail_cap = limit // 2
        self._head = bytearray()
        self._tail = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self._head_cap - len(self._head)
        if room > 0:
            self._head += chunk[:room]
            chunk = chunk[room:]
        if chunk and self._tail_cap > 0:
            self._tail += chunk
            if len(self._tail) > self._tail_cap:
                del self._tail[: len(self._tail) - self._tail_cap]

    @property
    def cut(self) -> int:
        return self.total - len(self._head) - len(self._tail)

    def text(self) -> str:
        head = self._head.decode("utf-8", errors="replace")
        if self.cut <= 0:
            return head + self._tail.decode("utf-8", errors="replace")
        tail = self._tail.decode("utf-8", errors="replace")
        return f"{head}\n[... {self.cut} bytes cut by gepad's output limit ...]\n{tail}"


async def _drain(stream: asyncio.StreamReader | None, capture: _Capture) -> None:
    if stream is None:
        return
    while True:
        chunk = await stream.read(_READ_CHUNK)
        if not chunk:
            return
        capture.feed(chunk)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


async def _wait_exit(proc: asyncio.subprocess.Process, timeout_s: float) -> bool:
    """Whether the main process exited within `timeout_s`.

    Polls `returncode` instead of awaiting `proc.wait()`: wait() also waits for the pipes to
    close, which a forked grandchild holding stdout can delay until the timeout.
    """
    deadline = time.monotonic() + timeout_s
    delay = 0.002
    while proc.returncode is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        await asyncio.sleep(min(delay, remaining))
        delay = min(delay * 2, 0.05)
    return True


def _close_transport(proc: asyncio.subprocess.Process) -> None:
    # Process has no public close(); an escaped grandchild (setsid) could otherwise keep the
    # pipe transports, and their file descriptors, open after we return.
    transport = getattr(proc, "_transport", None)
    if transport is not None:
        transport.close()


# The only variables a compiler or the GPU harness gets from the daemon's environment, by exact
# name (docs/kernel.md, "Environment"). Everything else (API keys, tokens, NVIDIA_API_KEY,
# AWS_*, a CUDA_SECRET_TOKEN) stays out of reach of generated code. HOME and TMPDIR are set to
# the job's directory. LC_ALL is not passed: it would override LC_MESSAGES=C, which keeps
# compiler messages in the English the parsers read. NVCC_PREPEND_FLAGS/NVCC_APPEND_FLAGS are
# not passed either: flags come from the configuration (`NvccConfig.extra_flags`).
ENV_ALLOWED = (
    "PATH",
    "LANG",
    "LC_CTYPE",
    "LD_LIBRARY_PATH",
    "CUDA_HOME",
    "CUDA_PATH",
    "CUDA_VISIBLE_DEVICES",
    "CUDA_DEVICE_ORDER",
    "NVCC_CCBIN",
    "PEANO_INSTALL_DIR",
    "MLIR_AIE_INSTALL_DIR",
    "XILINX_XRT",
)


def default_env() -> dict[str, str]:
    """The environment a sandboxed job gets when none is given: `ENV_ALLOWED` names only."""
    env = {key: os.environ[key] for key in ENV_ALLOWED if key in os.environ}
    env["LC_MESSAGES"] = "C"
    return env


def _wrapped(argv: Sequence[str], limits: Limits | None) -> list[str]:
    if limits is None or limits.empty:
        return list(argv)

    def fmt(value: int | None) -> str:
        return "-" if value is None else str(value)

    return [
        sys.executable,
        "-I",
        "-S",
        "-c",
        _WRAPPER,
        fmt(limits.cpu_s),
        fmt(limits.file_size_bytes),
        fmt(limits.address_space_bytes),
        "--",
        *argv,
    ]


async def run_sandboxed(
    argv: Sequence[str],
    *,
    timeout_s: float,
    cwd: Path | None = None,
    limits: Limits | None = None,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    output_limit: int = 64_000,
    jail: Jail | None = None,
) -> SandboxResult:
    """Run `argv` in its own session under `cwd` (a fresh temporary directory when None).

    The whole process group is killed at `timeout_s`, on cancellation, and after the main
    process exits. HOME and TMPDIR point to the job's directory so tool scratch files die with
    it. `env` None means `default_env()`: only the allow-listed names of the daemon's
    environment. With a `jail`, the command runs inside it (`gepad.kernel._jail`).
    Each of stdout and stderr keeps at most `output_limit` bytes (head and tail).
    """
    if not argv:
        raise ValueError("run_sandboxed needs a command")
    if timeout_s <= 0:
        raise ValueError(f"timeout_s must be positive, got {timeout_s}")
    if output_limit < 64:
        raise ValueError(f"output_limit must be at least 64 bytes, got {output_limit}")
    if cwd is None:
        with tempfile.TemporaryDirectory(prefix="gepad-job-") as tmp:
            work = Path(tmp)
            command = jail.argv(work, argv) if jail is not None else list(argv)
            return await _run(command, work, timeout_s, limits, env, stdin, output_limit)
    command = jail.argv(cwd, argv) if jail is not None else list(argv)
    return await _run(command, cwd, timeout_s, limits, env, stdin, output_limit)


async def _run(
    argv: Sequence[str],
    cwd: Path,
    timeout_s: float,
    limits: Limits | None,
    env: Mapping[str, str] | None,
    stdin: bytes | None,
    output_limit: int,
) -> SandboxResult:
    child_env = dict(default_env() if env is None else env)
    child_env["TMPDIR"] = str(cwd)
    child_env["HOME"] = str(cwd)
    started = time.monotonic()
    try:
        proc = await asyncio.create_subprocess_exec(
            *_wrapped(argv, limits),
            cwd=cwd,
            env=child_env,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        # The command itself is missing or not executable (only reachable without limits).
        return SandboxResult(
            returncode=127,
            stdout="",
            stderr=f"sandbox: cannot execute {argv[0]!r}: {exc}\n",
            timed_out=False,
            duration_s=time.monotonic() - started,
            truncated=False,
        )
    out, err = _Capture(output_limit), _Capture(output_limit)
    readers = asyncio.gather(_drain(proc.stdout, out), _drain(proc.stderr, err))
    timed_out = False
    try:
        if stdin is not None and proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                proc.stdin.write(stdin)
                await proc.stdin.drain()
            proc.stdin.close()
        timed_out = not await _wait_exit(proc, timeout_s)
        if timed_out:
            _log.info("sandbox: %s timed out after %.1f s; killing its group", argv[0], timeout_s)
        _kill_group(proc.pid)
        await _wait_exit(proc, _DRAIN_GRACE_S)
        try:
            await asyncio.wait_for(asyncio.shield(readers), timeout=_DRAIN_GRACE_S)
        except TimeoutError:
            _log.warning("sandbox: output of %s still open after its group was killed", argv[0])
    except BaseException:
        _kill_group(proc.pid)
        raise
    finally:
        if not readers.done():
            readers.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await readers
        _close_transport(proc)
    returncode = proc.returncode if proc.returncode is not None else -signal.SIGKILL
    return SandboxResult(
        returncode=returncode,
        stdout=out.text(),
        stderr=err.text(),
        timed_out=timed_out,
        duration_s=time.monotonic() - started,
        truncated=out.cut > 0 or err.cut > 0,
    )
