"""Masking secrets in text before it leaves the machine.

The rule set, what it deliberately leaves alone, and why, is documented in docs/redaction.md;
keep the two in step. Rules run in order, each on the output of the previous one, so a
specific rule (a GitHub token) claims a string before a generic one (high entropy) sees it.
A placeholder `[REDACTED:<kind>]` contains `[`, `:` and `]`, which no rule accepts inside a
secret, so nothing is masked twice.
"""

from __future__ import annotations

import base64
import binascii
import collections
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

PLACEHOLDER_PREFIX = "[REDACTED:"


def placeholder(kind: str) -> str:
    return f"{PLACEHOLDER_PREFIX}{kind}]"


@dataclass(frozen=True, slots=True)
class Redaction:
    """The masked text of one string and how many secrets of each kind were masked."""

    text: str
    counts: tuple[tuple[str, int], ...]

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(kind for kind, _ in self.counts)

    @property
    def total(self) -> int:
        return sum(n for _, n in self.counts)


@dataclass(frozen=True, slots=True)
class RedactionReport:
    """What `redact_messages` masked over all messages: kinds and counts, never the secrets."""

    counts: tuple[tuple[str, int], ...]

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(kind for kind, _ in self.counts)

    @property
    def total(self) -> int:
        return sum(n for _, n in self.counts)


@dataclass(frozen=True, slots=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]
    group: int | str = 0
    accept: Callable[[re.Match[str]], bool] | None = None


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


def _is_placeholder_value(value: str) -> bool:
    """References, empty strings, booleans and already-masked values are not secrets."""
    v = value.strip()
    if not v or PLACEHOLDER_PREFIX in v:
        return True
    if v.lower() in _LITERALS or _REFERENCE.fullmatch(v):
        return True
    return set(v) <= set("*xX.-_ ")  # "****", "xxxx", "..." are someone else's masking


def _has_classes(s: str, *, upper: bool, lower: bool, digit: bool) -> bool:
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


def is_secret_name(name: str) -> bool:
    """True when the name ends in a secret word, so `max_tokens` and `author` are not secrets."""
    seg = name_segments(name)
    if not seg or _COUNTING_WORDS & set(seg):
        return False
    if seg[-1] in _SECRET_WORDS:
        return True
    return seg[-1] == "key" and len(seg) >= 2 and seg[-2] in _KEY_QUALIFIERS


# ---------------------------------------------------------------- `.env` / YAML / JSON assignments

_KEY = r"(?<![A-Za-z0-9_])(?P<key>[A-Za-z_][A-Za-z0-9_.-]{0,80})(?P<kq>[\"']?)"
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
    if not is_secret_name(m.group("key")) or _is_placeholder_value(value) or _short_number(value):
        return False
    # `def f(token: "Token") -> ...` and `token: "Token" = None` are forward-referenced types.
    after = m.string[m.end() : m.end() + 8].lstrip()
    return not (
        m.group("sep") == ":" and _TYPE_NAME.fullmatch(value) and after[:1] in (")", "=", "|", "]")
    )


_ENV_ASSIGNMENT = re.compile(
    r"(?:^[ \t]*(?P<export>(?:export|set)[ \t]+)?|(?<=--))"
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
    if not is_secret_name(key) or _is_placeholder_value(value) or _short_number(value):
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
    if not is_secret_name(key) or _is_placeholder_value(value) or _short_number(value):
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
    # After `=` a bare identifier is a variable in code, unless it looks like an INI secret.
    return any(c.isdigit() for c in value) and "_" not in value and "." not in value


# ---------------------------------------------------------------- the other accept functions


def _accept_url_password(m: re.Match[str]) -> bool:
    return not _is_placeholder_value(m.group("pw"))


def _accept_openai(m: re.Match[str]) -> bool:
    body = re.sub(r"^sk-(?:proj|svcacct|admin)-", "", m.group(0))
    return _has_classes(body, upper=True, lower=True, digit=True)


def _accept_bearer(m: re.Match[str]) -> bool:
    v = m.group("v")
    return PLACEHOLDER_PREFIX not in v and _has_classes(v, upper=False, lower=False, digit=True)


def _accept_basic(m: re.Match[str]) -> bool:
    raw = m.group("v")
    try:
        decoded = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return b":" in decoded


# ---------------------------------------------------------------- high entropy

_WORDISH = re.compile(r"[A-Z]?[a-z]{2,}")
_VOWEL = re.compile(r"[aeiouy]")
_SEGMENT_SPLIT = re.compile(r"[-_/+=.]+")
_ALPHABETS = (
    "abcdefghijklmnopqrstuvwxyz",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "0123456789",
)


def shannon_entropy(s: str) -> float:
    """Bits per character of `s`'s own character distribution."""
    if not s:
        return 0.0
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in collections.Counter(s).values())


