"""Where the client may send the daemon's token: loopback addresses, unless told otherwise.

`daemon.json` names the `ws_url`; anyone who can write that file could point a client at a
host of their choosing and collect the token. So the token goes only to a loopback host
(`localhost`, `*.localhost`, `127.0.0.0/8`, `::1`, `::ffff:127.x.x.x`), unless the caller
passes `allow_non_loopback=True` or the environment sets `GEPAD_ALLOW_NON_LOOPBACK=true`
(the same name the daemon reads to listen on a non-loopback address).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from urllib.parse import urlsplit

__all__ = ["ALLOW_NON_LOOPBACK_ENV", "is_loopback_ws_url", "non_loopback_allowed"]

ALLOW_NON_LOOPBACK_ENV = "GEPAD_ALLOW_NON_LOOPBACK"
_TRUE = frozenset({"1", "true", "yes", "on"})


def is_loopback_ws_url(url: str) -> bool:
    """True when `url`'s host is a loopback name or address (no DNS lookup is made)."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    if not host:
        return False
    host = host.rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def non_loopback_allowed(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get(ALLOW_NON_LOOPBACK_ENV, "").strip().lower() in _TRUE
