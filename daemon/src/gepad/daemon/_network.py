"""Binding the listening socket, and the loopback-only rule."""

from __future__ import annotations

import ipaddress
import logging
import socket

from gepad.errors import ConfigError, DaemonError

__all__ = ["bind_listener", "is_loopback", "ws_url_for"]

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _bind_address(host: str) -> str:
    # "localhost" may resolve to both ::1 and 127.0.0.1; with port 0 those would get two
    # different ports. One explicit address gives one socket and one URL.
    return "127.0.0.1" if host.lower() == "localhost" else host.strip("[]")


def bind_listener(host: str, port: int, *, allow_non_loopback: bool) -> socket.socket:
    """A listening TCP socket on host:port (port 0 picks a free one)."""
    if not is_loopback(host):
        if not allow_non_loopback:
            raise ConfigError(
                f"'host': {host!r} is not a loopback address; the daemon binds only to "
                "127.0.0.1/::1 unless allow_non_loopback = true"
            )
        log.warning(
            "binding non-loopback address %s: anyone who can reach it and has the token "
            "can drive this daemon",
            host,
        )
    address = _bind_address(host)
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
    except ValueError:
        family = socket.AF_INET
    # proto=IPPROTO_TCP, not 0: asyncio only disables Nagle on accepted sockets whose proto
    # says TCP, and with Nagle on, two replies sent back to back wait 40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((address, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise DaemonError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def ws_url_for(sock: socket.socket) -> str:
    """The URL local clients should use to reach this socket."""
    host, port = sock.getsockname()[:2]
    ip = ipaddress.ip_address(host)
    if ip.is_unspecified:
        # A wildcard bind is reachable locally through loopback.
        return f"ws://127.0.0.1:{port}" if ip.version == 4 else f"ws://[::1]:{port}"
    return f"ws://[{host}]:{port}" if ip.version == 6 else f"ws://{host}:{port}"