# The letter pairs that make up 99.5% of all pairs in the words of CPython 3.11's top-level
# stdlib modules (identifiers split at camelCase, docstrings, comments): 386 of 676 pairs.
# Random letters hit this set 57% of the time per pair; words and identifiers nearly always.
_COMMON_BIGRAMS = frozenset(
    re.findall(
        "..",
        "abacadafagaiakalamanaparasatauavawaxaybabcbdbebibjblbobpbrbsbtbubycacccdcecfchcickclcmcn"
        "cocpcrcsctcucvcydadbdcdddedfdidldndodpdrdsdtdudyeaebecedeeefegeheiekelemeneoepeqereseteu"
        "evewexeyfafcfdfefffiflfmfnfofpfrfsftfufygagcgeggghgiglgmgngogrgsgtgugvgzhahehihlhmhnhohr"
        "hshthuiaibicidieifigiiikiliminioipirisitivixizjajejojukakdkekgkiklknkokpkskukwlalblcldle"
        "lflilllnlolplrlsltlulvlwlymambmdmemimlmmmnmompmrmsmtmumynanbncndnenfngnhninknlnmnnnonpnr"
        "nsntnunvnyoaobocodoeofogoiokolomonoooporosotouovowoxozpapcpdpepfphpipkplpnpoppprpsptpupv"
        "pwpyqurarbrcrdrerfrgrirkrlrmrnrorprrrsrtrurvrwrysascsdsesfsgshsiskslsmsnsospsrssstsuswsy"
        "tatbtctdtetfthtitltmtntotptrtstttutwtxtytzuaubucudueufuguiulumunuoupurusutuuvavevivmvowa"
        "wdwewhwiwlwnwowrwswwxaxcxexixlxpxsxtxxybycyeyiylymynyoypysytywzezizo",
    )
)


def _pronounceable(piece: str) -> bool:
    w = piece.lower()
    if not _VOWEL.search(w):
        return False
    pairs = [w[i : i + 2] for i in range(len(w) - 1)]
    uncommon = sum(p not in _COMMON_BIGRAMS for p in pairs)
    return uncommon <= (1 if len(w) >= 5 else 0)


def _word_coverage(s: str) -> float:
    """Share of `s` made of pronounceable word pieces (`Policy`, `read`); low for random text.

    SCREAMING_CASE is read as lower case.
    """
    if not s:
        return 0.0
    if not any(c.islower() for c in s):
        s = s.lower()
    return sum(len(w) for w in _WORDISH.findall(s) if _pronounceable(w)) / len(s)


def _has_alphabet_run(s: str, run: int = 5) -> bool:
    """`abcdef` / `ZYXWV` / `01234` are tables of characters written by a person, not keys."""
    for alphabet in _ALPHABETS:
        backwards = alphabet[::-1]
        for i in range(len(alphabet) - run + 1):
            if alphabet[i : i + run] in s or backwards[i : i + run] in s:
                return True
    return False


def _is_structured(token: str) -> bool:
    """Names built from words, short parts and numbers (`ELBSecurityPolicy-TLS13-1-2-2021-06`)."""
    segments = [s for s in _SEGMENT_SPLIT.split(token) if s]
    total = sum(len(s) for s in segments)
    if not total:
        return True
    wordlike = sum(
        len(s) for s in segments if len(s) <= 3 or _HEXISH.fullmatch(s) or _word_coverage(s) >= 0.6
    )
    return wordlike / total >= 0.6


_HEXISH = re.compile(r"(?:0x)?[0-9a-fA-F-]+")


def looks_random(token: str, *, threshold: float) -> bool:
    """The high-entropy rule's test, exposed for tests and docs."""
    if _HEXISH.fullmatch(token):  # git SHAs, digests, UUIDs: see docs/redaction.md
        return False
    if not (any(c.isdigit() for c in token) and any(c.isalpha() for c in token)):
        return False
    if shannon_entropy(token) < threshold or _has_alphabet_run(token):
        return False
    return not _is_structured(token)


# ---------------------------------------------------------------- the rule table

