"""Is a configured model usable at all? A cheap check that sends nothing to the model.

Local servers (Ollama, or any `api_base`) get a TCP connect; hosted providers get a check that
their API key is in the environment. No request is made and litellm is not imported, so the
daemon can say "waiting for a model" before any feedback arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Mapping
from urllib.parse import urlsplit

__all__ = ["NO_CREDENTIALS_PREFIX", "probe_model"]

# How a problem that is an authentication problem (no key at all) starts: the runner reports
# it as "auth-error", not as a model it waits for.
NO_CREDENTIALS_PREFIX = "missing credentials"

_OLLAMA_DEFAULT = "http://localhost:11434"
# Provider prefix (or bare-name prefix) -> environment variables litellm reads for its key.
_KEYS: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "gpt-": ("OPENAI_API_KEY",),
    "o1": ("OPENAI_API_KEY",),
    "o3": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "claude": ("ANTHROPIC_API_KEY",),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "mistral": ("MISTRAL_API_KEY",),
    "groq": ("GROQ_API_KEY",),
    "deepseek": ("DEEPSEEK_API_KEY",),
    "openrouter": ("OPENROUTER_API_KEY",),
    "together_ai": ("TOGETHERAI_API_KEY", "TOGETHER_API_KEY"),
}


async def _connectable(url: str, timeout: float) -> str | None:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    host = parts.hostname or "localhost"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError) as exc:
        return f"nothing answers at {host}:{port} ({type(exc).__name__}: {exc})"
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return None


async def probe_model(
    model: str,
    api_base: str | None,
    *,
    environ: Mapping[str, str] | None = None,
    timeout: float = 2.0,
) -> str | None:
    """None when the model looks usable, else what is missing, in words."""
    env = os.environ if environ is None else environ
    provider = model.split("/", 1)[0] if "/" in model else ""
    if provider in ("ollama", "ollama_chat"):
        base = api_base or env.get("OLLAMA_API_BASE") or _OLLAMA_DEFAULT
        problem = await _connectable(base, timeout)
        return None if problem is None else f"Ollama for {model}: {problem}"
    if api_base:
        problem = await _connectable(api_base, timeout)
        return None if problem is None else f"{model} at {api_base}: {problem}"
    name = model.lower()
    for prefix, keys in _KEYS.items():
        if provider == prefix or (not provider and name.startswith(prefix)):
            if not any(env.get(k) for k in keys):
                return (
                    f"{NO_CREDENTIALS_PREFIX}: {model} needs {' or '.join(keys)} in the environment"
                )
            return None
    return None  # a provider we cannot check cheaply: the first call will tell
