"""Helpers shared by the prompt service tests (a unique module name: tests/ holds no packages)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from gepad.prompts import PromptService

SEEDS = {"general": "You are a careful coding assistant.", "kernel": "Write fast CUDA kernels."}

MakeService = Callable[..., Awaitable[PromptService]]
