"""Realistic FAKE secrets, assembled at run time so the repository holds none.

Each generator takes a `random.Random`; tests seed it so failures reproduce. The shapes follow
the providers' published formats (prefix, alphabet, length); the values are random.
"""

from __future__ import annotations

import base64
import random
import string
from collections.abc import Callable

B62 = string.ascii_letters + string.digits
B64 = B62 + "+/"
B64URL = B62 + "-_"
UPPER_DIGITS = string.ascii_uppercase + string.digits


def rand(rng: random.Random, n: int, alphabet: str = B62) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def github_pat_classic(rng: random.Random) -> str:
    return "gh" + "p_" + rand(rng, 36)


def github_oauth(rng: random.Random) -> str:
    return "gh" + rng.choice("ousr") + "_" + rand(rng, 36)


def github_fine_grained(rng: random.Random) -> str:
    return "github" + "_pat_" + rand(rng, 22) + "_" + rand(rng, 59)


def openai_legacy(rng: random.Random) -> str:
    return "s" + "k-" + rand(rng, 20) + "T3Blbk" + "FJ" + rand(rng, 20)


def openai_project(rng: random.Random) -> str:
    return "s" + "k-proj-" + rand(rng, 74, B64URL) + "T3Blbk" + "FJ" + rand(rng, 74, B64URL)


def anthropic(rng: random.Random) -> str:
    return "s" + "k-ant-api03-" + rand(rng, 93, B64URL) + "AA"


def aws_access_key_id(rng: random.Random) -> str:
    return "AK" + "IA" + rand(rng, 16, string.ascii_uppercase + "234567")


def aws_secret_key(rng: random.Random) -> str:
    return rand(rng, 40, B64)


def slack_bot_token(rng: random.Random) -> str:
    return (
        "xo"
        + "xb-"
        + rand(rng, 12, string.digits)
        + "-"
        + rand(rng, 13, string.digits)
        + "-"
        + rand(rng, 24)
    )


def slack_webhook(rng: random.Random) -> str:
    return (
        "https://hooks."
        + "slack.com/services/T"
        + rand(rng, 8, UPPER_DIGITS)
        + "/B"
        + rand(rng, 10, UPPER_DIGITS)
        + "/"
        + rand(rng, 24)
    )


def google_api_key(rng: random.Random) -> str:
    return "AI" + "za" + rand(rng, 35, B64URL)


def jwt(rng: random.Random) -> str:
    def b64url(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    header = b64url(b'{"alg":"HS256","typ":"JWT"}')
    payload = b64url(b'{"sub":"' + rand(rng, 10).encode() + b'","iat":1700000000}')
    return f"{header}.{payload}.{b64url(rng.randbytes(32))}"


def private_key_block(rng: random.Random) -> str:
    body = "\n".join(rand(rng, 64, B64) for _ in range(6))
    label = "RSA PRIV" + "ATE KEY"
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----"


def password(rng: random.Random) -> str:
    return rand(rng, 10, B62) + rng.choice("!#%&*") + rand(rng, 3, string.digits)


def opaque_token(rng: random.Random) -> str:
    """An API key of no known format: 40 random base62 characters."""
    return rand(rng, 40)


KNOWN_FORMATS: dict[str, Callable[[random.Random], str]] = {
    "github-token": github_pat_classic,
    "openai-key": openai_project,
    "anthropic-key": anthropic,
    "aws-access-key-id": aws_access_key_id,
    "slack-token": slack_bot_token,
    "slack-webhook": slack_webhook,
    "google-api-key": google_api_key,
    "jwt": jwt,
    "private-key": private_key_block,
}
