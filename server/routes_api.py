"""JSON API on sessions: create from an upload, list, read, edit, delete, re-analyse, and downloads."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import mimetypes
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile, status
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from hinge.analysis.metrics import Thresholds
from hinge.analysis.recording import SENSOR_NAMES

from .sessions import create_session, reanalyse_session
from .storage import SessionStore, StoredSession

router = APIRouter(prefix="/api", tags=["sessions"])

NAME_MAX_CHARS = 200
EXERCISE_MAX_CHARS = 100
NOTES_MAX_CHARS = 10_000
MAX_LOAD_KG = 1_000.0


def get_store(request: Request) -> SessionStore:
    return request.app.state.store


Store = Annotated[SessionStore, Depends(get_store)]

# the thresholds the analysis accepts (it checks their range), each optional here: a missing one keeps its
# current (or default) value
ThresholdsIn = create_model(  # type: ignore[call-overload]  # fields generated from the Thresholds dataclass
    "ThresholdsIn",
    __config__=ConfigDict(extra="forbid"),
    **{
        f.name: (float | None, Field(default=None, description=f"degrees (default {f.default})"))
        for f in dataclasses.fields(Thresholds)
    },
)


class Error(BaseModel):
    detail: str = Field(description="one-line message for the user")


class SessionSummary(BaseModel):
    """A stored session without its full report."""

    id: int
    name: str
    date: datetime = Field(description="when the lift happened (from the recording's clock, else the upload)")
    exercise: str
    load_kg: float | None
    notes: str
    filename: str = Field(description="name of the uploaded file")
    placement: str = Field(description="where a single phone was worn (for a phone app's export)")
    created_at: datetime
    thresholds: dict[str, float]
    summary: dict[str, Any] = Field(description="the report's `summary` (hinge-report/1)")
    warning_count: int


class Session(SessionSummary):
    report: dict[str, Any] = Field(description="the hinge-report/1 object, as `hinge analyze --json` prints it")


class SessionPatch(BaseModel):
    """Fields to change; absent fields keep their value (``load_kg: null`` clears the load)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(default=None, min_length=1, max_length=NAME_MAX_CHARS)  # type: ignore[assignment]  # absent: unchanged; null is refused
    date: datetime = Field(default=None, description="ISO 8601; without a zone it is taken as UTC")  # type: ignore[assignment]  # absent: unchanged; null is refused
    exercise: str = Field(default=None, max_length=EXERCISE_MAX_CHARS)  # type: ignore[assignment]  # absent: unchanged; null is refused
    load_kg: float | None = Field(default=None, ge=0, le=MAX_LOAD_KG)
    notes: str = Field(default=None, max_length=NOTES_MAX_CHARS)  # type: ignore[assignment]  # absent: unchanged; null is refused


_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": Error, "description": "no such session"},
    422: {"model": Error, "description": "invalid input, or a recording the analysis cannot read"},
}


def to_summary(session: StoredSession) -> dict[str, Any]:
    fields = dataclasses.asdict(session)
    report = fields.pop("report")
    return {**fields, "summary": report["summary"], "warning_count": len(report["warnings"])}


def to_session(session: StoredSession) -> dict[str, Any]:
    return {**to_summary(session), "report": session.report}


@router.post(
    "/sessions",
    status_code=status.HTTP_201_CREATED,
    response_model=Session,
    summary="Upload a recording and store it as a session",
    responses={**_ERRORS, 413: {"model": Error, "description": "upload over the size limit"}},
)
def upload_session(
    store: Store,
    file: Annotated[UploadFile, File(description="a hinge-recording/1 CSV, or a Sensor Logger or phyphox export")],
    placement: Annotated[Literal[SENSOR_NAMES], Form(  # type: ignore[valid-type]  # a Literal built from a constant at import time
        description="where the phone was worn, for a phone app's export (hinge-recording/1 names its sensors)",
    )] = "hip",
    platform: Annotated[Literal["ios", "android"] | None, Form(
        description="the phone's platform, for a Sensor Logger export that does not say (no Metadata.csv)")] = None,
    name: Annotated[str | None, Form(max_length=NAME_MAX_CHARS)] = None,
    exercise: Annotated[str, Form(max_length=EXERCISE_MAX_CHARS)] = "",
    load_kg: Annotated[float | None, Form(ge=0, le=MAX_LOAD_KG)] = None,
    notes: Annotated[str, Form(max_length=NOTES_MAX_CHARS)] = "",
    thresholds: Annotated[str | None, Form(description='JSON object, e.g. {"back_rounding_deg": 15}')] = None,
) -> dict[str, Any]:
    """Import and analyse the upload; on success store it as received with its report. Nothing is stored on error."""
    chosen = _parse_thresholds(thresholds)
    session = create_session(
        store, file.file.read(), filename=_safe_filename(file.filename), placement=placement, platform=platform,
        name=name or None,
        exercise=exercise, load_kg=load_kg, notes=notes, thresholds=chosen,
    )
    return to_session(session)


