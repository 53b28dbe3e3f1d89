"""Who may see the dashboard: one-time codes exchanged for a session cookie.

`gepad dashboard` asks the daemon (over the token-authenticated websocket) for a URL carrying
a fresh one-time code. The first GET with that code gets an `HttpOnly`, `SameSite=Strict`
cookie and a redirect to the page; the code is dead from then on, used or not used again. The
page's own websocket is admitted with that cookie only when its `Origin` is the daemon's own
origin (a cookie for 127.0.0.1 is also sent to pages of other local ports, which the Origin
check keeps out).
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie

from websockets.datastructures import Headers

__all__ = ["DashboardAccess"]

CODE_TTL_S = 300.0
SESSION_TTL_S = 12 * 3600.0
MAX_CODES = 32
MAX_SESSIONS = 32


class DashboardAccess:
    def __init__(
        self,
        origin: str,
        *,
        port: int,
        clock: Callable[[], float] = time.monotonic,
        code_ttl_s: float = CODE_TTL_S,
        session_ttl_s: float = SESSION_TTL_S,
    ) -> None:
        self.origin = origin
        # Per port: two daemons on one host must not overwrite each other's cookie.
        self.cookie_name = f"gepad_session_{port}"
        self._clock = clock
        self._code_ttl = code_ttl_s
        self._session_ttl = session_ttl_s
        self._codes: OrderedDict[str, float] = OrderedDict()
        self._sessions: OrderedDict[str, float] = OrderedDict()

    def issue_code(self) -> str:
        code = secrets.token_urlsafe(32)
        self._codes[code] = self._clock() + self._code_ttl
        while len(self._codes) > MAX_CODES:
            self._codes.popitem(last=False)
        return code

    def exchange(self, code: str) -> str | None:
        """A new session token for a live code, which dies here; None for any other code."""
        expires = self._codes.pop(code, None)
        if expires is None or expires < self._clock():
            return None
        session = secrets.token_urlsafe(32)
        self._sessions[session] = self._clock() + self._session_ttl
        while len(self._sessions) > MAX_SESSIONS:
            self._sessions.popitem(last=False)
        return session

    def set_cookie(self, session: str) -> str:
        return (
            f"{self.cookie_name}={session}; Path=/; HttpOnly; SameSite=Strict; "
            f"Max-Age={int(self._session_ttl)}"
        )

    def has_session(self, headers: Headers) -> bool:
        for raw in headers.get_all("Cookie"):
            try:
                jar = SimpleCookie(raw)
            except CookieError:
                continue
            morsel = jar.get(self.cookie_name)
            if morsel is None:
                continue
            expires = self._sessions.get(morsel.value)
            if expires is not None and expires >= self._clock():
                return True
        return False

    def page_socket(self, headers: Headers) -> bool:
        """The dashboard page's own websocket: own Origin, exactly once, and a live cookie."""
        origins = headers.get_all("Origin")
        return origins == [self.origin] and self.has_session(headers)
