"""Deciding whether a model runs on this machine, and so whether text must be redacted."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from typing import Literal
from urllib.parse import urlsplit

RedactMode = Literal["auto", "always", "never"]
REDACT_MODES: tuple[str, ...] = ("auto", "always", "never")

_OLLAMA_PREFIXES = ("ollama/", "ollama_chat/")
# litellm's own fallback for Ollama when neither api_base nor OLLAMA_API_BASE is set.
_OLLAMA_DEFAULT_BASE = "http://localhost:11434"


def is_loopback_url(url: str) -> bool:
    """True when `url`'s host is localhost, 127.0.0.0/8 or ::1 (also as IPv4-mapped IPv6)."""
    text = url.strip()
    if "://" not in text:
        text = "//" + text  # `127.0.0.1:11434` has no scheme; urlsplit needs the `//`
    try:
        host = urlsplit(text).hostname
    except ValueError:
        return False
    if not host:
        return False
    host = host.rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def is_local_model(
    model: str, api_base: str | None, *, env: Mapping[str, str] | None = None
) -> bool:
    """Whether calls to `model` stay on this machine.

    Local: an Ollama model (`ollama/`, `ollama_chat/`) served at a loopback address — the
    given `api_base`, else `OLLAMA_API_BASE` from `env`, else Ollama's default localhost —
    or any model whose `api_base` is a loopback URL. Ollama "cloud" models (tag ending in
    `-cloud`) are forwarded by Ollama to ollama.com, so they are never local. When in doubt
    the answer is False, which means redaction applies.
    """
    if not isinstance(model, str) or not model.strip():
        raise ValueError(f"model must be a non-empty string, got {model!r}")
    environ = os.environ if env is None else env
    name = model.strip()
    if name.startswith(_OLLAMA_PREFIXES):
        if name.rsplit(":", 1)[-1].endswith("-cloud"):
            return False
        base = api_base or environ.get("OLLAMA_API_BASE") or _OLLAMA_DEFAULT_BASE
        return is_loopback_url(base)
    return api_base is not None and is_loopback_url(api_base)


def should_redact(mode: RedactMode, local: bool) -> bool:
    """`always` and `never` mean what they say; `auto` redacts whatever leaves the machine."""
    if mode == "always":
        return True
    if mode == "never":
        return False
    if mode == "auto":
        return not local
    raise ValueError(f"redact mode must be one of {', '.join(REDACT_MODES)}; got {mode!r}")
