"""Access to the dashboard, tested by attack against a real daemon on loopback.

Every request is raw HTTP over a real socket (http.client), every websocket a real one; nothing
in the daemon is mocked.
"""

from __future__ import annotations

import asyncio
import http.client
import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from gepad_daemon_harness import Daemon, rpc, start
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    d = start(tmp_path_factory.mktemp("dash") / "home")
    try:
        yield d
    finally:
        d.stop()


def _http(
    daemon: Daemon,
    path: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> http.client.HTTPResponse:
    url = urlsplit(daemon.ws_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


async def _fresh_url(daemon: Daemon) -> str:
    async with rpc(daemon) as peer:
        result = await peer.call("dashboard.open")
    url: str = result["url"]
    return url


def _cookie(response: http.client.HTTPResponse) -> str:
    header = response.getheader("Set-Cookie")
    assert header is not None
    return header.split(";", 1)[0]


def _origin(daemon: Daemon) -> str:
    return "http" + daemon.ws_url.removeprefix("ws")


async def _login(daemon: Daemon) -> str:
    url = urlsplit(await _fresh_url(daemon))
    first = _http(daemon, f"{url.path}?{url.query}")
    assert first.status == 303, first.status
    return _cookie(first)


async def test_the_code_is_exchanged_once_for_a_strict_httponly_cookie(daemon: Daemon) -> None:
    url = urlsplit(await _fresh_url(daemon))
    assert url.scheme == "http" and url.hostname == "127.0.0.1"
    first = _http(daemon, f"{url.path}?{url.query}")
    assert first.status == 303
    assert first.getheader("Location") == "/dashboard/"
    set_cookie = first.getheader("Set-Cookie") or ""
    assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie
    page = _http(daemon, "/dashboard/", headers={"Cookie": _cookie(first)})
    assert page.status == 200
    assert page.getheader("Content-Type", "").startswith("text/html")
    csp = page.getheader("Content-Security-Policy", "")
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    # The attack: the same link again (from the history, a log, a shoulder-surfer).
    second = _http(daemon, f"{url.path}?{url.query}")
    assert second.status == 401
    assert second.getheader("Set-Cookie") is None


async def test_requests_without_the_cookie_get_401(daemon: Daemon) -> None:
    for path in ("/dashboard/", "/dashboard/app.js", "/dashboard/app.css", "/", "/etc/passwd"):
        assert _http(daemon, path).status == 401, path
    assert _http(daemon, "/dashboard/?code=made-up").status == 401
    assert _http(daemon, "/dashboard/", headers={"Cookie": "gepad_session_1=forged"}).status == 401
    cookie = await _login(daemon)
    forged = cookie.split("=", 1)[0] + "=not-the-session"
    assert _http(daemon, "/dashboard/app.js", headers={"Cookie": forged}).status == 401
    assert _http(daemon, "/dashboard/app.js", headers={"Cookie": cookie}).status == 200


async def test_a_cross_site_form_post_fails_and_changes_nothing(daemon: Daemon) -> None:
    cookie = await _login(daemon)
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "prompt.set",
            "params": {"component": "general", "text": "pwned"},
        }
    ).encode()
    for path in ("/", "/dashboard/", "/dashboard/app.js"):
        # websockets parses nothing but GET: the connection is dropped without an answer.
        with pytest.raises(http.client.RemoteDisconnected):
            _http(
                daemon,
                path,
                method="POST",
                body=body,
                headers={
                    "Cookie": cookie,
                    "Origin": "http://evil.example",
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )
    async with rpc(daemon) as peer:
        assert (await peer.call("prompt.get"))["text"] != "pwned"


async def _page_socket(daemon: Daemon, **headers: str) -> int | None:
    """The HTTP status the handshake was refused with, or None if it was accepted."""
    try:
        async with connect(daemon.ws_url, additional_headers=headers, open_timeout=10) as ws:
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "prompt.get"}))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert reply["result"]["component"] == "general"
            return None
    except InvalidStatus as exc:
        return exc.response.status_code


async def test_the_page_socket_needs_the_cookie_and_the_daemons_own_origin(daemon: Daemon) -> None:
    cookie = await _login(daemon)
    own = _origin(daemon)
    assert await _page_socket(daemon, Cookie=cookie, Origin=own) is None
    # A page on another local port gets the cookie sent too (cookies ignore ports): its Origin
    # gives it away.
    port = int(own.rsplit(":", 1)[1])
    for foreign in (
        f"http://127.0.0.1:{port + 1}",
        "http://evil.example",
        "null",
        own.replace("127.0.0.1", "localhost"),
    ):
        assert await _page_socket(daemon, Cookie=cookie, Origin=foreign) == 403, foreign
    # Without a live cookie the own origin is an origin like any other: not allowed.
    assert await _page_socket(daemon, Origin=own) == 403
    assert await _page_socket(daemon, Cookie=cookie.split("=")[0] + "=x", Origin=own) == 403
    # A cookie but no Origin is no browser page: it needs the token like any local program.
    assert await _page_socket(daemon, Cookie=cookie) == 401


async def test_token_rules_are_unchanged_for_other_clients(daemon: Daemon) -> None:
    assert await _page_socket(daemon) == 401
    assert await _page_socket(daemon, Authorization="Bearer wrong") == 401
    assert await _page_socket(daemon, Authorization=f"Bearer {daemon.token}") is None
    own = _origin(daemon)
    # The daemon's own origin is not an allowed origin for token clients: only the page's
    # cookie opens that door.
    assert await _page_socket(daemon, Authorization=f"Bearer {daemon.token}", Origin=own) == 403
    assert (
        await _page_socket(
            daemon, Authorization=f"Bearer {daemon.token}", Origin="http://evil.example"
        )
        == 403
    )


async def test_assets_are_all_local(daemon: Daemon) -> None:
    cookie = await _login(daemon)
    from gepad.dashboard._http import ASSETS, _asset

    for name in ASSETS:
        assert _http(daemon, f"/dashboard/{name}", headers={"Cookie": cookie}).status == 200
        # No third-party requests: nothing in the page names another host (the SVG namespace
        # is a name, never fetched).
        text = _asset(name).decode().replace("http://www.w3.org/2000/svg", "")
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, name
