"""The access token of a server that listens beyond loopback: ingest and every change through the API need it.

A client presents it as ``Authorization: Bearer TOKEN`` (``hinge record --server``), as ``?token=TOKEN``
(Sensor Logger's push URL: the app cannot send headers), or as the ``hinge_token`` cookie, which any page opened
with a valid ``?token=`` sets, so the pages' own uploads, the live page's "end set" and the phone page's
WebSocket carry it. Reading (pages, ``GET`` API, watching a live session) stays open. Tokens are compared as
bytes in constant time; a token is printable ASCII without spaces (:func:`check_token`), so it fits a cookie.
"""

from __future__ import annotations

import re
import secrets
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs

from fastapi.responses import JSONResponse
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

TOKEN_COOKIE = "hinge_token"
PROTECTED_WEBSOCKET_PATHS = ("/api/live/ingest",)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
REFUSED_BODY_BYTES = 16 * 1024 * 1024  # of a refused request's body, read and dropped so the 401 reaches the client
MISSING_TOKEN = "this server needs its access token: open the URL hinge serve printed (it ends in ?token=…)"


TOKEN_PATTERN = re.compile(r"[!-~]{1,200}")   # printable ASCII, no space


def new_token() -> str:
    return secrets.token_urlsafe(12)


def check_token(token: str) -> str:
    """The token if usable, else ValueError saying why (an empty token would silently turn auth off)."""
    if not TOKEN_PATTERN.fullmatch(token):
        raise ValueError("the access token must be 1-200 printable ASCII characters without spaces "
                         f"(found {len(token)} characters{'' if token.isascii() else ', not all ASCII'}); "
                         "unset HINGE_TOKEN to have one made")
    return token


def presented_token(scope: Scope) -> bytes:
    """The token a request or WebSocket handshake carries (header, query, cookie) as bytes, or b''."""
    headers = dict(scope.get("headers") or [])
    authorization = headers.get(b"authorization", b"")
    if authorization[:7].lower() == b"bearer ":
        return authorization[7:].strip()
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"), encoding="latin-1")
    if query.get("token"):
        return query["token"][0].encode("latin-1")
    try:
        cookie = SimpleCookie(headers.get(b"cookie", b"").decode("latin-1"))
    except CookieError:
        return b""
    return cookie[TOKEN_COOKIE].value.encode("latin-1") if TOKEN_COOKIE in cookie else b""


def token_matches(scope: Scope, token: str) -> bool:
    return secrets.compare_digest(presented_token(scope), token.encode("ascii"))


def has_token(connection: HTTPConnection) -> bool:
    """True when the server needs no token or this request presented the right one."""
    token = connection.app.state.settings.token
    return token is None or token_matches(connection.scope, token)


class TokenGuard:
    """ASGI middleware: refuse ingest and API changes without the token (401; WebSocket closed with 1008)."""

    def __init__(self, app: ASGIApp, *, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.token is None or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        valid = token_matches(scope, self.token)
        path = scope["path"]
        if scope["type"] == "websocket":
            if path in PROTECTED_WEBSOCKET_PATHS and not valid:
                # accepted, then closed with a reason the page can show (a refused handshake has none)
                await receive()  # websocket.connect
                await send({"type": "websocket.accept"})
                await send({"type": "websocket.close", "code": 1008, "reason": MISSING_TOKEN[:120]})
                return
            await self.app(scope, receive, send)
            return
        if path.startswith("/api/") and scope["method"] not in SAFE_METHODS and not valid:
            await _discard_body(receive)
            await JSONResponse({"detail": MISSING_TOKEN}, status_code=401)(scope, receive, send)
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if not (valid and query.get("token")):
            await self.app(scope, receive, send)
            return
        secure = "; Secure" if scope.get("scheme") == "https" else ""
        cookie = f"{TOKEN_COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict{secure}".encode("latin-1")

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie)]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


async def _discard_body(receive: Receive) -> None:
    """Read and drop a refused request's body (up to ``REFUSED_BODY_BYTES``) before answering: a connection
    closed with the body unread is reset, and the client (an upload of a recording) would see that, not why."""
    received = 0
    while received <= REFUSED_BODY_BYTES:
        message = await receive()
        received += len(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
