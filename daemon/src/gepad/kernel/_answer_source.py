"""The kernel source in a writer model's answer: which fenced blocks, joined how."""

from __future__ import annotations

import re

__all__ = ["extract_source"]

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+.-]*)[ \t]*\n(.*?)```", re.S)


def extract_source(text: str) -> str:
    """The kernel source in a model's answer.

    The largest fenced code block when it holds both a kernel and the launcher; when the model
    split them across blocks (real models do), the code blocks in order, each once.
    """
    blocks = [(lang.lower(), body) for lang, body in _FENCE.findall(text)]
    if not blocks:
        return text.strip() + "\n"
    cuda = [b for lang, b in blocks if lang in ("cuda", "cu", "c++", "cpp", "c")] or [
        b for _, b in blocks
    ]
    best: str = max(cuda, key=len)
    if len(cuda) > 1 and not ("__global__" in best and 'extern "C"' in best):
        best = _join_blocks(cuda)
    return best.strip() + "\n"


# A function definition's head at the start of a line: `... name(params) {` (the body may open
# on the next line). Control statements are not definitions.
_DEFINITION = re.compile(
    r"^[A-Za-z_][^;{}()\n]*?\b([A-Za-z_]\w*)\s*\([^;{}]*\)\s*(?:const\s*)?\{", re.M
)
_NOT_FUNCTIONS = frozenset({"if", "for", "while", "switch", "return", "catch"})


def _defined_functions(block: str) -> set[str]:
    return {name for name in _DEFINITION.findall(block) if name not in _NOT_FUNCTIONS}


def _join_blocks(blocks: list[str]) -> str:
    """The blocks in order, each once; a block that defines a function an earlier block already
    defines is left out. Real models repeat the launcher in a usage-example block, and joining
    both made nvcc fail with `function "launch_softmax" has already been defined`."""
    kept: list[str] = []
    defined: set[str] = set()
    for block in dict.fromkeys(b.strip() for b in blocks):
        names = _defined_functions(block)
        if names & defined:
            continue
        kept.append(block)
        defined |= names
    return "\n\n".join(kept)
