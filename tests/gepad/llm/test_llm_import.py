"""Import cost and process hygiene, checked in fresh interpreters."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "LITELLM_LOCAL_MODEL_COST_MAP"}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env=environ,
        check=False,
    )


def test_importing_gepad_llm_does_not_import_litellm() -> None:
    proc = run_python("import gepad.llm, sys; assert 'litellm' not in sys.modules")
    assert proc.returncode == 0, proc.stderr


def test_first_call_loads_litellm_offline_and_prints_nothing_to_stdout() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = f"""
        import asyncio, os, sys
        assert "LITELLM_LOCAL_MODEL_COST_MAP" not in os.environ
        from gepad.llm import LlmClient, LlmSettings, LlmUnavailableError

        async def record(r):
            pass

        async def main():
            settings = LlmSettings(
                task_model="openai/sim", api_base="http://127.0.0.1:{port}/v1",
                max_retries=0, timeout_s=2,
            )
            client = LlmClient(settings, record)
            assert "litellm" not in sys.modules
            try:
                await client.complete("task", [{{"role": "user", "content": "hi"}}])
            except LlmUnavailableError:
                pass
            else:
                raise SystemExit("a call to a closed port succeeded")

        asyncio.run(main())
        import litellm
        assert os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"
        assert litellm.suppress_debug_info is True
        assert litellm.callbacks == [] and litellm.success_callback == []
        sys.stderr.write("finished\\n")
    """
    proc = run_python(code, OPENAI_API_KEY="sk-test-not-a-real-key")
    assert proc.returncode == 0, proc.stderr
    assert "finished" in proc.stderr
    assert proc.stdout == ""  # litellm's banners would land here; stdout may be a protocol
    assert "sk-test-not-a-real-key" not in proc.stderr
