"""Containment of kernel compiles (issue 12, items 11-13), each test the attack itself.

A secret lives in a temporary HOME outside the job directory; kernels try to read it through
includes, the jail is asked to show it, the child's environment is printed, and macros build
the names the raw-text checks look for. Few nvcc runs: each compile here fails fast or is
reused.
"""

from __future__ import annotations

import shutil
import socket
import sys
from pathlib import Path

import pytest
from gepad_kernel_testing import NVCC, needs_nvcc, processes_in, wait_dead

from gepad.kernel import (
    Containment,
    Jail,
    NvccConfig,
    NvccToolchain,
    check_cuda_source,
    evaluate_cuda,
    run_sandboxed,
    shipped_problems,
)
from gepad.kernel._jail import system_roots

SECRET = "TOPSECRET_7f3a9c"
BWRAP = shutil.which("bwrap")


def _jail_works() -> bool:
    if BWRAP is None:
        return False
    import subprocess

    probe = Jail(BWRAP, system_roots()).argv(Path("/tmp"), ["/usr/bin/true"])
    return subprocess.run(probe, capture_output=True, timeout=30).returncode == 0


JAIL_OK = _jail_works()
needs_jail = pytest.mark.skipif(
    not JAIL_OK, reason="bwrap (bubblewrap) is missing or cannot create namespaces here"
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user's home outside the job directory, holding a secret header."""
    folder = tmp_path / "home"
    (folder / ".aws").mkdir(parents=True)
    (folder / ".aws" / "credentials").write_text(f"int leaked = {SECRET};\n")
    monkeypatch.setenv("HOME", str(folder))
    return folder


# ---- item 11: includes and the jail -----------------------------------------------------------


async def test_an_absolute_include_is_refused_before_nvcc_runs(home: Path, tmp_path: Path) -> None:
    secret = home / ".aws" / "credentials"
    work = tmp_path / "work"
    work.mkdir()
    nvcc = NvccToolchain(NvccConfig(nvcc=NVCC or "/usr/bin/true", jail="off"))
    for source in (f'#include "{secret}"\n', f'#if __has_include("{secret}")\n#endif\n'):
        result = await nvcc.compile(source, workdir=work)
        assert not result.ok and result.returncode == 126
        assert "gepad refused to compile" in result.log and str(secret) in result.log
        assert SECRET not in result.log
        assert not (work / ".gepad-nvcc-keep").exists()  # nvcc never ran


@needs_jail
async def test_the_jail_shows_neither_home_nor_the_network(home: Path, tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    work = tmp_path / "work"
    work.mkdir()
    script = (
        f'cat "{home}/.aws/credentials"; ls /root /home {home}; cat /etc/passwd; '
        f"/usr/bin/python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", {port}), 2)'"
        "; echo pwd=$(pwd) tmp=$(ls -A /tmp); setsid sleep 100 & echo done"
    )
    jail = Jail(BWRAP or "bwrap", system_roots())
    try:
        res = await run_sandboxed(["/bin/sh", "-c", script], cwd=work, timeout_s=30, jail=jail)
    finally:
        listener.close()
    assert SECRET not in res.output
    assert "No such file or directory" in res.stderr  # the home, /root and /etc/passwd
    # its own network namespace: the daemon machine's loopback listener is not there
    assert "Network is unreachable" in res.stderr or "Connection refused" in res.stderr
    # a fresh /tmp: nothing but the way down to the job directory
    top = work.resolve().relative_to("/tmp").parts[0] if str(work).startswith("/tmp/") else ""
    assert f"pwd={work.resolve()} tmp={top}\n" in res.stdout and "done" in res.stdout
    # the jail's pid namespace takes the setsid() escapee with it (the guard alone misses it)
    assert wait_dead(processes_in(work)) == []


def _symlinked_secret(home: Path, work: Path) -> str:
    """A job directory whose header links to the secret: an include the raw check allows."""
    work.mkdir()
    (work / "helper.h").symlink_to(home / ".aws" / "credentials")
    source = '#include "helper.h"\n__global__ void k(float* y) { y[0] = 1.0f; }\n'
    assert check_cuda_source(source).ok
    return source


