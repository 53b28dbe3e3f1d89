"""Plain HTTP GETs on the daemon's port: the dashboard's page and its assets.

Hooked into the websocket server's `process_request`: a request that asks for a websocket
upgrade is not ours and goes on to the handshake checks; anything else is answered here and
the connection closed. websockets accepts nothing but GET, so a form post never reaches this
code (it is refused with 400 by the HTTP parser).
"""

from __future__ import annotations

import email.utils
import http
import ipaddress
import logging
from functools import cache
from importlib import resources
from urllib.parse import parse_qs, urlsplit

from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from gepad.dashboard._access import DashboardAccess

__all__ = ["ASSETS", "DashboardHttp"]

log = logging.getLogger(__name__)

PAGE_PATH = "/dashboard/"
ASSETS = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "views.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}


@cache
def _asset(name: str) -> bytes:
    return (resources.files("gepad.dashboard") / "static" / name).read_bytes()


class DashboardHttp:
    def __init__(self, access: DashboardAccess, *, allow_non_loopback: bool = False) -> None:
        self._access = access
        self._allow_remote = allow_non_loopback
        ws_origin = "ws" + access.origin.removeprefix("http")
        self._csp = (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src {ws_origin}; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'"
        )

    def handle(self, request: Request, remote: object) -> Response | None:
        """The response to a plain GET; None when the request wants a websocket."""
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return None
        if not self._allow_remote and not _is_loopback(remote):
            log.warning("refused a dashboard request from %r", remote)
            return _text(http.HTTPStatus.FORBIDDEN, "The dashboard is served on loopback only\n")
        url = urlsplit(request.path)
        if url.path in ("/dashboard", PAGE_PATH) and url.query:
            return self._exchange(url.query)
        if not self._access.has_session(request.headers):
            return _unauthorized()
        if url.path == PAGE_PATH:
            return self._serve("index.html")
        if url.path.startswith(PAGE_PATH) and url.path[len(PAGE_PATH) :] in ASSETS:
            return self._serve(url.path[len(PAGE_PATH) :])
        return _text(http.HTTPStatus.NOT_FOUND, "Not found\n")

    def page_socket(self, headers: Headers, remote: object) -> bool:
        if not self._allow_remote and not _is_loopback(remote):
            return False
        return self._access.page_socket(headers)

    def _exchange(self, query: str) -> Response:
        codes = parse_qs(query).get("code", [])
        session = self._access.exchange(codes[0]) if len(codes) == 1 else None
        if session is None:
            log.warning("refused a dashboard code that is unknown, used or expired")
            return _unauthorized()
        response = _text(http.HTTPStatus.SEE_OTHER, "See /dashboard/\n")
        # Relative to this origin, and without the code: it stays out of the history.
        response.headers["Location"] = PAGE_PATH
        response.headers["Set-Cookie"] = self._access.set_cookie(session)
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    def _serve(self, name: str) -> Response:
        body = _asset(name)
        headers = _base_headers(len(body), ASSETS[name])
        headers["Cache-Control"] = "no-store"
        headers["Content-Security-Policy"] = self._csp
        headers["X-Frame-Options"] = "DENY"
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        headers["Cross-Origin-Resource-Policy"] = "same-origin"
        return Response(200, "OK", headers, body)


def _base_headers(length: int, content_type: str) -> Headers:
    return Headers(
        [
            ("Date", email.utils.formatdate(usegmt=True)),
            ("Connection", "close"),
            ("Content-Length", str(length)),
            ("Content-Type", content_type),
        ]
    )


def _text(status: http.HTTPStatus, text: str) -> Response:
    body = text.encode()
    return Response(
        status.value, status.phrase, _base_headers(len(body), "text/plain; charset=utf-8"), body
    )


def _unauthorized() -> Response:
    return _text(
        http.HTTPStatus.UNAUTHORIZED,
        "Open the dashboard with `gepad dashboard` (its link works once)\n",
    )


def _is_loopback(remote: object) -> bool:
    if not isinstance(remote, tuple) or not remote:
        return False
    try:
        return ipaddress.ip_address(str(remote[0])).is_loopback
    except ValueError:
        return False
