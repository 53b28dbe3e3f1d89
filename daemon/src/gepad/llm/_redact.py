"""Masking secrets in text before it leaves the machine.

The rule set, what it deliberately leaves alone, and why, is documented in docs/redaction.md;
keep the two in step. Rules run in order, each on the output of the previous one, so a
specific rule (a GitHub token) claims a string before a generic one (high entropy) sees it.
A placeholder `[REDACTED:<kind>]` contains `[`, `:` and `]`, which no rule accepts inside a
secret, so nothing is masked twice. The names and value checks are in `_redact_names`, the
entropy test in `_redact_entropy`, the rule table in `_redact_rules`.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._redact_entropy import looks_random, shannon_entropy
from ._redact_names import PLACEHOLDER_PREFIX, is_secret_name, name_segments, placeholder
from ._redact_rules import FIXED_RULES, Rule

__all__ = [
    "KINDS",
    "PLACEHOLDER_PREFIX",
    "Redaction",
    "RedactionReport",
    "Redactor",
    "is_secret_name",
    "looks_random",
    "name_segments",
    "placeholder",
    "redact_messages",
    "shannon_entropy",
]


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


KINDS: tuple[str, ...] = (*dict.fromkeys(r.kind for r in FIXED_RULES), "high-entropy")


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
        rules = list(FIXED_RULES)
        if high_entropy:
            # `=` may come before a token (`SESSION_COOKIE_VALUE=…`, `?code=…`), not inside.
            pattern = re.compile(
                rf"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{{{entropy_min_length},}}={{0,2}}"
                r"(?![A-Za-z0-9+/=_-])"
            )
            rules.append(
                Rule(
                    "high-entropy",
                    pattern,
                    0,
                    lambda m: looks_random(m.group(0), threshold=entropy_threshold),
                )
            )
        self._rules: tuple[Rule, ...] = tuple(rules)

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


def _replacer(rule: Rule, counts: collections.Counter[str]) -> Callable[[re.Match[str]], str]:
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
