"""Upload → stored session: import (``firmware_bridge.importers``), analyse (:mod:`analysis`), and keep the upload
as received, the report and its plot series.

The only place the server calls the importers and the analysis; routes and the demo import go through here.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .storage import SessionStore, StoredSession

log = logging.getLogger("hinge.server")

DEMOS_IMPORTED_KEY = "demos_imported"
# a recording whose first stamp is after 2000-01-01 carries Unix time: its date is the session's date
_UNIX_TIME_FROM_S = 946_684_800.0


def default_thresholds() -> dict[str, float]:
    from hinge.analysis.metrics import Thresholds

    return dataclasses.asdict(Thresholds())


def analyse(
    content: bytes, *, filename: str, placement: str, thresholds: dict[str, float], platform: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (hinge-report/1 without series, its plot series) for an upload's bytes.

    ``content`` is a ``hinge-recording/1`` CSV or a phone app's export (see ``firmware_bridge.importers``);
    ``placement`` says where a single phone was worn, ``platform`` (ios/android) what the export may not say.
    Raises :class:`analysis.errors.HingeError` (one-line
    message) for an unsupported, malformed or unanalysable upload.
    """
    from hinge.analysis.metrics import Thresholds
    from hinge.analysis.pipeline import AnalysisOptions, analyze
    from hinge.analysis.report import build_report
    from hinge.firmware_bridge.importers import load_recording

    recording = load_recording(content, filename, sensor=placement, platform=platform)
    result = analyze(recording, options=AnalysisOptions(thresholds=Thresholds(**thresholds)))
    report = build_report(result, include_series=True)  # series arrive as JSON lists (NaN → null)
    series = report.pop("series")
    return report, series


def create_session(
    store: SessionStore,
    content: bytes,
    *,
    filename: str,
    placement: str = "hip",
    platform: str | None = None,
    name: str | None = None,
    exercise: str = "",
    load_kg: float | None = None,
    notes: str = "",
    thresholds: dict[str, float] | None = None,
) -> StoredSession:
    """Analyse ``content`` and store it; nothing is stored when the analysis raises."""
    thresholds = {**default_thresholds(), **(thresholds or {})}
    report, series = analyse(content, filename=filename, placement=placement, thresholds=thresholds,
                             platform=platform)
    now = datetime.now(UTC)
    start_time_s = float(report["recording"]["start_time_s"])
    date = datetime.fromtimestamp(start_time_s, UTC) if start_time_s >= _UNIX_TIME_FROM_S else now
    return store.create(
        recording=content,
        filename=filename,
        placement=placement,
        name=name or Path(filename).stem or "session",
        date=date.isoformat(timespec="seconds"),
        exercise=exercise,
        load_kg=load_kg,
        notes=notes,
        created_at=now.isoformat(timespec="seconds"),
        thresholds=thresholds,
        report=report,
        series=series,
    )


def reanalyse_session(store: SessionStore, session_id: int, thresholds: dict[str, float]) -> StoredSession:
    """Analyse the stored upload again with ``thresholds`` (missing keys keep the session's values)."""
    session = store.get(session_id)
    thresholds = {**session.thresholds, **thresholds}
    report, series = analyse(store.recording_path(session_id).read_bytes(), filename=session.filename,
                             placement=session.placement, thresholds=thresholds,
                             platform=session.report["recording"]["metadata"].get("platform"))  # as imported
    return store.replace_analysis(session_id, thresholds=thresholds, report=report, series=series)


def import_demo_recordings(store: SessionStore, demo_dir: Path) -> int:
    """On the first start with an empty database, store every ``demo_dir/*.csv``; return how many were stored."""
    from hinge.analysis.errors import HingeError

    if store.count() or store.get_meta(DEMOS_IMPORTED_KEY) is not None:
        return 0
    imported = 0
    for path in sorted(Path(demo_dir).glob("*.csv")):
        try:
            create_session(store, path.read_bytes(), filename=path.name, notes="Demo recording shipped with hinge.")
        except HingeError as error:
            log.warning("demo recording %s not imported: %s", path.name, error)
            continue
        imported += 1
    store.set_meta(DEMOS_IMPORTED_KEY, datetime.now(UTC).isoformat(timespec="seconds"))
    log.info("imported %d demo recording(s) from %s", imported, demo_dir)
    return imported
