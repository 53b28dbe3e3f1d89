"""Checking a command's single object argument: every problem named, nothing coerced."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from gepad_lsp._errors import InputError
from gepad_lsp._text import MAX_SELECTION_BYTES

__all__ = ["COMPONENT_RE", "one_object", "opt_str", "req_str"]

COMPONENT_RE: Final = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


def one_object(
    command: str, args: Sequence[Any], allowed: frozenset[str], *, optional: bool = False
) -> dict[str, Any]:
    """The command's one argument, a JSON object with only `allowed` keys."""
    if not args and optional:
        return {}
    if len(args) != 1 or not isinstance(args[0], Mapping):
        shape = "{" + ", ".join(sorted(allowed)) + "}"
        raise InputError(
            f"{command} takes one object argument {shape}; got {len(args)} argument(s)"
            + (f" of type {type(args[0]).__name__}" if len(args) == 1 else "")
        )
    obj = dict(args[0])
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise InputError(
            f"{command}: unknown field(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )
    return obj


def opt_str(obj: Mapping[str, Any], name: str, *, non_empty: bool = False) -> str | None:
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"'{name}' must be a string, got {type(value).__name__}")
    if non_empty and not value.strip():
        raise InputError(f"'{name}' must not be empty")
    size = len(value.encode("utf-8", errors="surrogatepass"))
    if size > MAX_SELECTION_BYTES:
        raise InputError(f"'{name}' is {size} bytes; the limit is {MAX_SELECTION_BYTES} (256 KiB)")
    return value


def req_str(obj: Mapping[str, Any], name: str, *, non_empty: bool = False) -> str:
    if name not in obj or obj[name] is None:
        raise InputError(f"'{name}' is required")
    value = opt_str(obj, name, non_empty=non_empty)
    assert value is not None
    return value