@router.get("/sessions", response_model=list[SessionSummary], summary="List sessions, newest first")
def list_sessions(store: Store) -> list[dict[str, Any]]:
    return [to_summary(s) for s in store.sessions()]


@router.get("/sessions/{session_id}", response_model=Session, responses=_ERRORS, summary="One session with its report")
def get_session(store: Store, session_id: int) -> dict[str, Any]:
    return to_session(store.get(session_id))


@router.patch("/sessions/{session_id}", response_model=Session, responses=_ERRORS,
              summary="Edit name, date, exercise, load or notes")
def edit_session(store: Store, session_id: int, changes: SessionPatch) -> dict[str, Any]:
    fields = changes.model_dump(exclude_unset=True)
    if "date" in fields:  # stored in UTC; a date without a zone is taken as UTC
        when = fields["date"]
        try:
            when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
        except OverflowError:
            raise HTTPException(422, f"date: {fields['date'].isoformat()} is out of range in UTC") from None
        fields["date"] = when.isoformat(timespec="seconds")
    return to_session(store.update(session_id, **fields))


@router.delete("/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_ERRORS,
               summary="Delete a session and its recording")
def delete_session(store: Store, session_id: int) -> Response:
    store.delete(session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/sessions/{session_id}/reanalyse", response_model=Session, responses=_ERRORS,
             summary="Analyse the stored recording again with other thresholds")
def reanalyse(store: Store, session_id: int, thresholds: ThresholdsIn) -> dict[str, Any]:  # type: ignore[valid-type]  # a model built at import time
    chosen = {k: v for k, v in thresholds.model_dump().items() if v is not None}  # type: ignore[attr-defined]  # ditto
    return to_session(reanalyse_session(store, session_id, chosen))


@router.get("/sessions/{session_id}/recording", response_class=FileResponse, responses=_ERRORS,
            summary="Download the recording as uploaded")
def download_recording(store: Store, session_id: int) -> FileResponse:
    session = store.get(session_id)
    media_type = mimetypes.guess_type(session.filename)[0] or "application/octet-stream"
    return FileResponse(store.recording_path(session.id), media_type=media_type, filename=session.filename)


@router.get("/sessions/{session_id}/report.json", responses=_ERRORS, summary="Download the report (hinge-report/1)")
def download_report(store: Store, session_id: int) -> Response:
    session = store.get(session_id)
    return Response(
        json.dumps(session.report, indent=2), media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="session-{session.id}-report.json"'},
    )


@router.get("/sessions/{session_id}/reps.csv", responses=_ERRORS, summary="Download the per-rep metrics as CSV")
def download_reps(store: Store, session_id: int) -> Response:
    session = store.get(session_id)
    return Response(
        reps_csv(session.report["reps"]), media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="session-{session.id}-reps.csv"'},
    )


@router.get("/sessions/{session_id}/series", responses=_ERRORS,
            summary="Angle signals for plotting (time_s, trunk, pelvis, spinal flexion; <= 50 Hz)")
def get_series(store: Store, session_id: int) -> dict[str, Any]:
    return store.series(session_id)


def reps_csv(reps: list[dict[str, Any]]) -> str:
    """One row per rep: every scalar field of the report's reps, flags joined by ';' (cues left out)."""
    columns = [key for key in (reps[0] if reps else {"index": None}) if key != "cues"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for rep in reps:
        writer.writerow([";".join(v) if isinstance(v, list) else ("" if v is None else v)
                         for v in (rep.get(c) for c in columns)])
    return out.getvalue()


def _parse_thresholds(text: str | None) -> dict[str, float]:
    if not text:
        return {}
    try:
        parsed = ThresholdsIn.model_validate_json(text)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise HTTPException(422, f"thresholds{'.' + where if where else ''}: {first['msg']}") from None
    return {k: v for k, v in parsed.model_dump().items() if v is not None}


def _safe_filename(filename: str | None) -> str:
    """The upload's base name, printable characters only (it is shown and sent back in a header)."""
    base = re.split(r"[\\/]", filename or "")[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable()).strip()[:NAME_MAX_CHARS]
    return cleaned or "recording.csv"
