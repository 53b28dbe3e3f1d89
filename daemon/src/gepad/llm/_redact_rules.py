"""The rule table: each rule is a pattern, the group it masks, and a check on the match.

Rules run in order, each on the output of the previous one (see `_redact.Redactor`); the
order and every shape are documented in docs/redaction.md.
"""

from __future__ import annotations

import base64
import binascii
import re

from ._redact_entropy import is_structured
from ._redact_names import (
    PLACEHOLDER_PREFIX,
    has_classes,
    is_placeholder_value,
    is_secret_name,
)
from ._redact_shapes import COMMAND_RULES, TOKEN_RULES, Rule

__all__ = ["FIXED_RULES", "Rule"]


# ---------------------------------------------------------------- `.env` / YAML / JSON assignments

# The look-behind holds every character a key may contain, so a key is only tried where one
# starts: with `.` and `-` missing, `a.a.a.…` started a (failing) 80-character match at every
# letter, and 256 KiB of it took seconds.
_KEY = r"(?<![A-Za-z0-9_.-])(?P<key>[A-Za-z_][A-Za-z0-9_.-]{0,80})(?P<kq>[\"']?)"
_SEP = r"[ \t]*(?P<sep>:=|=>|[:=])(?![=>])[ \t]*"
_QUOTED_ASSIGNMENT = re.compile(
    _KEY + _SEP + r"(?P<q>[\"'])(?P<val>(?:\\.|(?!(?P=q))[^\\\n]){1,4096})(?P=q)"
)
_UNQUOTED_ASSIGNMENT = re.compile(
    _KEY + _SEP + r"(?P<val>[^\s\"'`,;#()\[\]{}<>|=][^\s\"'`,;#()\[\]{}<>|]{0,4095})", re.MULTILINE
)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_TYPE_WORDS = frozenset(
    [
        "str",
        "string",
        "int",
        "integer",
        "bytes",
        "bool",
        "boolean",
        "float",
        "number",
        "any",
        "object",
        "list",
        "dict",
        "secretstr",
        "secretbytes",
        "char",
        "uint8",
        "text",
        "varchar",
    ]
)
_CODE_KEYWORDS = frozenset(
    [
        "self",
        "this",
        "cls",
        "await",
        "new",
        "yield",
        "lambda",
        "function",
        "typeof",
        "not",
        "return",
        "async",
        "const",
        "let",
        "var",
    ]
)


def _short_number(value: str) -> bool:
    return value.isdigit() and len(value) < 6


_TYPE_NAME = re.compile(r"[A-Z][A-Za-z]*[a-z][A-Za-z]*(?:\[.*\])?")


def _accept_quoted(m: re.Match[str]) -> bool:
    value = m.group("val")
    if not is_secret_name(m.group("key")) or is_placeholder_value(value) or _short_number(value):
        return False
    # `def f(token: "Token") -> ...` and `token: "Token" = None` are forward-referenced types.
    after = m.string[m.end() : m.end() + 8].lstrip()
    return not (
        m.group("sep") == ":" and _TYPE_NAME.fullmatch(value) and after[:1] in (")", "=", "|", "]")
    )


_ENV_ASSIGNMENT = re.compile(
    r"(?:^[ \t]*(?P<export>(?:export|set|env)[ \t]+)?|(?<=--)|(?<=[ \t;&(]))"
    r"(?P<key>[A-Za-z_][A-Za-z0-9_.-]{0,80})=(?P<val>[^\s\"'][^\s]{0,4095})",
    re.MULTILINE,
)
_CODE_VALUE = re.compile(r"[A-Za-z_][\w.]*[(\[].*|.*[,)]")


def _accept_env(m: re.Match[str]) -> bool:
    """`NAME=value` lines of a `.env` file or shell, and `--flag=value`: the whole value counts.

    Only upper-case names (the environment-variable convention), `export`/`set` lines and
    flags: a lower-case `password=password,` at the start of a line is a keyword argument.
    """
    key, value = m.group("key"), m.group("val")
    flag = m.string[max(0, m.start("key") - 2) : m.start("key")] == "--"
    if not (flag or m.group("export") or key.upper() == key):
        return False
    if not is_secret_name(key) or is_placeholder_value(value) or _short_number(value):
        return False
    return value != key and _CODE_VALUE.fullmatch(value) is None


def _rest_of_line(m: re.Match[str]) -> str:
    end = m.string.find("\n", m.end())
    return m.string[m.end() : end if end >= 0 else len(m.string)].strip()


def _accept_unquoted(m: re.Match[str]) -> bool:
    """An unquoted value after `:` or `=` (YAML, INI, HTTP headers, code).

    It counts only when it is the last thing on its line (a comment may follow): that keeps
    prose (`pwd: expected bytes`), type hints (`token: str = None`), calls, comparisons and
    expressions out, at the price of missing unquoted values that contain spaces.
    """
    key, value, sep = m.group("key"), m.group("val"), m.group("sep")
    if not is_secret_name(key) or is_placeholder_value(value) or _short_number(value):
        return False
    rest = _rest_of_line(m)
    if (rest and not rest.startswith(("#", "//", ";"))) or value.endswith(":"):
        return False
    lowered = value.lower()
    if lowered in _CODE_KEYWORDS or lowered in _TYPE_WORDS or value == key:
        return False
    if _IDENTIFIER.fullmatch(value) is None:
        return True
    if sep == ":":
        # YAML `password: hunter` counts; `config.token` and a CamelCase type name do not.
        return "." not in value and not re.fullmatch(r"[A-Z][A-Za-z]*[a-z][A-Za-z]*", value)
    # After `=` a bare identifier is a variable in code, unless it looks like an INI secret
    # or is a long random token (`_authToken=npm_…`, `access_token=EAA…_…`).
    if any(c.isdigit() for c in value) and "_" not in value and "." not in value:
        return True
    return len(value) >= 16 and any(c.isdigit() for c in value) and not is_structured(value)


