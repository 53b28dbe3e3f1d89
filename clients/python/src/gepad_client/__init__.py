"""gepad_client: a small Python client for the gepad daemon's websocket API.

```python
from gepad_client import GepadClient

async with GepadClient.connect() as c:
    state = await c.get_prompt()
```

Depends only on `websockets`, `platformdirs` and the standard library; it never imports
the daemon (`gepad`), so other programs can use it cheaply.
"""

from gepad_client._client import GepadClient, Subscription
from gepad_client._discovery import DaemonInfo, discover, pid_alive, read_daemon_file, runtime_dir
from gepad_client._errors import (
    CallTimeout,
    ConnectError,
    ConnectionLost,
    DaemonNotRunning,
    GepadClientError,
    RequestTooLarge,
    RpcError,
)
from gepad_client._types import (
    Example,
    ExamplesPage,
    FeedbackResult,
    GenerationResult,
    PendingPrompt,
    PromptHistory,
    PromptState,
    PromptVersionInfo,
    Status,
)

__all__ = [
    "CallTimeout",
    "ConnectError",
    "ConnectionLost",
    "DaemonInfo",
    "DaemonNotRunning",
    "Example",
    "ExamplesPage",
    "FeedbackResult",
    "GenerationResult",
    "GepadClient",
    "GepadClientError",
    "PendingPrompt",
    "PromptHistory",
    "PromptState",
    "PromptVersionInfo",
    "RequestTooLarge",
    "RpcError",
    "Status",
    "Subscription",
    "discover",
    "pid_alive",
    "read_daemon_file",
    "runtime_dir",
]