@needs_nvcc
@needs_jail
async def test_in_the_jail_nvcc_cannot_read_a_file_from_home(home: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    source = _symlinked_secret(home, work)
    nvcc = NvccToolchain(NvccConfig(jail="bwrap"))
    assert (await nvcc.containment()).jailed
    result = await nvcc.compile(source, workdir=work)
    assert not result.ok
    assert "helper.h" in result.log and "No such file or directory" in result.log
    assert SECRET not in result.log
    assert all(SECRET not in d.format() for d in result.diagnostics)


@needs_nvcc
async def test_under_the_guard_output_that_read_an_outside_file_is_withheld(
    home: Path, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    source = _symlinked_secret(home, work)
    nvcc = NvccToolchain(NvccConfig(jail="off"))
    containment = await nvcc.containment()
    assert isinstance(containment, Containment) and not containment.jailed
    assert containment.describe().startswith("guard, not a jail")
    result = await nvcc.compile(source, workdir=work)
    assert not result.ok and result.artifact is None
    assert "its output is withheld" in result.log
    assert str((home / ".aws" / "credentials").resolve()) in result.log
    assert SECRET not in result.log


@needs_nvcc
async def test_a_required_jail_that_is_unavailable_refuses_to_compile(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # nvcc is given by path; bwrap is not found
    nvcc = NvccToolchain(NvccConfig(nvcc=NVCC, jail="bwrap"))
    containment = await nvcc.containment()
    assert isinstance(containment, Containment) and not containment.jailed
    assert "bwrap (bubblewrap) is not on PATH" in containment.detail
    result = await nvcc.compile("__global__ void k() {}\n")
    assert not result.ok and "the bwrap jail is required" in result.log


# ---- item 12: the environment is an allow-list ------------------------------------------------

LEAKY = {
    "NVIDIA_API_KEY": "nvapi-leak",
    "CUDA_SECRET_TOKEN": "cuda-leak",
    "AWS_SECRET_ACCESS_KEY": "aws-leak",
    "AWS_ACCESS_KEY_ID": "AKIALEAK",
    "OPENAI_API_KEY": "sk-leak",
    "GITHUB_TOKEN": "ghp_leak",
    "NVCC_APPEND_FLAGS": "-DLEAK",
}


@pytest.fixture
def leaky_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in LEAKY.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    monkeypatch.setenv("LC_ALL", "de_DE.UTF-8")


@pytest.mark.usefixtures("leaky_env")
async def test_a_gpu_run_child_sees_only_allow_listed_names(tmp_path: Path) -> None:
    code = "import json, os; print(json.dumps(dict(os.environ)))"
    res = await run_sandboxed([sys.executable, "-I", "-c", code], cwd=tmp_path, timeout_s=20)
    import json

    env = json.loads(res.stdout)
    assert not set(LEAKY) & set(env), env
    assert not any(value in res.stdout for value in LEAKY.values())
    assert env["HOME"] == str(tmp_path) and env["TMPDIR"] == str(tmp_path)
    assert env["CUDA_VISIBLE_DEVICES"] == "3" and "PATH" in env
    assert "LC_ALL" not in env and env["LC_MESSAGES"] == "C"


@needs_nvcc
@pytest.mark.usefixtures("leaky_env")
async def test_nvcc_sees_only_allow_listed_names(tmp_path: Path) -> None:
    wrapper = tmp_path / "bin" / "nvcc"
    wrapper.parent.mkdir()
    wrapper.write_text(
        "#!/bin/sh\n"
        f'case "$*" in *--dryrun*|*--version*) exec "{NVCC}" "$@";; esac\n'
        'env | sed "s/^/ENV /" >&2\nexit 1\n'
    )
    wrapper.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    result = await NvccToolchain(NvccConfig(nvcc=str(wrapper))).compile(
        "__global__ void k() {}\n", workdir=work
    )
    env = dict(
        line[4:].split("=", 1) for line in result.log.splitlines() if line.startswith("ENV ")
    )
    assert env, result.log
    assert not set(LEAKY) & set(env)
    assert not any(value in result.log for value in LEAKY.values())
    assert env["HOME"] == str(work) and env["TMPDIR"] == str(work)
    assert env["CUDA_VISIBLE_DEVICES"] == "3"


# ---- item 13: names built by macros are caught in the preprocessed source ---------------------

MACRO_BUILT = r"""#include <cuda_runtime.h>
#define CAT(a, b) a##b
#define STR(x) #x
extern "C" void* CAT(dl, sym)(void*, const char*);
namespace CAT(a, t) { inline int relu(int x) { return x; } }
int use_at() { return CAT(a, t)::relu(1); }
#ifndef __CUDA_ARCH__
void g();
#define FALLBACK CAT(tr, y) { g(); } CAT(cat, ch) (...) { }
void host_only() { FALLBACK }
#endif
extern "C" int CAT(Py, _IsInitialized)(void);
const char* ref = STR(import torch);
__global__ void relu_kernel(const float* x, float* y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = fmaxf(x[i], 0.0f);
}
extern "C" void launch_relu(const float* x, float* y, int n) {
    relu_kernel<<<(n + 255) / 256, 256>>>(x, y, n);
}
"""


@needs_nvcc
async def test_macro_built_names_are_rejected_after_preprocessing() -> None:
    assert check_cuda_source(MACRO_BUILT).ok  # the raw text spells none of them
    relu = {p.name: p for p in shipped_problems()}["relu"]
    ev = await evaluate_cuda(MACRO_BUILT, relu, nvcc=NvccToolchain())
    assert ev.score == 0.0 and not ev.static_ok
    lines = {(f.rule, f.line) for f in ev.static.findings}
    assert {
        ("dynamic-loading", 4),
        ("library:torch", 6),
        ("try-fallback", 10),  # host pass only: hidden from a device-only -E
        ("library:python", 12),
        ("reference-embedded", 13),
    } <= lines, ev.static.format(limit=20)
    assert all(f.message.startswith("(after preprocessing)") for f in ev.static.findings)
    assert ev.compile is not None and {u.name for u in ev.compile.preprocessed} == {
        "kernel.cpp1.ii",
        "kernel.cpp4.ii",
    }


OPTIMIZED_ONLY = r"""#include <cuda_runtime.h>
#define CAT(a, b) a##b
__global__ void relu_kernel(const float* x, float* y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = fmaxf(x[i], 0.0f);
}
void fallback(const float* x, float* y, int n);
extern "C" void launch_relu(const float* x, float* y, int n) {
#ifdef __OPTIMIZE__
    CAT(tr, y) { relu_kernel<<<(n + 255) / 256, 256>>>(x, y, n); }
    CAT(cat, ch) (...) { fallback(x, y, n); }
#else
    relu_kernel<<<(n + 255) / 256, 256>>>(x, y, n);
#endif
}
void fallback(const float*, float*, int) {}
"""


@needs_nvcc
async def test_a_fallback_only_in_the_optimized_gpu_build_is_caught_before_loading() -> None:
    """The -O3 shared library the GPU run loads is checked on its own preprocessed source."""
    from gepad.kernel import GpuConfig, GpuInfo, GpuRunner

    relu = {p.name: p for p in shipped_problems()}["relu"]
    fake = GpuInfo(name="none", compute_capability="8.0", arch="sm_80", torch_version="")
    ev = await evaluate_cuda(
        OPTIMIZED_ONLY, relu, nvcc=NvccToolchain(), gpu=GpuRunner(fake, GpuConfig(timeout_s=60))
    )
    assert ev.compile is not None and ev.compile.ok  # the object build does not show it
    assert ev.run is not None and ev.run.stage == "static"  # never loaded by the harness
    assert ev.score == 0.0 and not ev.static_ok
    lines = {f.line for f in ev.static.findings if f.rule == "try-fallback"}
    assert lines == {10, 11}, ev.static.format()
