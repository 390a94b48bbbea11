"""The FastAPI application: ``create_app(settings)`` wires storage, routers, templates, static files and errors."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from importlib.metadata import version
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import routes_api, routes_live, routes_pages
from .auth import TokenGuard
from .live import LiveHub, LiveSetEnded
from .security import SecurityHeaders, SiteGuard, redact_tokens_in_logs
from .sessions import default_thresholds, import_demo_recordings
from .settings import Settings
from .storage import SessionNotFound, SessionStore
from .templating import templates

STATIC_DIR = Path(__file__).resolve().parent / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app on the store in ``settings.data_dir``; demo recordings are imported at startup if empty."""
    settings = settings or Settings()
    store = SessionStore(settings.data_dir)
    live = LiveHub(settings.data_dir, thresholds=default_thresholds())

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        redact_tokens_in_logs()
        if settings.demo_dir is not None and settings.demo_dir.is_dir():
            await run_in_threadpool(import_demo_recordings, store, settings.demo_dir)
        syncing = asyncio.create_task(live.run_sync())
        yield
        syncing.cancel()
        await live.shutdown()

    app = FastAPI(
        title="hinge",
        version=version("hinge"),
        summary="Hip-hinge rep reports from body-worn IMU recordings.",
        description="Upload a `hinge-recording/1` CSV to create a session; each session keeps the raw recording "
        "and its `hinge-report/1` report. Errors are JSON objects `{\"detail\": message}`.",
        lifespan=lifespan,
        docs_url=None,  # our own /docs page (routes_pages): FastAPI's loads Swagger UI from a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.live = live
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_upload_bytes)
    app.add_middleware(TokenGuard, token=settings.token)
    app.add_middleware(SiteGuard, allowed_hosts=settings.allowed_hosts)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(routes_api.router)
    app.include_router(routes_live.router)
    app.include_router(routes_pages.router)
    app.include_router(routes_live.pages)
    _add_error_handlers(app)
    return app


class BodySizeLimit:
    """Refuse a request body larger than ``max_bytes`` with 413, counting bytes as they stream in."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = f"the upload is larger than the limit of {self.max_bytes / 1e6:g} MB"
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await JSONResponse({"detail": message}, status_code=413)(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            incoming = await receive()
            if incoming["type"] == "http.request":
                received += len(incoming.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(status_code=413, detail=message)
            return incoming

        await self.app(scope, counting_receive, send)


def _add_error_handlers(app: FastAPI) -> None:
    from hinge.analysis.errors import HingeError

    def wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    def error_response(request: Request, status_code: int, message: str) -> Response:
        if wants_json(request):
            return JSONResponse({"detail": message}, status_code=status_code)
        return templates.TemplateResponse(
            request, "error.html", {"status_code": status_code, "message": message}, status_code=status_code
        )

    @app.exception_handler(HingeError)
    async def hinge_error(request: Request, error: HingeError) -> Response:
        return error_response(request, 422, str(error))

    @app.exception_handler(LiveSetEnded)
    async def set_ended(request: Request, error: LiveSetEnded) -> Response:
        return error_response(request, 409, str(error))

    @app.exception_handler(RecursionError)
    async def too_deep(request: Request, error: RecursionError) -> Response:
        return error_response(request, 400, "the request's JSON is nested too deeply")

    @app.exception_handler(SessionNotFound)
    async def not_found(request: Request, error: SessionNotFound) -> Response:
        return error_response(request, 404, str(error))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        return error_response(request, 422, "; ".join(_describe(e) for e in error.errors()))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        return error_response(request, error.status_code, str(error.detail))

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, error: Exception) -> Response:
        # the traceback still reaches the server log (Starlette re-raises after this response)
        return error_response(request, 500, f"internal error ({type(error).__name__}); see the server log")


def _describe(error: dict) -> str:
    """One validation error as 'body.name: String should have at most 200 characters'."""
    where = ".".join(str(part) for part in error.get("loc", ()))
    return f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid"))
