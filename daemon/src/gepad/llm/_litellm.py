"""Loading litellm: only here, only on the first call, never at import time."""

from __future__ import annotations

import logging
import os
from types import ModuleType

_CALLBACK_LISTS = (
    "callbacks",
    "success_callback",
    "failure_callback",
    "_async_success_callback",
    "_async_failure_callback",
    "input_callback",
    "service_callback",
)
_LITELLM_LOGGERS = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy")


def load_litellm() -> ModuleType:
    """Import and quiet litellm for a personal daemon.

    The cost map must come from the copy bundled with litellm: without the variable, importing
    litellm downloads it. Telemetry and logging callbacks would send request data elsewhere;
    litellm's banner goes to stdout; its debug logs would carry request bodies. Retries are
    passed per call (num_retries=0, max_retries=0) because the client retries itself.
    """
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    litellm.turn_off_message_logging = True
    for name in _CALLBACK_LISTS:
        if isinstance(getattr(litellm, name, None), list):
            setattr(litellm, name, [])
    for name in _LITELLM_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:  # an explicit choice by the user is kept
            logger.setLevel(logging.WARNING)
    return litellm
