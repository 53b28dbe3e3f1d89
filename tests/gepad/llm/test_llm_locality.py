"""Which models count as local, and when text is redacted."""

from __future__ import annotations

import pytest

from gepad.llm import is_local_model, is_loopback_url, should_redact


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:11434",
        "http://127.9.8.7/v1",
        "http://localhost:8000/v1",
        "http://LOCALHOST./v1",
        "https://api.localhost/v1",
        "http://[::1]:8080/v1",
        "http://[::ffff:127.0.0.1]:8080",
        "127.0.0.1:11434",
        "localhost",
    ],
)
def test_loopback_urls(url: str) -> None:
    assert is_loopback_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5:11434",
        "http://192.168.1.20:8000/v1",
        "http://0.0.0.0:8000",
        "https://api.openai.com/v1",
        "http://localhost.example.com/v1",
        "http://127.0.0.1.nip.io/v1",
        "http://[2001:db8::1]/v1",
        "",
        "not a url at all",
        "http://[::1",
    ],
)
def test_non_loopback_urls(url: str) -> None:
    assert not is_loopback_url(url)


def test_ollama_models_are_local_at_their_default_address() -> None:
    env: dict[str, str] = {}
    assert is_local_model("ollama/qwen2.5-coder:7b", None, env=env)
    assert is_local_model("ollama_chat/llama3.1", None, env=env)
    assert is_local_model("ollama/qwen2.5-coder:7b", "http://127.0.0.1:11434", env=env)


def test_ollama_on_another_machine_is_not_local() -> None:
    assert not is_local_model("ollama/llama3.1", "http://192.168.1.9:11434", env={})
    assert not is_local_model(
        "ollama/llama3.1", None, env={"OLLAMA_API_BASE": "http://gpu-box:11434"}
    )
    assert is_local_model("ollama/llama3.1", None, env={"OLLAMA_API_BASE": "http://localhost:9999"})


def test_ollama_cloud_models_are_not_local() -> None:
    assert not is_local_model("ollama/gpt-oss:120b-cloud", None, env={})
    assert not is_local_model(
        "ollama_chat/qwen3-coder:480b-cloud", "http://localhost:11434", env={}
    )


def test_other_providers_are_local_only_with_a_loopback_api_base() -> None:
    assert not is_local_model("openai/gpt-4o-mini", None, env={})
    assert not is_local_model("anthropic/claude-sonnet-4", None, env={})
    assert not is_local_model("openai/gpt-4o-mini", "https://api.openai.com/v1", env={})
    assert is_local_model("openai/qwen", "http://127.0.0.1:8000/v1", env={})
    assert is_local_model("hosted_vllm/qwen", "http://localhost:8000/v1", env={})


def test_is_local_model_rejects_a_missing_model() -> None:
    with pytest.raises(ValueError, match="model"):
        is_local_model("", None)
    with pytest.raises(ValueError, match="model"):
        is_local_model(None, None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("mode", "local", "expected"),
    [
        ("auto", True, False),
        ("auto", False, True),
        ("always", True, True),
        ("always", False, True),
        ("never", True, False),
        ("never", False, False),
    ],
)
def test_should_redact(mode: str, local: bool, expected: bool) -> None:
    assert should_redact(mode, local) is expected  # type: ignore[arg-type]


def test_should_redact_names_the_bad_mode() -> None:
    with pytest.raises(ValueError, match=r"auto, always, never; got 'sometimes'"):
        should_redact("sometimes", True)  # type: ignore[arg-type]
