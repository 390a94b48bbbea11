"""Sessions on disk: one SQLite file ``DATA_DIR/hinge.sqlite3`` plus the uploads as received,
``DATA_DIR/recordings/<id>.upload`` (a ``hinge-recording/1`` CSV or a phone app's export).

A session exists once its database row is committed. Creating one writes the recording file (temp file, fsync,
``os.replace``) inside the row's open transaction, so a crash at any point leaves either the whole session or no
visible session; a leftover file without a row is removed the next time the store is opened. Ids are positive
integers chosen by SQLite and checked before any path is built, so no id can point outside the data directory.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DB_FILENAME = "hinge.sqlite3"
RECORDINGS_DIRNAME = "recordings"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    date        TEXT NOT NULL,              -- ISO 8601, when the lift happened
    exercise    TEXT NOT NULL DEFAULT '',
    load_kg     REAL,
    notes       TEXT NOT NULL DEFAULT '',
    filename    TEXT NOT NULL,              -- name of the uploaded file (display, format hints), never a path
    placement   TEXT NOT NULL,              -- where a single phone was worn: 'hip' or 'back'
    created_at  TEXT NOT NULL,              -- ISO 8601 UTC, when it was stored
    thresholds  TEXT NOT NULL,              -- JSON object passed to analysis.metrics.Thresholds
    report      TEXT NOT NULL,              -- JSON, hinge-report/1 without series
    series      TEXT NOT NULL               -- JSON, the report's plot series
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

EDITABLE_FIELDS = ("name", "date", "exercise", "load_kg", "notes")
_SUMMARY_COLUMNS = "id, name, date, exercise, load_kg, notes, filename, placement, created_at, thresholds, report"
_UPLOAD_SUFFIX = ".upload"
_MAX_ID = 2**63 - 1  # SQLite's largest integer


class SessionNotFound(LookupError):
    """No stored session has this id (or the id is not a valid session id at all)."""

    def __init__(self, session_id: object) -> None:
        super().__init__(f"no session with id {session_id!r}")


@dataclass(frozen=True)
class StoredSession:
    """One session row; ``report`` is the decoded hinge-report/1 object (without series)."""

    id: int
    name: str
    date: str
    exercise: str
    load_kg: float | None
    notes: str
    filename: str
    placement: str
    created_at: str
    thresholds: dict[str, float]
    report: dict[str, Any]


class SessionStore:
    """Stored sessions in ``data_dir``. Safe to use from several threads: each call opens its own connection."""

    def __init__(self, data_dir: str | os.PathLike) -> None:
        self.data_dir = Path(data_dir)
        self.recordings_dir = self.data_dir / RECORDINGS_DIRNAME
        self.recordings_dir.mkdir(parents=True, exist_ok=True)
        self.db_path = self.data_dir / DB_FILENAME
        with closing(self._connect()) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
        self._remove_orphan_files()

    # ------------------------------------------------------------------------------------------- queries

    def sessions(self) -> list[StoredSession]:
        """All sessions, newest date first."""
        with closing(self._connect()) as db:
            rows = db.execute(f"SELECT {_SUMMARY_COLUMNS} FROM sessions ORDER BY date DESC, id DESC").fetchall()
        return [_to_session(row) for row in rows]

    def get(self, session_id: object) -> StoredSession:
        key = _checked_id(session_id)
        with closing(self._connect()) as db:
            row = db.execute(f"SELECT {_SUMMARY_COLUMNS} FROM sessions WHERE id = ?", (key,)).fetchone()
        if row is None:
            raise SessionNotFound(session_id)
        return _to_session(row)

    def series(self, session_id: object) -> dict[str, Any]:
        """The plot series stored with the session (``time_s`` and the angle signals)."""
        key = _checked_id(session_id)
        with closing(self._connect()) as db:
            row = db.execute("SELECT series FROM sessions WHERE id = ?", (key,)).fetchone()
        if row is None:
            raise SessionNotFound(session_id)
        return json.loads(row[0])

    def recording_path(self, session_id: object) -> Path:
        """Path of the session's upload as received (the session must exist)."""
        key = self.get(session_id).id
        return self._recording_path(key)

    def count(self) -> int:
        with closing(self._connect()) as db:
            return int(db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0])

    def get_meta(self, key: str) -> str | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    # ------------------------------------------------------------------------------------------- changes

    def create(
        self,
        *,
        recording: bytes,
        filename: str,
        placement: str,
        name: str,
        date: str,
        exercise: str,
        load_kg: float | None,
        notes: str,
        created_at: str,
        thresholds: dict[str, float],
        report: dict[str, Any],
        series: dict[str, Any],
    ) -> StoredSession:
        """Store a new session and its raw recording atomically; return it with its new id."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO sessions (name, date, exercise, load_kg, notes, filename, placement, created_at, "
                "thresholds, report, series) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name, date, exercise, load_kg, notes, filename, placement, created_at, _dumps(thresholds),
                 _dumps(report), _dumps(series)),
            )
            session_id = int(cursor.lastrowid)  # type: ignore[arg-type]  # an INSERT always sets lastrowid
            path = self._recording_path(session_id)
            try:
                _write_atomically(path, recording)
                db.execute("COMMIT")
            except BaseException:
                path.unlink(missing_ok=True)
                raise
        return self.get(session_id)

    def update(self, session_id: object, **fields: Any) -> StoredSession:
        """Change any of :data:`EDITABLE_FIELDS`; return the updated session."""
        unknown = set(fields) - set(EDITABLE_FIELDS)
        if unknown:
            raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
        key = _checked_id(session_id)
        if fields:
            assignments = ", ".join(f"{name} = ?" for name in fields)
            with self._transaction() as db:
                cursor = db.execute(f"UPDATE sessions SET {assignments} WHERE id = ?", (*fields.values(), key))
                if cursor.rowcount == 0:
                    raise SessionNotFound(session_id)
        return self.get(key)

    def replace_analysis(
        self, session_id: object, *, thresholds: dict[str, float], report: dict[str, Any], series: dict[str, Any]
    ) -> StoredSession:
        """Swap in a new report (e.g. after re-analysing with other thresholds) in one transaction."""
        key = _checked_id(session_id)
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE sessions SET thresholds = ?, report = ?, series = ? WHERE id = ?",
                (_dumps(thresholds), _dumps(report), _dumps(series), key),
            )
            if cursor.rowcount == 0:
                raise SessionNotFound(session_id)
        return self.get(key)

    def delete(self, session_id: object) -> None:
        """Remove the row, then the file (a crash in between leaves an orphan file, removed on next open)."""
        key = _checked_id(session_id)
        with self._transaction() as db:
            if db.execute("DELETE FROM sessions WHERE id = ?", (key,)).rowcount == 0:
                raise SessionNotFound(session_id)
        self._recording_path(key).unlink(missing_ok=True)

    def set_meta(self, key: str, value: str) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # ------------------------------------------------------------------------------------------- internals

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.db_path, timeout=30.0, isolation_level=None)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT (unless the body already committed); ROLLBACK on any exception."""
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            if db.in_transaction:
                db.execute("COMMIT")

    def _recording_path(self, key: int) -> Path:
        return self.recordings_dir / f"{key}{_UPLOAD_SUFFIX}"

    def _remove_orphan_files(self) -> None:
        with closing(self._connect()) as db:
            known = {f"{row[0]}{_UPLOAD_SUFFIX}" for row in db.execute("SELECT id FROM sessions")}
        for path in self.recordings_dir.iterdir():
            if path.is_file() and path.name not in known:
                path.unlink(missing_ok=True)


def _checked_id(session_id: object) -> int:
    """Accept only positive integers (or their decimal string): nothing else can name a file."""
    if isinstance(session_id, bool):
        raise SessionNotFound(session_id)
    if isinstance(session_id, int):
        key = session_id
    elif isinstance(session_id, str) and session_id.isascii() and session_id.isdigit() and len(session_id) < 20:
        key = int(session_id)
    else:
        raise SessionNotFound(session_id)
    if not 0 < key <= _MAX_ID:
        raise SessionNotFound(session_id)
    return key


def _write_atomically(path: Path, content: bytes) -> None:
    handle, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as tmp:
            tmp.write(content)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=False, separators=(",", ":"))


def _to_session(row: tuple) -> StoredSession:
    session_id, name, date, exercise, load_kg, notes, filename, placement, created_at, thresholds, report = row
    return StoredSession(
        id=session_id, name=name, date=date, exercise=exercise, load_kg=load_kg, notes=notes, filename=filename,
        placement=placement, created_at=created_at, thresholds=json.loads(thresholds), report=json.loads(report),
    )
