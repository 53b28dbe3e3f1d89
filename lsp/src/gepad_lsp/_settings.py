"""The language server's settings: gepad's config file and `GEPAD_*` variables, then the
client's `initializationOptions` (same names) on top."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

__all__ = ["LspSettings", "component_for", "load_settings"]

log = logging.getLogger(__name__)

_KERNEL_SUFFIXES = (".cu", ".cuh")


@dataclass(frozen=True, slots=True)
class LspSettings:
    home: Path | None
    spool_dir: Path
    logs_dir: Path
    kernel_globs: tuple[str, ...] = ()
    thumbs_up_after_s: float = 300.0
    context_lines: int = 10
    autostart: bool = True


def load_settings(
    init_options: Any = None, environ: Mapping[str, str] | None = None
) -> LspSettings:
    """Never raises: a broken config file is logged and the defaults are used instead, since
    an editor cannot show a language server that refused to start."""
    from gepad.config import load_config
    from gepad.errors import GepadError
    from gepad.paths import resolve_paths

    env = os.environ if environ is None else environ
    paths = resolve_paths(env)
    settings = LspSettings(home=paths.home, spool_dir=paths.spool_dir, logs_dir=paths.logs_dir)
    try:
        config = load_config(paths, env)
    except GepadError as exc:
        log.error("gepad's configuration was refused, using defaults: %s", exc)
    else:
        settings = replace(
            settings,
            kernel_globs=tuple(config.lsp_kernel_globs),
            thumbs_up_after_s=config.lsp_thumbs_up_after_s,
            context_lines=config.lsp_context_lines,
            autostart=config.lsp_autostart,
        )
    return _with_options(settings, init_options)


def _with_options(settings: LspSettings, options: Any) -> LspSettings:
    if not isinstance(options, Mapping):
        return settings
    changes: dict[str, Any] = {}
    globs = options.get("kernel_globs")
    if isinstance(globs, list) and all(isinstance(g, str) for g in globs):
        changes["kernel_globs"] = tuple(globs)
    after = options.get("thumbs_up_after_s")
    if isinstance(after, int | float) and not isinstance(after, bool) and after > 0:
        changes["thumbs_up_after_s"] = float(after)
    lines = options.get("context_lines")
    if isinstance(lines, int) and not isinstance(lines, bool) and 0 <= lines <= 1000:
        changes["context_lines"] = lines
    autostart = options.get("autostart")
    if isinstance(autostart, bool):
        changes["autostart"] = autostart
    ignored = sorted(set(options) - set(changes))
    if ignored:
        log.warning("ignored initializationOptions (unknown or ill-typed): %s", ", ".join(ignored))
    return replace(settings, **changes)


def component_for(path: str, kernel_globs: tuple[str, ...]) -> str:
    """`kernel` for CUDA sources and paths matching a configured glob, else `general`."""
    from fnmatch import fnmatch

    if path.lower().endswith(_KERNEL_SUFFIXES):
        return "kernel"
    if any(fnmatch(path, g) or fnmatch(Path(path).name, g) for g in kernel_globs):
        return "kernel"
    return "general"
