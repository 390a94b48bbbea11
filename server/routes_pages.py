"""HTML pages: the session list (with upload), one session's report, and the history of a metric over sessions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from .routes_api import Store
from .storage import StoredSession
from .templating import templates

router = APIRouter(include_in_schema=False)

# a value at or above this fraction of its threshold, without the flag, is shown as a warning
WARN_FRACTION = 0.75

# rated metric -> (flag raised for it, threshold key); the flag decides "fault", the threshold "warn"
RATED_METRICS = {
    "back_rounding_deg": ("back_rounding", "back_rounding_deg"),
    "lockout_lean_back_deg": ("lean_back", "lean_back_deg"),
}

# (key, column title, unit, decimals) of the per-rep table
REP_COLUMNS = (
    ("trunk_angle_deg", "Trunk", "°", 0),
    ("pelvis_angle_deg", "Pelvis", "°", 0),
    ("back_rounding_deg", "Rounding", "°", 1),
    ("lockout_lean_back_deg", "Lean-back", "°", 1),
    ("descent_s", "Down", "s", 2),
    ("bottom_pause_s", "Pause", "s", 2),
    ("ascent_s", "Up", "s", 2),
    ("top_pause_s", "Top", "s", 2),
    ("peak_ascent_speed_deg_s", "Peak speed", "°/s", 0),
    ("hip_drop_m", "Hip drop", "m", 2),
)

SORT_KEYS: dict[str, Callable[[StoredSession], Any]] = {
    "date": lambda s: s.date,
    "name": lambda s: s.name.casefold(),
    "exercise": lambda s: s.exercise.casefold(),
    "reps": lambda s: s.report["summary"]["rep_count"],
    "flags": lambda s: sum(s.report["summary"]["flag_counts"].values()),
}


def _mean(name: str) -> Callable[[dict[str, Any]], float | None]:
    return lambda summary: (summary.get("mean") or {}).get(name)


# history metric -> (label, unit, value from the report's summary)
HISTORY_METRICS: dict[str, tuple[str, str, Callable[[dict[str, Any]], float | None]]] = {
    "back_rounding_deg": ("Mean back rounding", "°", _mean("back_rounding_deg")),
    "trunk_angle_deg": ("Mean depth (trunk angle)", "°", _mean("trunk_angle_deg")),
    "rep_duration_s": ("Mean tempo (rep duration)", "s", _mean("rep_duration_s")),
    "ascent_s": ("Mean ascent time", "s", _mean("ascent_s")),
    "lockout_lean_back_deg": ("Mean lean-back at lockout", "°", _mean("lockout_lean_back_deg")),
    "rep_count": ("Rep count", "reps", lambda summary: summary["rep_count"]),
    "flag_count": ("Flags raised", "flags", lambda summary: sum(summary["flag_counts"].values())),
}


@router.get("/", response_class=HTMLResponse)
def session_list(
    request: Request,
    store: Store,
    sort: Annotated[Literal[tuple(SORT_KEYS)], Query()] = "date",  # type: ignore[valid-type]  # a Literal built from a constant at import time
    order: Literal["asc", "desc"] = "desc",
) -> HTMLResponse:
    sessions = sorted(store.sessions(), key=SORT_KEYS[sort], reverse=order == "desc")
    return templates.TemplateResponse(
        request, "sessions.html", {"sessions": sessions, "sort": sort, "order": order}
    )


@router.get("/sessions/{session_id}", response_class=HTMLResponse)
def session_report(request: Request, store: Store, session_id: int) -> HTMLResponse:
    session = store.get(session_id)
    report = session.report
    thresholds = report["thresholds"]
    rows = [
        {"rep": rep, "cells": [_cell(rep, column, thresholds) for column in REP_COLUMNS]} for rep in report["reps"]
    ]
    return templates.TemplateResponse(
        request,
        "report.html",
        {"session": session, "report": report, "rows": rows, "columns": REP_COLUMNS, "warn_fraction": WARN_FRACTION},
    )


@router.get("/history", response_class=HTMLResponse)
def history(
    request: Request,
    store: Store,
    metric: Annotated[Literal[tuple(HISTORY_METRICS)], Query()] = "back_rounding_deg",  # type: ignore[valid-type]  # a Literal built from a constant at import time
) -> HTMLResponse:
    label, unit, value_of = HISTORY_METRICS[metric]
    points = [{"session": s, "value": value_of(s.report["summary"])}
              for s in sorted(store.sessions(), key=SORT_KEYS["date"])]
    return templates.TemplateResponse(
        request, "history.html",
        {"metric": metric, "label": label, "unit": unit, "points": points, "metrics": HISTORY_METRICS},
    )


def _cell(rep: dict[str, Any], column: tuple[str, str, str, int], thresholds: dict[str, float]) -> dict[str, Any]:
    key, _title, _unit, decimals = column
    value = rep.get(key)
    rating = "none"
    if key in RATED_METRICS and value is not None:
        flag, threshold_key = RATED_METRICS[key]
        if flag in rep["flags"]:
            rating = "fault"
        elif value >= WARN_FRACTION * thresholds[threshold_key]:
            rating = "warn"
        else:
            rating = "good"
    return {"text": "—" if value is None else f"{value:.{decimals}f}", "rating": rating}


@router.get("/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    """The JSON API's reference, rendered here from ``/openapi.json`` (no script or style from other hosts)."""
    schema = request.app.openapi()
    operations = [
        {"method": method.upper(), "path": path, "summary": op.get("summary", ""),
         "description": op.get("description", ""),
         "parameters": [{"name": p["name"], "in": p["in"], "required": p.get("required", False),
                         "description": p.get("description") or p.get("schema", {}).get("description", "")}
                        for p in op.get("parameters", [])],
         "body": next(iter(op.get("requestBody", {}).get("content", {})), None),
         "responses": {code: r.get("description", "") for code, r in op.get("responses", {}).items()}}
        for path, methods in schema["paths"].items() for method, op in methods.items()
    ]
    return templates.TemplateResponse(request, "docs.html", {"info": schema["info"], "operations": operations})
