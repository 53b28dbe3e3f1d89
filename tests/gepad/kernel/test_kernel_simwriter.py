"""The simulated kernel writer: statements pick variants; real nvcc feedback teaches the prompt."""

from __future__ import annotations

import asyncio

import pytest
from gepad_kernel_testing import needs_nvcc

from gepad.errors import SimWriterError
from gepad.kernel import (
    STATEMENTS,
    KernelEvaluation,
    NvccToolchain,
    choices_for,
    evaluate_cuda,
    shipped_problems,
    simulated_reflection,
    statements_in,
    suggest,
    write_kernel,
)

SEED = "You write CUDA kernels for the given problem. Return one .cu file.\n"


def test_each_statement_recognises_its_own_text() -> None:
    for sid, statement in STATEMENTS.items():
        assert statements_in(statement.text) == {sid}, sid


def test_choices_follow_the_statements() -> None:
    seed = choices_for(SEED)
    assert not seed.extern_c and not seed.bounds_check and not seed.shfl_sync
    assert seed.legacy_sync and seed.use_library and not seed.float4
    fixed = choices_for(STATEMENTS["no_legacy_sync"].text)
    assert not fixed.legacy_sync
    trap = choices_for(STATEMENTS["no_legacy_sync"].text + STATEMENTS["legacy_sync_advice"].text)
    assert trap.legacy_sync  # the bad advice wins over the fix


def test_sources_differ_only_where_the_statements_say() -> None:
    relu = {p.name: p for p in shipped_problems()}["relu"]
    plain = write_kernel(SEED, relu)
    assert "cudaThreadSynchronize" in plain and 'extern "C"' not in plain
    assert "if (i < n)" not in plain
    guarded = write_kernel(SEED + STATEMENTS["bounds_check"].text, relu)
    assert "if (i < n)" in guarded
    vec = write_kernel(SEED + STATEMENTS["vectorized_float4"].text, relu)
    assert "float4" in vec and "float4" not in plain


def test_unknown_problems_are_refused() -> None:
    relu = shipped_problems()[2]
    other = type(relu)(name="conv", description="d", reference=relu.reference, entry=relu.entry)
    with pytest.raises(SimWriterError, match="no variants for problem 'conv'"):
        write_kernel(SEED, other)


def test_suggestions_come_from_feedback_text_and_reflection_edits_the_prompt() -> None:
    feedback = (
        'kernel.cu(12): error: identifier "cudaThreadSynchronize" is undefined\n'
        "line 2: [library:cublas] #include <cublas_v2.h>: the problem forbids cublas\n"
    )
    ids = [s.add.id for s in suggest(feedback)]
    assert ids == ["no_legacy_sync", "no_library_fallback"]
    prompt = SEED + "- " + STATEMENTS["legacy_sync_advice"].text + "\n"
    revised = simulated_reflection(prompt, feedback)
    assert statements_in(revised) == {"no_legacy_sync", "no_library_fallback"}
    assert simulated_reflection(revised, feedback) == revised  # nothing added twice
    assert suggest("nvcc (sm_80): compiled in 1.0 s") == ()


@needs_nvcc
async def test_the_writer_learns_from_real_nvcc_feedback() -> None:
    """Seed prompt -> reflect on real feedback -> ... until every shipped kernel compiles.

    Correctness needs a GPU, so on this path the measure is: passes the static checks and
    compiles with the entry point exported (score 0.5 of 1).
    """
    problems = shipped_problems()
    nvcc = NvccToolchain()
    prompt = SEED
    history: list[tuple[int, float]] = []
    seen_feedback: list[str] = []
    for _ in range(4):
        evaluations: list[KernelEvaluation] = await asyncio.gather(
            *(evaluate_cuda(write_kernel(prompt, p), p, nvcc=nvcc) for p in problems)
        )
        compiled = sum(e.static_ok and e.compiled for e in evaluations)
        history.append((compiled, sum(e.score for e in evaluations) / len(evaluations)))
        if compiled == len(problems):
            break
        feedback = "\n".join(e.feedback for e in evaluations)
        seen_feedback.append(feedback)
        prompt = simulated_reflection(prompt, feedback)

    assert history[0][0] == 0, "the seed prompt should not produce any compiling kernel"
    assert history[-1] == (len(problems), 0.5)
    assert [c for c, _ in history] == sorted(c for c, _ in history)
    # The lessons came from real tool output: nvcc errors, the nm check, the static checks.
    all_feedback = "\n".join(seen_feedback)
    assert 'identifier "cudaThreadSynchronize" is undefined' in all_feedback
    assert 'identifier "__shfl_down" is undefined' in all_feedback
    assert "defines it with C++ linkage" in all_feedback
    assert "[library:cublas]" in all_feedback
    assert statements_in(prompt) == {
        "no_legacy_sync",
        "no_library_fallback",
        "warp_shuffle_sync",
        "extern_c_launcher",
    }
    # Bounds checks are not learned without a GPU: nothing on this path can show them missing.
    assert "bounds_check" not in statements_in(prompt)