_FIXED_RULES: tuple[_Rule, ...] = (
    _Rule(
        "private-key",
        re.compile(
            r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
            r"(?:-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|\Z)"
        ),
    ),
    _Rule("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")),
    _Rule(
        "slack-webhook",
        re.compile(
            r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/+-]{8,}"
        ),
    ),
    _Rule(
        "url-password",
        re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]{1,20}://[^\s:/?#@\[\]]*:(?P<pw>[^\s/@\[\]]+)@"),
        "pw",
        _accept_url_password,
    ),
    _Rule("anthropic-key", re.compile(r"\bsk-ant-[A-Za-z0-9_-]{20,}")),
    _Rule("openai-key", re.compile(r"\bsk-[A-Za-z0-9_-]{20,}"), 0, _accept_openai),
    _Rule("github-token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_\w{22,255})")),
    _Rule(
        "aws-access-key-id",
        re.compile(
            r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|A3T[A-Z0-9])"
            r"[A-Z0-9]{16}\b"
        ),
    ),
    _Rule(
        "aws-secret-key",
        re.compile(
            r"(?i)aws[a-z0-9_ .-]{0,30}?secret[a-z0-9_ .-]{0,30}?[\"']?\s*(?::=|=>|[:=])\s*[\"']?"
            r"(?P<v>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
        ),
        "v",
    ),
    _Rule(
        "slack-token",
        re.compile(r"\b(?:xox[abprs]-[A-Za-z0-9-]{10,250}|xapp-\d-[A-Za-z0-9-]{10,250})"),
    ),
    _Rule("google-api-key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])")),
    _Rule(
        "bearer-token",
        re.compile(r"(?i)\bbearer[ \t]+(?P<v>[A-Za-z0-9._~+/-]{16,}=*)"),
        "v",
        _accept_bearer,
    ),
    _Rule(
        "basic-auth",
        re.compile(r"(?i)\bbasic[ \t]+(?P<v>[A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])"),
        "v",
        _accept_basic,
    ),
    _Rule("secret-assignment", _QUOTED_ASSIGNMENT, "val", _accept_quoted),
    _Rule("secret-assignment", _ENV_ASSIGNMENT, "val", _accept_env),
    _Rule("secret-assignment", _UNQUOTED_ASSIGNMENT, "val", _accept_unquoted),
)

KINDS: tuple[str, ...] = (*dict.fromkeys(r.kind for r in _FIXED_RULES), "high-entropy")


class Redactor:
    """Masks secrets in text. Stateless after construction, safe to share between tasks.

    `entropy_min_length` and `entropy_threshold` (bits per character) tune the high-entropy
    rule; `high_entropy=False` switches it off.
    """

    __slots__ = ("_rules",)

    def __init__(
        self,
        *,
        entropy_min_length: int = 32,
        entropy_threshold: float = 3.8,
        high_entropy: bool = True,
    ) -> None:
        if entropy_min_length < 8:
            raise ValueError(f"entropy_min_length must be >= 8, got {entropy_min_length}")
        if not 0 < entropy_threshold <= 8:
            raise ValueError(f"entropy_threshold must be in (0, 8] bits, got {entropy_threshold}")
        rules = list(_FIXED_RULES)
        if high_entropy:
            pattern = re.compile(
                rf"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{{{entropy_min_length},}}={{0,2}}"
                r"(?![A-Za-z0-9+/=_-])"
            )
            rules.append(
                _Rule(
                    "high-entropy",
                    pattern,
                    0,
                    lambda m: looks_random(m.group(0), threshold=entropy_threshold),
                )
            )
        self._rules: tuple[_Rule, ...] = tuple(rules)

    def redact(self, text: str) -> Redaction:
        if not isinstance(text, str):
            raise TypeError(f"redact() needs a str, got {type(text).__name__}")
        counts: collections.Counter[str] = collections.Counter()
        for rule in self._rules:
            text = rule.pattern.sub(_replacer(rule, counts), text)
        return Redaction(text, tuple(sorted(counts.items())))

    def redact_messages(
        self, messages: Sequence[Mapping[str, Any]]
    ) -> tuple[list[dict[str, Any]], RedactionReport]:
        """Copies of chat messages with every text content masked; the input is not changed.

        `content` may be a string or a list of parts (`{"type": "text", "text": ...}`); other
        parts (images) pass unchanged.
        """
        counts: collections.Counter[str] = collections.Counter()
        out: list[dict[str, Any]] = []
        for message in messages:
            copy = dict(message)
            content = copy.get("content")
            if isinstance(content, str):
                copy["content"] = self._redact_into(content, counts)
            elif isinstance(content, list):
                parts = []
                for part in content:
                    if isinstance(part, Mapping) and isinstance(part.get("text"), str):
                        part = {**part, "text": self._redact_into(part["text"], counts)}
                    parts.append(part)
                copy["content"] = parts
            out.append(copy)
        return out, RedactionReport(tuple(sorted(counts.items())))

    def _redact_into(self, text: str, counts: collections.Counter[str]) -> str:
        result = self.redact(text)
        counts.update(dict(result.counts))
        return result.text


def _replacer(rule: _Rule, counts: collections.Counter[str]) -> Callable[[re.Match[str]], str]:
    mask = placeholder(rule.kind)

    def replace(m: re.Match[str]) -> str:
        if rule.accept is not None and not rule.accept(m):
            return m.group(0)
        counts[rule.kind] += 1
        if rule.group == 0:
            return mask
        start, end = m.span(rule.group)
        whole, base = m.group(0), m.start()
        return whole[: start - base] + mask + whole[end - base :]

    return replace


def redact_messages(
    messages: Sequence[Mapping[str, Any]], redactor: Redactor | None = None
) -> tuple[list[dict[str, Any]], RedactionReport]:
    """`Redactor().redact_messages(messages)` with the default rule set."""
    return (redactor or Redactor()).redact_messages(messages)
