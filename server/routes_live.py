"""Live sessions: the ingest WebSocket (``hinge-live/1``), Sensor Logger push, the viewers' WebSocket, "end set",
and the live and phone pages."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, WebSocket, WebSocketDisconnect, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from hinge.analysis.errors import HingeError
from hinge.analysis.recording import SENSOR_NAMES
from hinge.firmware_bridge.live_protocol import (
    INGEST_PATH,
    MAX_MESSAGE_BYTES,
    PROTOCOL,
    SERVER_TIME_BASE,
    LiveProtocolError,
    decode_message,
)

from .auth import has_token
from .live import (
    IDLE_EXPIRY_S,
    LiveHub,
    LiveSession,
    LiveSessionNotFound,
    LiveSetEnded,
    check_session_id,
    parse_hello,
)
from .qr import qr_svg
from .routes_api import Store, to_session
from .sessions import create_session
from .templating import templates

router = APIRouter(tags=["live"])
pages = APIRouter(include_in_schema=False)

# a WebSocket close reason must fit in 123 bytes
_CLOSE_REASON_CHARS = 120
# per ingest connection: messages per second sustained, and the burst allowed after a reconnect
MESSAGES_PER_S = 25.0
MESSAGE_BURST = 100.0


def get_hub(request: Request) -> LiveHub:
    return request.app.state.live


def _session(request: Request, session_id: str) -> LiveSession:
    try:
        return get_hub(request).get(session_id)
    except LiveSessionNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None


class MessageRate:
    """Token bucket of one connection: :meth:`wait` returns at once within the rate, else when a token is due.

    A flooding client is slowed to ``per_s`` messages a second and, as every message yields to the event loop,
    cannot hold up other requests."""

    def __init__(self, per_s: float = MESSAGES_PER_S, burst: float = MESSAGE_BURST) -> None:
        self.per_s, self.burst = per_s, burst
        self.tokens, self.at = burst, time.monotonic()

    async def wait(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.per_s)
        self.at = now
        self.tokens -= 1.0
        await asyncio.sleep(0.0 if self.tokens >= 0 else -self.tokens / self.per_s)


async def receive_text(socket: WebSocket) -> str:
    """The next text frame; a binary frame is a protocol error, a closed connection WebSocketDisconnect."""
    message = await socket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    if message.get("text") is None:
        raise LiveProtocolError("binary frames are not part of hinge-live/1; send JSON text frames")
    return message["text"]


async def _close(socket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(RuntimeError):  # the connection is already closing
        await socket.close(code=code, reason=reason.encode("utf-8")[:_CLOSE_REASON_CHARS].decode("utf-8", "ignore"))


@router.websocket(INGEST_PATH)
async def ingest(socket: WebSocket) -> None:
    """``hinge-live/1`` (docs/live-protocol.md): ``hello``, then ``samples``, ``gap``, ``status``, ``end``."""
    await socket.accept()
    hub: LiveHub = socket.app.state.live
    session: LiveSession | None = None
    source = None
    rate = MessageRate()
    try:
        hello = parse_hello(await receive_text(socket))
        session = hub.open(hello["session_id"])
        source = session.connect(hello, socket)
        while True:
            text = await receive_text(socket)
            await rate.wait()
            reply = await session.handle(source, text)
            if reply is not None:
                await socket.send_text(json.dumps(reply))
    except LiveSetEnded as error:
        await _close(socket, 1000 if str(error) == "set ended" else 1008, str(error))
    except HingeError as error:
        await _close(socket, 1008, str(error))
    except WebSocketDisconnect:
        pass
    finally:
        if session is not None and source is not None:
            session.disconnect(source)
            await hub.forget_if_empty(session)


@router.websocket("/api/live/{session_id}/view")
async def view(socket: WebSocket, session_id: str) -> None:
    """Viewers: a ``snapshot`` first, then ``state``, ``rep``, ``session`` and finally ``ended`` messages.

    Watching never creates a set: a viewer of a set not open yet waits for it. A viewer that has gone away is
    noticed at the next message (at least one a second while the set is open)."""
    await socket.accept()
    hub: LiveHub = socket.app.state.live
    try:
        queue = hub.watch(session_id)
    except HingeError as error:
        await _close(socket, 1008, str(error))
        return
    try:
        while (text := await queue.get()) is not None:
            await socket.send_text(text)
        await _close(socket, 1000, "set ended")
    except WebSocketDisconnect:
        pass
    finally:
        hub.unwatch(session_id, queue)


@router.get("/api/live", summary="Open live sessions")
def list_live(request: Request) -> list[dict[str, Any]]:
    return [s.describe() for s in sorted(get_hub(request).sessions.values(), key=lambda s: s.started_at, reverse=True)]


@router.get("/api/live/{session_id}", summary="One open live session: sensors, sources, reps so far")
def get_live(request: Request, session_id: str) -> dict[str, Any]:
    session = _session(request, session_id)
    return {**session.describe(), "state": session.state, "reps": session.reps}


@router.post("/api/live/{session_id}/sensorlogger", summary="Sensor Logger HTTP push into a live session",
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {
                 "type": "object", "description": "one Sensor Logger push message ({'payload': [...]})"}}}}})
async def sensor_logger_push(
    request: Request,
    session_id: str,
    placement: Annotated[Literal[SENSOR_NAMES], Query(description="where the phone is worn")] = "hip",  # type: ignore[valid-type]  # a Literal built from a constant at import time
    platform: Annotated[Literal["android", "ios"] | None, Query(
        description="the phone's platform; needed on iOS (its push carries no total acceleration)")] = None,
) -> dict[str, int]:
    """Set Sensor Logger's push URL to this address (``?placement=back`` for the upper back, and ``&token=`` when
    the server asks for one: Sensor Logger cannot send headers). The session is created by the first push."""
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > MAX_MESSAGE_BYTES:
            raise HTTPException(413, f"a push message larger than {MAX_MESSAGE_BYTES} bytes")
    message = decode_message(bytes(body))
    hub = get_hub(request)
    session = hub.open(session_id)
    try:
        return {"accepted": await session.ingest_sensor_logger(message, sensor=placement, platform=platform)}
    except HingeError:
        await hub.forget_if_empty(session)  # a refused first push leaves no set behind
        raise


@router.post("/api/live/{session_id}/end", status_code=status.HTTP_201_CREATED,
             summary="End the set: analyse the recording and store it as a session",
             responses={200: {"description": "the set had already been stored: that session"}})
async def end_set(request: Request, store: Store, session_id: str) -> Any:
    """The stored report is the full offline analysis of everything recorded; viewers are sent to it. Ending a
    set again answers its stored session (200). On an analysis error (422) the live session stays open. A set
    interrupted by a server stop (or left without a source) is stored from its file."""
    hub = get_hub(request)
    check_session_id(session_id)
    async with hub.deciding(session_id):  # a second "end set" waits, then answers the stored session
        if session_id in hub.ended:
            return JSONResponse(to_session(store.get(hub.ended[session_id])), status_code=status.HTTP_200_OK)
        if session_id in hub.interrupted():
            path = hub.live_dir / f"{session_id}.csv"
            content = await run_in_threadpool(path.read_bytes)
            stored = await run_in_threadpool(
                create_session, store, content, filename=f"live-{session_id}.csv",
                name=f"Live set {session_id} (interrupted)",
                notes="Recorded live; the set was interrupted (server stopped, or no source for a while).")
            hub.remember_end(session_id, stored.id)
            path.unlink()
            return to_session(stored)
        session = _session(request, session_id)
        async with session.lock:  # no sample is written meanwhile; the sources wait, then hear "set ended"
            content = await run_in_threadpool(session.finish)
            session.closed = True
            try:
                stored = await run_in_threadpool(
                    create_session, store, content, filename=f"live-{session.id}.csv",
                    name=f"Live set {session.started_at[:16].replace('T', ' ')}", notes="Recorded live.")
            except BaseException:
                session.closed = False
                raise
            session.ended_session_id = stored.id
            hub.remember_end(session_id, stored.id)
            hub.remove(session.id)
    await session.analysis.finish()  # the viewers see every rep before being sent to the report
    await session.close({"type": "ended", "session_id": stored.id, "url": f"/sessions/{stored.id}"},
                        reason="set ended")
    return to_session(stored)


@router.delete("/api/live/{session_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Discard an open or interrupted live set: nothing is stored")
async def discard_set(request: Request, session_id: str) -> Response:
    hub = get_hub(request)
    check_session_id(session_id)
    async with hub.deciding(session_id):
        if session_id in hub.interrupted():
            (hub.live_dir / f"{session_id}.csv").unlink(missing_ok=True)
            return Response(status_code=status.HTTP_204_NO_CONTENT)
        session = _session(request, session_id)
        async with session.lock:
            session.closed = True
            hub.remove(session_id)
    await session.close({"type": "discarded"}, reason="set discarded")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@pages.get("/live", response_class=HTMLResponse)
def live_index(request: Request) -> HTMLResponse:
    hub = get_hub(request)
    sessions = sorted(hub.sessions.values(), key=lambda s: s.started_at, reverse=True)
    return templates.TemplateResponse(request, "live_index.html", {
        "sessions": sessions, "interrupted": hub.interrupted(), "idle_minutes": round(IDLE_EXPIRY_S / 60)})


@pages.get("/live/new")
def live_new() -> RedirectResponse:
    return RedirectResponse(f"/live/{secrets.token_hex(4)}", status_code=status.HTTP_303_SEE_OTHER)


@pages.get("/live/{session_id}", response_class=HTMLResponse)
def live_page(request: Request, session_id: str) -> HTMLResponse:
    token = request.app.state.settings.token if has_token(request) else None
    phone_links = {}
    for placement in SENSOR_NAMES:
        url = request.url_for("phone_page").include_query_params(session=session_id, placement=placement)
        if token is not None:
            url = url.include_query_params(token=token)
        phone_links[placement] = {"url": str(url), "qr": qr_svg(str(url))}
    return templates.TemplateResponse(
        request, "live.html",
        {"session_id": session_id, "phone_links": phone_links, "can_end": has_token(request),
         "sensor_logger_url": str(request.url_for("sensor_logger_push", session_id=session_id))})


@pages.get("/phone", response_class=HTMLResponse)
def phone_page(
    request: Request,
    session: Annotated[str | None, Query(max_length=64)] = None,
    placement: Annotated[Literal[SENSOR_NAMES], Query()] = "hip",  # type: ignore[valid-type]  # a Literal built from a constant at import time
) -> HTMLResponse:
    open_sessions = sorted(get_hub(request).sessions.values(), key=lambda s: s.started_at, reverse=True)
    return templates.TemplateResponse(
        request, "phone.html",
        {"session_id": session, "placement": placement, "open_sessions": open_sessions,
         "new_session_id": secrets.token_hex(4), "protocol": PROTOCOL, "ingest_path": INGEST_PATH,
         "time_base": SERVER_TIME_BASE})
