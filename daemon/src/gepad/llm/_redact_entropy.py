"""The high-entropy rule's test: is a long token random, or built from words and numbers?"""

from __future__ import annotations

import collections
import math
import re

__all__ = ["is_structured", "looks_random", "shannon_entropy"]

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


def is_structured(token: str) -> bool:
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
    return not is_structured(token)
