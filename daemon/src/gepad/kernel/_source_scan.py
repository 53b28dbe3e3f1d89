"""Reading C++/CUDA source as its preprocessor will, and the rules on what it may include.

A check over the raw text is only as good as its idea of where tokens, comments and directives
are. `normalize` does what the first translation phases do, so that ``tor\\`` + newline + ``ch::``,
``%:include`` (a digraph) or ``??=include`` (a trigraph) read as the compiler reads them; line
numbers are kept (a spliced line is reported at its first physical line). `split_code` then
separates comments and literals from code, knowing raw strings (``R"x(...)x"``), digit
separators (``1'000``) and header names (``<a//b.h>`` is not a comment).

`include_findings` is the include rule (rule ``include``): a kernel may include headers only by
a plain relative name, which the compiler resolves in the job directory, the CUDA toolkit and
the system's include directories. Refused: absolute paths, ``..``, ``~`` and hidden names;
a name computed by a macro (``#include HDR``); ``__has_include`` with anything but such a name
(it is an existence oracle); ``#embed``, ``__has_embed``, ``.incbin`` and
``#pragma GCC dependency`` (they read or probe files too); ``#line`` and GNU line markers
(``# 12 "file"``), which would let code pass for a toolkit header in the preprocessed check.
"""

from __future__ import annotations

import re

from gepad.kernel._findings import Finding

__all__ = ["include_findings", "included_headers", "line_of", "normalize", "split_code"]

_TRIGRAPHS = {
    "??=": "#",
    "??/": "\\",
    "??'": "^",
    "??(": "[",
    "??)": "]",
    "??!": "|",
    "??<": "{",
    "??>": "}",
    "??-": "~",
}
# GCC also takes a backslash followed by blanks before the newline as a splice (with a warning).
_SPLICE_END = re.compile(r"\\[ \t\f\v]*$")


def normalize(source: str) -> str:
    """Trigraphs replaced, line splices joined, ``%:`` spelled ``#``; same number of lines."""
    text = source.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"\?\?[=/'()!<>\-]", lambda m: _TRIGRAPHS[m[0]], text)
    lines = text.split("\n")
    out: list[str] = []
    logical, carried = "", 0
    for i, line in enumerate(lines):
        end = _SPLICE_END.search(line)
        if end is not None and i < len(lines) - 1:
            logical += line[: end.start()]
            carried += 1
            continue
        out.append(logical + line)
        out.extend([""] * carried)
        logical, carried = "", 0
    return "\n".join(out).replace("%:%:", "##").replace("%:", "#")


_LINE_START = r"(?:\A|(?<=\n))"
_TOKENS = re.compile(
    rf"(?P<header>{_LINE_START}[ \t]*#[ \t]*(?:include_next|include|import|embed)[ \t]*<[^>\n]*>)"
    r"|(?P<comment>//[^\n]*|/\*.*?(?:\*/|\Z))"
    r'|(?P<raw>(?<![\w])(?:u8|[uUL])?R"(?P<delim>[^()\\\s"]{0,16})\((?P<body>.*?)\)(?P=delim)")'
    r'|(?P<string>"(?:\\.|[^"\\\n])*")'
    r"|(?P<char>(?<![\w'])(?:u8|[uUL])?'(?:\\.|[^'\\\n])+')",
    re.S,
)


def _blank(text: str) -> str:
    """Spaces for every character but newlines, so that line numbers hold."""
    return re.sub(r"[^\n]", " ", text)


def split_code(text: str) -> tuple[str, str, list[tuple[int, str]]]:
    """(without comments, without comments and literals, [(line, string literal body)])."""
    no_comments: list[str] = []
    code: list[str] = []
    strings: list[tuple[int, str]] = []
    pos = 0
    for m in _TOKENS.finditer(text):
        no_comments.append(text[pos : m.start()])
        code.append(text[pos : m.start()])
        token = m.group(0)
        if m["header"] is not None:
            no_comments.append(token)
            code.append(token)
        elif m["comment"] is not None:
            # A comment is one space to the compiler; keep its newlines for the line numbers.
            no_comments.append(" " + _blank(token)[1:])
            code.append(" " + _blank(token)[1:])
        else:
            no_comments.append(token)
            code.append(_blank(token))
            if m["raw"] is not None:
                strings.append((line_of(text, m.start()), m["body"]))
            elif m["string"] is not None:
                strings.append((line_of(text, m.start()), token[1:-1]))
        pos = m.end()
    no_comments.append(text[pos:])
    code.append(text[pos:])
    return "".join(no_comments), "".join(code), strings


def line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


