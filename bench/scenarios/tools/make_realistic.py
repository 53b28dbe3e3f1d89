#!/usr/bin/env python3
"""Build the realistic-* scenarios from the v1 ones: same rules and tasks, more phrasings.

    python bench/scenarios/tools/make_realistic.py

Rewrites bench/scenarios/realistic-{python,docs,cuda}.toml. The scoped-preferences scenario
(realistic-scoped.toml) is written by hand.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

PHRASINGS = {
    "snake_case": [
        "camelCase again. Python names here are lower_with_underscores.",
        "Rename these helpers; the linter flags mixedCase function names.",
    ],
    "type_hints": [
        "Signatures without annotations don't pass review here.",
        "What does this return? Annotate the parameters and the result.",
    ],
    "fstrings": [
        "That '%s' formatting is from 2010, please modernise it.",
        'Interpolate with f"..." instead of .format(), it\'s our convention.',
    ],
    "logging": [
        "No print() in the package, it breaks the JSON output.",
        "Use a module logger instead of printing debug lines.",
    ],
    "pathlib": [
        "os.path string juggling again; we use Path objects.",
        "Build paths with the / operator on Path, not string joins.",
    ],
    "pytest_style": [
        "This TestCase boilerplate isn't needed, we run pytest.",
        "Turn these self.assertEqual calls into plain asserts in functions.",
    ],
    "frozen_dataclass": [
        "A dict with fixed keys should be an immutable dataclass.",
        "Make this record type a dataclass(frozen=True).",
    ],
    "no_bare_except": [
        "'except:' with nothing after it hides real bugs.",
        "Name the exception you catch; catching everything is banned.",
    ],
    "google_docstrings": [
        "The docstring should have Args: and Returns: blocks.",
        "Not Sphinx :param: style please, the other docstring layout.",
    ],
    "aware_datetimes": [
        "Naive datetimes again, attach tzinfo=UTC.",
        "Timestamps must carry a timezone; use datetime.now(UTC).",
    ],
    "second_person": [
        "Address the reader as 'you', not 'the developer'.",
        "Too impersonal; speak to the person reading.",
    ],
    "active_voice": [
        "Who does what here? Rewrite the passive sentences.",
        "'is configured by' -> say who configures it.",
    ],
    "code_formatting": [
        "File names and flags need code formatting.",
        "Wrap the command names in inline code.",
    ],
    "short_sentences": [
        "These sentences are far too long to follow.",
        "Break the long sentences up, one idea each.",
    ],
    "no_marketing": [
        "Too much hype; cut the adjectives like 'powerful'.",
        "This reads like an ad. Plain words please.",
    ],
    "us_spelling": [
        "British spellings slipped in ('colour', 'behaviour').",
        "We write 'organize', not 'organise'.",
    ],
    "prerequisites": [
        "Tell me what I need installed before the first step.",
        "A guide needs a section listing requirements up front.",
    ],
    "sentence_case": [
        "Headings Shouldn't Capitalise Every Word.",
        "Lowercase the heading words except the first.",
    ],
    "no_simply": [
        "Words like 'simply' are condescending, remove them.",
        "It isn't 'just' anything for a new reader.",
    ],
    "oxford_comma": [
        "Add the comma before 'and' in that list.",
        "Serial comma, please: 'A, B, and C'.",
    ],
    "link_text": ["The link text should describe the destination.", "'Here' is not a link label."],
    "check_errors": [
        "Unchecked CUDA calls again, wrap them in the macro.",
        "If cudaMalloc fails we never find out. Check every call.",
    ],
    "grid_stride": [
        "This only works if n fits in one launch; loop over the grid.",
        "Make the kernel stride by gridDim * blockDim.",
    ],
    "size_t_index": [
        "The index arithmetic overflows on big tensors, use 64-bit.",
        "int indices won't do for >2^31 elements.",
    ],
    "coalesced": [
        "The memory access pattern is strided; coalesce it.",
        "Adjacent threads should read adjacent elements.",
    ],
    "restrict": [
        "Tell nvcc these pointers don't alias.",
        "Add the no-alias qualifier to the input pointers.",
    ],
    "launch_bounds": [
        "Register usage exploded; give the kernel its max block size.",
        "Add the launch-bounds annotation so occupancy stays sane.",
    ],
    "streams": [
        "Don't use the default stream, take a cudaStream_t parameter.",
        "Everything serialises on stream 0. Use the caller's stream.",
    ],
    "half_accum": [
        "Half-precision accumulation is losing accuracy; use float.",
        "Reduce in fp32 and cast at the end.",
    ],
    "no_device_sync": [
        "Remove the global device sync from the library call.",
        "Synchronise on an event, not the whole device.",
    ],
    "bank_conflicts": [
        "Shared memory tile needs an extra column of padding.",
        "The transpose tile has bank conflicts; pad it.",
    ],
    "arch_guard": [
        "This breaks older GPUs; guard it by compute capability.",
        "Wrap the sm_80-only code in an architecture check.",
    ],
}

SIM = {
    "mode": "realistic",
    "extract_prob": 0.7,
    "comply_noise": 0.05,
    "max_useful_lines": 12,
    "line_penalty": 0.03,
    "overfit_penalty": 0.05,
    "vague_prob": 0.25,
    "vague_extract_prob": 0.1,
    "note_prob": 0.3,
    "forget_base": 0.02,
    "forget_per_line": 0.012,
    "forget_max": 0.4,
    "online_start": 0.25,
    "online_every": 40,
    "online_batch": 2,
}


def _value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return json.dumps(v, ensure_ascii=False)


def build(source: str, target: str, name: str) -> None:
    data = tomllib.loads((HERE / source).read_text(encoding="utf-8"))
    out = [
        f"# Generated by tools/make_realistic.py from {source}: the realistic simulated user.",
        f"name = {_value(name)}",
        f"seed_prompt = {_value(data['seed_prompt'])}",
        "",
        "[sim]",
        *(f"{k} = {_value(v)}" for k, v in SIM.items()),
    ]
    for rule in data["rules"]:
        out += ["", "[[rules]]", *(f"{k} = {_value(v)}" for k, v in rule.items())]
        out.append(f"phrasings = {_value(PHRASINGS[rule['id']])}")
    for task in data["tasks"]:
        out += ["", "[[tasks]]", *(f"{k} = {_value(v)}" for k, v in task.items())]
    (HERE / target).write_text("\n".join(out) + "\n", encoding="utf-8")


if __name__ == "__main__":
    build("python-style.toml", "realistic-python.toml", "realistic-python")
    build("docs-tone.toml", "realistic-docs.toml", "realistic-docs")
    build("cuda-kernels.toml", "realistic-cuda.toml", "realistic-cuda")
