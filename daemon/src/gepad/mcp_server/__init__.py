"""`gepad mcp`: the Model Context Protocol server (stdio) in front of the daemon.

Tools `get_prompt` and `record_feedback`, resource `gepad://prompt/{component}`, the prompt
`gepad`, and change notifications on every prompt swap. It talks to the daemon through
`gepad_client`, so it runs as its own process, started by the assistant; `DaemonLink`
reconnects after a daemon restart.
"""

from ._backend import Backend
from ._link import DEFAULT_MAX_MESSAGE_BYTES, DaemonLink
from ._server import FEEDBACK_KINDS, PROMPT_NAME, GepadMcp, prompt_uri
from ._stdio import follow_changes, serve_stdio

__all__ = [
    "DEFAULT_MAX_MESSAGE_BYTES",
    "FEEDBACK_KINDS",
    "PROMPT_NAME",
    "Backend",
    "DaemonLink",
    "GepadMcp",
    "follow_changes",
    "prompt_uri",
    "serve_stdio",
]