_DIRECTIVE = re.compile(r"^[ \t]*#[ \t]*(?P<name>[A-Za-z_]\w*|\d+)?(?P<rest>.*)$", re.M)
_INCLUDES = frozenset({"include", "include_next", "import"})
_NAME = re.compile(r'^[ \t]*(?P<quoted><(?P<angle>[^>\n]*)>|"(?P<plain>[^"\n]*)")[ \t]*$')
# A plain relative name: segments of letters, digits, '_', '.', '+', '-' not starting with '.'.
_SAFE = re.compile(r"[A-Za-z0-9_][\w.+\-]*(?:/[A-Za-z0-9_][\w.+\-]*)*")
_HAS = re.compile(r"\b__has_(?P<what>include_next|include|embed)\b")
_HAS_ARG = re.compile(r'\s*\(\s*(?P<quoted><(?P<angle>[^>\n]*)>|"(?P<plain>[^"\n]*)")\s*\)')
_PRAGMA_OP = re.compile(r"\b_Pragma\b")
_PRAGMA_ARG = re.compile(r'\s*\(\s*(?:u8|[uUL])?"(?P<body>(?:\\.|[^"\\\n])*)"\s*\)')
_DEPENDENCY = re.compile(r"^\s*(?:GCC\s+)?dependency\b")
_WHERE = (
    "only headers of the CUDA toolkit and the system, by a plain relative name "
    "(no absolute path, '..', '~' or hidden name), may be included"
)


def _name_of(m: re.Match[str]) -> str:
    return m["angle"] if m["angle"] is not None else m["plain"]


def included_headers(no_comments: str) -> list[tuple[int, str]]:
    """(line, name) of every ``#include``/``#include_next``/``#import`` with a literal name."""
    found: list[tuple[int, str]] = []
    for m in _DIRECTIVE.finditer(no_comments):
        if m["name"] in _INCLUDES and (name := _NAME.match(m["rest"])) is not None:
            found.append((line_of(no_comments, m.start()), _name_of(name)))
    return found


def _unsafe(name: str) -> bool:
    return _SAFE.fullmatch(name) is None


def _directive_findings(no_comments: str) -> list[Finding]:
    findings: list[Finding] = []
    for m in _DIRECTIVE.finditer(no_comments):
        line = line_of(no_comments, m.start())
        name, rest = m["name"] or "", m["rest"]
        if name in _INCLUDES:
            literal = _NAME.match(rest)
            if literal is None:
                findings.append(
                    Finding(
                        "include",
                        line,
                        f"#{name} {rest.strip()[:60]}: the header must be named literally "
                        '(<name> or "name"), not computed by a macro',
                    )
                )
            elif _unsafe(_name_of(literal)):
                findings.append(Finding("include", line, f"#{name} {literal['quoted']}: {_WHERE}"))
        elif name == "embed":
            findings.append(Finding("include", line, "#embed reads a file: not allowed"))
        elif name == "line" or name.isdigit():
            findings.append(
                Finding(
                    "line-directive",
                    line,
                    "#line / line markers change the file and line the compiler reports: "
                    "not allowed in a kernel",
                )
            )
        elif name == "pragma" and _DEPENDENCY.match(rest):
            findings.append(
                Finding("include", line, "#pragma GCC dependency probes a file: not allowed")
            )
    return findings


def _operator_findings(no_comments: str) -> list[Finding]:
    findings: list[Finding] = []
    for m in _HAS.finditer(no_comments):
        line = line_of(no_comments, m.start())
        arg = _HAS_ARG.match(no_comments, m.end())
        if m["what"] == "embed":
            findings.append(Finding("include", line, "__has_embed probes a file: not allowed"))
        elif arg is None:
            findings.append(
                Finding(
                    "include",
                    line,
                    f"__has_{m['what']} must name a header literally, not through a macro",
                )
            )
        elif _unsafe(_name_of(arg)):
            findings.append(
                Finding("include", line, f"__has_{m['what']}({arg['quoted']}): {_WHERE}")
            )
    for m in _PRAGMA_OP.finditer(no_comments):
        line = line_of(no_comments, m.start())
        arg = _PRAGMA_ARG.match(no_comments, m.end())
        if arg is None:
            findings.append(
                Finding("include", line, "_Pragma must be given a string literal, not a macro")
            )
        elif _DEPENDENCY.match(arg["body"]):
            findings.append(
                Finding("include", line, '_Pragma("GCC dependency") probes a file: not allowed')
            )
    for m in re.finditer(r"\bincbin\b", no_comments):
        findings.append(
            Finding(
                "include",
                line_of(no_comments, m.start()),
                ".incbin reads a file into the object: not allowed",
            )
        )
    return findings


def include_findings(no_comments: str) -> list[Finding]:
    """The include rule (module doc) over normalized source without comments."""
    return _directive_findings(no_comments) + _operator_findings(no_comments)
