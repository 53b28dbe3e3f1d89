"""gepad_lsp: gepad's language server, the bridge between the editor and the daemon.

`gepad lsp` (or `python -m gepad_lsp`) serves LSP over stdio. Commands
(`workspace/executeCommand`): `gepad.thumbsDown`, `gepad.thumbsUp`, `gepad.correct`,
`gepad.assist`, `gepad.prompt`, `gepad.status`; notification `gepad/promptChanged`. The
process never loads the LLM stack: the assistant runs in the daemon (`assist.run`).
"""

from gepad_lsp._errors import DaemonUnavailable, GepadLspError, InputError, RemoteError
from gepad_lsp._server import COMMANDS, PROMPT_CHANGED, build_server, main
from gepad_lsp._settings import LspSettings, component_for, load_settings
from gepad_lsp._spool import Spool

__all__ = [
    "COMMANDS",
    "PROMPT_CHANGED",
    "DaemonUnavailable",
    "GepadLspError",
    "InputError",
    "LspSettings",
    "RemoteError",
    "Spool",
    "build_server",
    "component_for",
    "load_settings",
    "main",
]
