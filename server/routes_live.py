"""Live sessions: the ingest WebSocket (``hinge-live/1``), Sensor Logger push, the viewers' WebSocket, "end set",
and the live and phone pages."""

from __future__ import annotations

import json
import secrets
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Query, Request, WebSocket, WebSocketDisconnect, status
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from hinge.analysis.errors import HingeError
from hinge.analysis.recording import SENSOR_NAMES

from .auth import has_token
from .live import LiveHub, LiveProtocolError, LiveSession, LiveSessionNotFound, parse_hello
from .qr import qr_svg
from .routes_api import Store, to_session
from .sessions import create_session
from .templating import templates

router = APIRouter(tags=["live"])
pages = APIRouter(include_in_schema=False)

# a WebSocket close reason must fit in 123 bytes
_CLOSE_REASON_CHARS = 120


def get_hub(request: Request) -> LiveHub:
    return request.app.state.live


def _session(request: Request, session_id: str) -> LiveSession:
    try:
        return get_hub(request).get(session_id)
    except LiveSessionNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None


@router.websocket("/api/live/ingest")
async def ingest(socket: WebSocket) -> None:
    """``hinge-live/1`` (docs/live-protocol.md): ``hello``, then ``samples``, ``gap``, ``status``, ``end``."""
    await socket.accept()
    hub: LiveHub = socket.app.state.live
    session: LiveSession | None = None
    source = None
    try:
        hello = parse_hello(await socket.receive_text())
        session = hub.open(hello["session_id"])
        source = session.connect(hello, socket)
        while True:
            reply = session.handle(source, await socket.receive_text())
            if reply is not None:
                await socket.send_text(json.dumps(reply))
    except HingeError as error:
        await socket.close(code=1008, reason=str(error)[:_CLOSE_REASON_CHARS])
    except WebSocketDisconnect:
        pass
    finally:
        if session is not None and source is not None:
            session.disconnect(source)


@router.websocket("/api/live/{session_id}/view")
async def view(socket: WebSocket, session_id: str) -> None:
    """Viewers: a ``snapshot`` first, then ``state``, ``rep``, ``session`` and finally ``ended`` messages.

    A viewer that has gone away is noticed at the next message (at least one a second)."""
    await socket.accept()
    try:
        session = socket.app.state.live.open(session_id)
    except LiveProtocolError as error:
        await socket.close(code=1008, reason=str(error)[:_CLOSE_REASON_CHARS])
        return
    queue = session.add_viewer()
    try:
        while (text := await queue.get()) is not None:
            await socket.send_text(text)
        await socket.close(code=1000, reason="set ended")
    except WebSocketDisconnect:
        pass
    finally:
        session.remove_viewer(queue)


@router.get("/api/live", summary="Open live sessions")
def list_live(request: Request) -> list[dict[str, Any]]:
    return [s.describe() for s in sorted(get_hub(request).sessions.values(), key=lambda s: s.started_at, reverse=True)]


@router.get("/api/live/{session_id}", summary="One open live session: sensors, sources, reps so far")
def get_live(request: Request, session_id: str) -> dict[str, Any]:
    session = _session(request, session_id)
    return {**session.describe(), "state": session.state, "reps": session.reps}


@router.post("/api/live/{session_id}/sensorlogger", summary="Sensor Logger HTTP push into a live session")
def sensor_logger_push(
    request: Request,
    session_id: str,
    message: Annotated[dict[str, Any], Body(description="one Sensor Logger push message ({'payload': [...]})")],
    placement: Annotated[Literal[SENSOR_NAMES], Query(description="where the phone is worn")] = "hip",  # type: ignore[valid-type]  # a Literal built from a constant at import time
    platform: Annotated[Literal["android", "ios"] | None, Query(
        description="the phone's platform; needed on iOS (its push carries no total acceleration)")] = None,
) -> dict[str, int]:
    """Set Sensor Logger's push URL to this address (``?placement=back`` for the upper back, and ``&token=`` when
    the server asks for one). The session is created by the first push."""
    try:
        session = get_hub(request).open(session_id)
    except LiveProtocolError as error:
        raise HTTPException(422, str(error)) from None
    return {"accepted": session.ingest_sensor_logger(message, sensor=placement, platform=platform)}


@router.post("/api/live/{session_id}/end", status_code=status.HTTP_201_CREATED,
             summary="End the set: analyse the recording and store it as a session")
async def end_set(request: Request, store: Store, session_id: str) -> dict[str, Any]:
    """The stored report is the full offline analysis of everything recorded; viewers are sent to it. On an
    analysis error (422) the live session stays open. A set interrupted by a server stop is stored from its file."""
    hub = get_hub(request)
    if session_id in hub.interrupted():
        path = hub.live_dir / f"{session_id}.csv"
        stored = await run_in_threadpool(
            create_session, store, path.read_bytes(), filename=f"live-{session_id}.csv",
            name=f"Live set {session_id} (interrupted)", notes="Recorded live; the server stopped during the set.")
        path.unlink()
        return to_session(stored)
    session = _session(request, session_id)
    content = session.finish()
    stored = await run_in_threadpool(
        create_session, store, content, filename=f"live-{session.id}.csv",
        name=f"Live set {session.started_at[:16].replace('T', ' ')}", notes="Recorded live.")
    await session.close(stored.id)
    hub.remove(session.id)
    return to_session(stored)


@pages.get("/live", response_class=HTMLResponse)
def live_index(request: Request) -> HTMLResponse:
    hub = get_hub(request)
    sessions = sorted(hub.sessions.values(), key=lambda s: s.started_at, reverse=True)
    return templates.TemplateResponse(request, "live_index.html",
                                      {"sessions": sessions, "interrupted": hub.interrupted()})


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
         "new_session_id": secrets.token_hex(4)})