# YAML `password: correct horse battery staple`: a value with spaces, alone on its line. Prose
# has the same shape (`password: the user's password.`), so it counts only when it is short,
# has no sentence punctuation, does not start like a sentence and names no secret word.
_SPACED_VALUE = re.compile(
    r"^[ \t]*(?:-[ \t]+)?(?P<key>[A-Za-z_][A-Za-z0-9_.-]{0,80})[ \t]*:[ \t]+"
    r"(?P<val>[^\s\"'#|>&*!%@`{\[](?:[^\n#]{0,200}[^\s#])?)[ \t]*(?:#[^\n]*)?$",
    re.MULTILINE,
)
_PROSE_START = frozenset(
    (
        "a",
        "an",
        "the",
        "this",
        "that",
        "these",
        "your",
        "our",
        "my",
        "its",
        "it",
        "is",
        "are",
        "be",
        "if",
        "when",
        "to",
        "for",
        "of",
        "in",
        "on",
        "with",
        "see",
        "use",
        "used",
        "uses",
        "optional",
        "required",
        "default",
        "defaults",
        "must",
        "should",
        "will",
        "can",
        "may",
        "not",
        "no",
        "set",
        "get",
        "gets",
        "returns",
        "return",
        "which",
        "where",
        "what",
        "how",
    )
)


def _accept_spaced(m: re.Match[str]) -> bool:
    key, value = m.group("key"), m.group("val")
    words = value.split()
    if len(words) < 2 or len(words) > 6 or not is_secret_name(key):
        return False
    if is_placeholder_value(value) or value[-1] in ".,:;)?!" or words[0].lower() in _PROSE_START:
        return False
    if any(c in value for c in "()=[]{}<>\"'`"):
        return False
    return not any(is_secret_name(w) for w in words)


# ---------------------------------------------------------------- the other accept functions


def _accept_url_password(m: re.Match[str]) -> bool:
    return not is_placeholder_value(m.group("pw"))


def _accept_openai(m: re.Match[str]) -> bool:
    body = re.sub(r"^sk-(?:proj|svcacct|admin)-", "", m.group(0))
    return has_classes(body, upper=True, lower=True, digit=True)


def _accept_bearer(m: re.Match[str]) -> bool:
    v = m.group("v")
    return PLACEHOLDER_PREFIX not in v and has_classes(v, upper=False, lower=False, digit=True)


def _accept_basic(m: re.Match[str]) -> bool:
    raw = m.group("v")
    try:
        decoded = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return b":" in decoded


# ---------------------------------------------------------------- the rule table

FIXED_RULES: tuple[Rule, ...] = (
    Rule(
        "private-key",
        re.compile(
            r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
            r"(?:-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|\Z)"
        ),
    ),
    Rule("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")),
    Rule(
        "slack-webhook",
        re.compile(
            r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/+-]{8,}"
        ),
    ),
    Rule(
        "url-password",
        # The password may hold `@` (`p@ss@host`): it runs to the last `@` of the authority.
        re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]{1,20}://[^\s:/?#@\[\]]*:(?P<pw>[^\s/\[\]]+)@"),
        "pw",
        _accept_url_password,
    ),
    *TOKEN_RULES,
    Rule("anthropic-key", re.compile(r"\bsk-ant-[A-Za-z0-9_-]{20,}")),
    Rule("openai-key", re.compile(r"\bsk-[A-Za-z0-9_-]{20,}"), 0, _accept_openai),
    Rule("github-token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_\w{22,255})")),
    Rule(
        "aws-access-key-id",
        re.compile(
            r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|A3T[A-Z0-9])"
            r"[A-Z0-9]{16}\b"
        ),
    ),
    Rule(
        "aws-secret-key",
        re.compile(
            r"(?i)aws[a-z0-9_ .-]{0,30}?secret[a-z0-9_ .-]{0,30}?[\"']?\s*(?::=|=>|[:=])\s*[\"']?"
            r"(?P<v>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
        ),
        "v",
    ),
    Rule(
        "slack-token",
        re.compile(r"\b(?:xox[abprs]-[A-Za-z0-9-]{10,250}|xapp-\d-[A-Za-z0-9-]{10,250})"),
    ),
    Rule("google-api-key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])")),
    Rule(
        "bearer-token",
        re.compile(r"(?i)\bbearer[ \t]+(?P<v>[A-Za-z0-9._~+/-]{16,}=*)"),
        "v",
        _accept_bearer,
    ),
    Rule(
        "basic-auth",
        re.compile(r"(?i)\bbasic[ \t]+(?P<v>[A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])"),
        "v",
        _accept_basic,
    ),
    *COMMAND_RULES,
    Rule("secret-assignment", _QUOTED_ASSIGNMENT, "val", _accept_quoted),
    Rule("secret-assignment", _ENV_ASSIGNMENT, "val", _accept_env),
    Rule("secret-assignment", _UNQUOTED_ASSIGNMENT, "val", _accept_unquoted),
    Rule("secret-assignment", _SPACED_VALUE, "val", _accept_spaced),
)
