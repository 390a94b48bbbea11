"""Cross-site protection, security headers and log redaction, for every server (loopback included).

- **Host**: a request whose ``Host`` is not a name this server serves is refused (400), so a DNS-rebinding page
  (``evil.example`` resolving to 127.0.0.1) cannot read or change anything.
- **Origin**: a state-changing request (any method but GET/HEAD/OPTIONS) and every WebSocket handshake that a
  browser marks as coming from another site (``Origin`` not this server's, ``Origin: null``, or
  ``Sec-Fetch-Site: cross-site``/``same-site``) is refused (403; WebSocket closed with 1008). Clients that are not
  browsers (``hinge record``, Sensor Logger) send no ``Origin`` and pass; the access token guards them.
- **Headers**: a CSP without remote hosts, ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``
  (URLs may carry ``?token=``) and frame denial on every HTTP response.
- **Logs**: ``token=`` values in logged URLs are replaced by ``***`` (Sensor Logger's push URL carries it).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
SECURITY_HEADERS = (
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                                 b"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                                 b"frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
_TOKEN_IN_URL = re.compile(r"(token=)[^&\s\"']*", re.IGNORECASE)


def host_name(value: str) -> str:
    """``Host`` header → lower-case name without port (``[::1]:8000`` → ``::1``)."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class SiteGuard:
    """ASGI middleware: the Host and Origin checks of the module notes, before anything else runs."""

    def __init__(self, app: ASGIApp, *, allowed_hosts: tuple[str, ...]) -> None:
        self.app = app
        self.allowed = {host_name(h) for h in allowed_hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
        host = headers.get("host", "")
        problem = None
        if host_name(host) not in self.allowed:
            problem = (400, f"Host {host[:60]!r} is not a name this server serves (add it with HINGE_ALLOWED_HOSTS)")
        elif scope["type"] == "websocket" or scope["method"] not in SAFE_METHODS:
            problem = _cross_site(headers, host, scope)
        if problem is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await receive()  # websocket.connect; accepted, then closed with a reason the page can show
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": 1008, "reason": problem[1][:120]})
        else:
            await JSONResponse({"detail": problem[1]}, status_code=problem[0])(scope, receive, send)


def _cross_site(headers: dict[str, str], host: str, scope: Scope) -> tuple[int, str] | None:
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return 403, f"cross-site request refused (Sec-Fetch-Site: {fetch_site[:20]})"
    origin = headers.get("origin")
    if origin is None:
        return None
    parts = urlsplit(origin) if origin != "null" else None
    scheme = {"ws": "http", "wss": "https"}.get(scope.get("scheme", "http"), scope.get("scheme", "http"))
    if parts is None or parts.netloc.lower() != host.lower() or parts.scheme != scheme:
        return 403, f"cross-site request refused (Origin {origin[:60]!r} is not this server)"
    return None


class SecurityHeaders:
    """ASGI middleware adding :data:`SECURITY_HEADERS` to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


class RedactTokens(logging.Filter):
    """Replace ``token=…`` in a log record's message by ``token=***``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "token=" in message.lower():
            record.msg, record.args = _TOKEN_IN_URL.sub(r"\1***", message), ()
        return True


def redact_tokens_in_logs(names: tuple[str, ...] = ("uvicorn.access", "uvicorn.error", "uvicorn")) -> None:
    """Install :class:`RedactTokens` on the server's loggers (once)."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
