"""The live local dashboard: served by the daemon on its own port, behind a one-time code.

`_provenance` (pure line attribution), `_lineage` (the engine's state, read through its public
API), `_insight` (the data of each view), `_access` (codes and session cookies), `_http` (the
page and its assets, through the websocket server's `process_request`), `_methods` (the
JSON-RPC methods the page and the CLI call). The page itself is in `static/`: plain JS and CSS,
no build step, nothing fetched from anywhere else. Design notes: docs/dashboard.md.
"""

from gepad.dashboard._access import DashboardAccess
from gepad.dashboard._http import PAGE_PATH, DashboardHttp
from gepad.dashboard._insight import Insight
from gepad.dashboard._lineage import EngineView, LineAttribution
from gepad.dashboard._methods import dashboard_methods
from gepad.dashboard._provenance import LineageNode, attribute_lines

__all__ = [
    "PAGE_PATH",
    "DashboardAccess",
    "DashboardHttp",
    "EngineView",
    "Insight",
    "LineAttribution",
    "LineageNode",
    "attribute_lines",
    "dashboard_methods",
]
