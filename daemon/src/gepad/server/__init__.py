"""gepad's JSON-RPC 2.0 websocket API.

Layers, innermost first: `_protocol` (framing, pure), `_dispatch` (calls + error mapping,
no sockets), `_wire` (pydantic params), `_handlers` (the methods), `_fanout` (prompt.changed
delivery), `_websocket` (handshake checks and connection loops).
"""

from gepad.server._dispatch import Dispatcher, Effect, MethodSpec, Outcome, Result, Subscribe
from gepad.server._encode import example_to_wire, prompt_state_to_wire, prompt_version_to_wire
from gepad.server._fanout import NotificationHub, Session
from gepad.server._handlers import DaemonInfo, build_methods
from gepad.server._protocol import (
    CONFLICT,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    NOT_FOUND,
    PARSE_ERROR,
    UNAVAILABLE,
    RpcError,
)
from gepad.server._websocket import HttpHook, RpcServer, ServerLimits
from gepad.server._wire import FEEDBACK_KINDS, MAX_FIELD_CHARS

__all__ = [
    "CONFLICT",
    "FEEDBACK_KINDS",
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "MAX_FIELD_CHARS",
    "METHOD_NOT_FOUND",
    "NOT_FOUND",
    "PARSE_ERROR",
    "UNAVAILABLE",
    "DaemonInfo",
    "Dispatcher",
    "Effect",
    "HttpHook",
    "MethodSpec",
    "NotificationHub",
    "Outcome",
    "Result",
    "RpcError",
    "RpcServer",
    "ServerLimits",
    "Session",
    "Subscribe",
    "build_methods",
    "example_to_wire",
    "prompt_state_to_wire",
    "prompt_version_to_wire",
]
