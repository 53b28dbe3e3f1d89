"""Rules for secrets with a known shape: provider tokens, URL parameters, command lines, XML.

Added for issue 12 (the misses of a realistic-secrets probe); docs/redaction.md lists them.
Every pattern is anchored on a literal prefix or a bounded run, so the cost stays linear in
the length of the text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ._redact_names import is_placeholder_value, is_secret_name

__all__ = ["COMMAND_RULES", "TOKEN_RULES", "Rule"]


@dataclass(frozen=True, slots=True)
class Rule:
    kind: str
    pattern: re.Pattern[str]
    group: int | str = 0
    accept: Callable[[re.Match[str]], bool] | None = None


def _mixed(m: re.Match[str]) -> bool:
    token = m.group(0)
    return any(c.isdigit() for c in token) and any(c.isalpha() for c in token)


TOKEN_RULES: tuple[Rule, ...] = (
    Rule("huggingface-token", re.compile(r"\bhf_[A-Za-z0-9]{30,}(?![A-Za-z0-9_-])"), 0, _mixed),
    Rule("gitlab-token", re.compile(r"\bgl(?:pat|dt|rt|ptt|cbt)-[A-Za-z0-9_-]{20,}(?![\w-])")),
    Rule("digitalocean-token", re.compile(r"\bdo[opr]_v1_[0-9a-f]{64}\b")),
    Rule("npm-token", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b")),
    # Twilio API key (SK) and account SID (AC): 32 hex digits, which the entropy rule skips.
    Rule("twilio-key", re.compile(r"\b(?:SK|AC)[0-9a-fA-F]{32}\b")),
)


# URL query parameters: a secret-looking name, or a signature, is masked whole, including its
# %-escapes (an Azure SAS `sig=…%2B…%3D` was masked only in part by the entropy rule).
_SIGNATURE_PARAMS = frozenset(
    ["sig", "signature", "x-amz-signature", "x-goog-signature", "x-amz-security-token"]
)
_URL_PARAM = re.compile(
    r"(?<=[?&;])(?P<key>[A-Za-z_][A-Za-z0-9_.-]{0,80})=(?P<val>[^&#\s\"'<>\[\]`]{1,4096})"
)


def _accept_url_param(m: re.Match[str]) -> bool:
    key, value = m.group("key"), m.group("val")
    if is_placeholder_value(value) or (value.isdigit() and len(value) < 6):
        return False
    return key.lower() in _SIGNATURE_PARAMS or is_secret_name(key)


def _real_password(value: str) -> bool:
    """Not a reference or a stand-in word (`-p SECRET`, `user:password` in documentation)."""
    return not (is_placeholder_value(value) or is_secret_name(value))


def _line_before(m: re.Match[str], limit: int = 400) -> str:
    """Up to `limit` characters of the match's line before it (bounded: stays linear)."""
    start = max(0, m.start() - limit)
    text = m.string[start : m.start()]
    return text[text.rfind("\n") + 1 :]


# `curl -u user:password` / `--user=user:password`; `-u` alone is too common to trust, so the
# line must start the command with `curl`.
_CURL_USER = re.compile(
    r"(?<![\w-])(?:-u|--user)(?:[ \t]+|=)[\"']?(?P<user>[^\s:\"'-][^\s:\"']{0,199}):"
    r"(?P<pw>[^\s\"'`]{1,400})"
)


def _accept_curl(m: re.Match[str]) -> bool:
    return "curl" in _line_before(m) and _real_password(m.group("pw"))


# `docker login -u ci -p SECRET` (also podman/helm registry login); `-p` needs `login` before.
_LOGIN_PASSWORD = re.compile(
    r"(?<![\w-])(?:-p|--password)(?:[ \t]+|=)[\"']?(?P<pw>[^\s\"'`-][^\s\"'`]{0,400})"
)


def _accept_login(m: re.Match[str]) -> bool:
    before = _line_before(m)
    return "login" in before and _real_password(m.group("pw"))


# `<password>…</password>`, `<apiKey>…</apiKey>` (Maven settings.xml, .NET config).
_XML_ELEMENT = re.compile(
    r"<(?P<tag>[A-Za-z_][A-Za-z0-9_.:-]{0,80})>(?P<val>[^<>\n]{1,4096})</(?P=tag)>"
)


def _accept_xml(m: re.Match[str]) -> bool:
    value = m.group("val")
    if not _real_password(value) or (value.isdigit() and len(value) < 6):
        return False
    return is_secret_name(m.group("tag").rpartition(":")[2])


COMMAND_RULES: tuple[Rule, ...] = (
    Rule("url-parameter", _URL_PARAM, "val", _accept_url_param),
    Rule("cli-password", _CURL_USER, "pw", _accept_curl),
    Rule("cli-password", _LOGIN_PASSWORD, "pw", _accept_login),
    Rule("xml-secret", _XML_ELEMENT, "val", _accept_xml),
)
