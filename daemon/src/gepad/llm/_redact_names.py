"""What redaction treats as a placeholder value and as a secret-looking name.

Shared by the rule table (`_redact_rules`) and by the LLM settings, which refuse secret-looking
keys in `model_params`. See docs/redaction.md.
"""

from __future__ import annotations

import functools
import re

__all__ = [
    "PLACEHOLDER_PREFIX",
    "has_classes",
    "is_placeholder_value",
    "is_secret_name",
    "name_segments",
    "placeholder",
]

PLACEHOLDER_PREFIX = "[REDACTED:"


def placeholder(kind: str) -> str:
    return f"{PLACEHOLDER_PREFIX}{kind}]"


# ---------------------------------------------------------------- value checks shared by rules

_REFERENCE = re.compile(
    r"""\$\{[^}]*\}|\$\(?[A-Za-z_][A-Za-z0-9_]*\)?|%\([^)]*\)[sd]|%[sd]|\{\{.*\}\}|\{[A-Za-z_0-9]*\}
    |<[^<>]*>|os\.environ.*|process\.env.*""",
    re.X,
)
_LITERALS = frozenset(
    [
        "none",
        "null",
        "nil",
        "true",
        "false",
        "undefined",
        "yes",
        "no",
        "on",
        "off",
        "empty",
        "required",
        "optional",
    ]
)


def is_placeholder_value(value: str) -> bool:
    """References, empty strings, booleans and already-masked values are not secrets."""
    v = value.strip()
    if not v or PLACEHOLDER_PREFIX in v:
        return True
    if v.lower() in _LITERALS or _REFERENCE.fullmatch(v):
        return True
    return set(v) <= set("*xX.-_ …")  # "****", "xxxx", "...", "…" are someone else's masking


def has_classes(s: str, *, upper: bool, lower: bool, digit: bool) -> bool:
    return (
        (not upper or any(c.isupper() for c in s))
        and (not lower or any(c.islower() for c in s))
        and (not digit or any(c.isdigit() for c in s))
    )


# ---------------------------------------------------------------- secret-looking names

_SECRET_WORDS = frozenset(
    [
        "password",
        "passwd",
        "pwd",
        "pass",
        "passphrase",
        "passcode",
        "secret",
        "token",
        "apikey",
        "credential",
        "credentials",
        "privatekey",
        "secretkey",
        "accesskey",
    ]
)
_KEY_QUALIFIERS = frozenset(
    [
        "api",
        "access",
        "secret",
        "private",
        "signing",
        "encryption",
        "master",
        "client",
        "app",
        "account",
        "auth",
        "license",
        "session",
        "shared",
        "service",
        "subscription",
    ]
)
_COUNTING_WORDS = frozenset(
    ["max", "min", "num", "count", "total", "limit", "budget", "length", "len", "size", "n"]
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def name_segments(name: str) -> list[str]:
    """`DB_PASSWORD` -> [db, password]; `apiKey` -> [api, key]."""
    parts: list[str] = []
    for chunk in re.split(r"[^A-Za-z0-9]+", name):
        parts += [p.lower() for p in _CAMEL.split(chunk) if p]
    return parts


@functools.lru_cache(maxsize=4096)  # the same few names recur: `A=b A=b …` stays cheap
def is_secret_name(name: str) -> bool:
    """True when the name ends in a secret word, so `max_tokens` and `author` are not secrets."""
    seg = name_segments(name)
    if not seg or _COUNTING_WORDS & set(seg):
        return False
    if seg[-1] in _SECRET_WORDS:
        return True
    # Run together by a tool's convention: `PGPASSWORD`, `MYSQL_PWD`'s cousins `DBPASSWORD`.
    if seg[-1].endswith(_COMPOUND_ENDINGS):
        return True
    # A GCP service-account file's `private_key_id` identifies its private key.
    if seg[-3:] == ["private", "key", "id"]:
        return True
    return seg[-1] == "key" and len(seg) >= 2 and seg[-2] in _KEY_QUALIFIERS


_COMPOUND_ENDINGS = ("password", "passwd", "passphrase", "secret")
