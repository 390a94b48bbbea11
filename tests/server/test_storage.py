"""SessionStore: round trip, id checks, atomic create (a real crash in a subprocess), orphan clean-up."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from hinge.server.storage import SessionNotFound, SessionStore

REPORT = {"summary": {"rep_count": 3, "flag_counts": {}}, "warnings": [], "reps": []}


def _create(store: SessionStore, content: bytes = b"time_s,sensor\n", name: str = "a") -> int:
    session = store.create(
        recording=content, filename="a.csv", placement="hip", name=name, date="2026-01-02T03:04:05+00:00",
        exercise="RDL",
        load_kg=60.0, notes="", created_at="2026-01-02T03:04:05+00:00", thresholds={"back_rounding_deg": 20.0},
        report=REPORT, series={"time_s": [0.0]},
    )
    return session.id


def test_round_trip_update_and_delete(tmp_path):
    store = SessionStore(tmp_path)
    session_id = _create(store, b"raw bytes")
    assert store.recording_path(session_id).read_bytes() == b"raw bytes"
    assert store.recording_path(session_id).parent == tmp_path / "recordings"
    assert store.get(session_id).report == REPORT
    assert store.series(session_id) == {"time_s": [0.0]}
    updated = store.update(session_id, name="b", load_kg=None)
    assert (updated.name, updated.load_kg, updated.exercise) == ("b", None, "RDL")
    with pytest.raises(ValueError, match="not editable: report"):
        store.update(session_id, report={})
    store.delete(session_id)
    assert store.sessions() == []
    assert list((tmp_path / "recordings").iterdir()) == []
    with pytest.raises(SessionNotFound):
        store.delete(session_id)


def test_a_reopened_store_keeps_its_sessions(tmp_path):
    first = _create(SessionStore(tmp_path), name="kept")
    assert [s.name for s in SessionStore(tmp_path).sessions()] == ["kept"]
    assert SessionStore(tmp_path).recording_path(first).is_file()


@pytest.mark.parametrize("bad_id", ["../hinge.sqlite3", "1/../2", "-1", "0", 0, -3, True, 1.0, None, "１", " 1", "1e3"])
def test_ids_that_are_not_positive_integers_never_name_a_file(tmp_path, bad_id):
    store = SessionStore(tmp_path)
    _create(store)
    for call in (store.get, store.series, store.recording_path, store.delete):
        with pytest.raises(SessionNotFound):
            call(bad_id)
    assert store.count() == 1


def test_an_unknown_id_is_not_found(tmp_path):
    store = SessionStore(tmp_path)
    with pytest.raises(SessionNotFound, match="no session with id 7"):
        store.get(7)
    with pytest.raises(SessionNotFound):
        store.update(7, name="x")
    with pytest.raises(SessionNotFound):
        store.replace_analysis(7, thresholds={}, report=REPORT, series={})


def test_a_crash_after_writing_the_file_leaves_no_session(tmp_path):
    """Kill the process right after the recording file is in place, before the row is committed."""
    script = textwrap.dedent(
        f"""
        import os, sys
        from hinge.server.storage import SessionStore
        real_replace = os.replace
        def replace_then_crash(src, dst):
            real_replace(src, dst)
            os._exit(17)
        os.replace = replace_then_crash
        SessionStore(sys.argv[1]).create(
            recording=b"raw", filename="a.csv", placement="hip", name="half", date="2026-01-01T00:00:00+00:00",
            exercise="",
            load_kg=None, notes="", created_at="2026-01-01T00:00:00+00:00", thresholds={{}},
            report={REPORT!r}, series={{}})
        """
    )
    SessionStore(tmp_path)  # the schema exists before the crash, as on a running server
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 17, done.stderr
    assert [p.name for p in (tmp_path / "recordings").iterdir()] == ["1.upload"]  # the crash came after the file

    store = SessionStore(tmp_path)
    assert store.sessions() == []
    assert list((tmp_path / "recordings").iterdir()) == []  # the orphan is removed on open
    assert store.get(_create(store, b"next")).name == "a"
    assert store.recording_path(1).read_bytes() == b"next"


def test_a_failed_file_write_rolls_the_row_back(tmp_path, monkeypatch):
    store = SessionStore(tmp_path)

    def fail(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("hinge.server.storage.os.replace", fail)
    with pytest.raises(OSError, match="No space"):
        _create(store)
    monkeypatch.undo()
    assert store.count() == 0
    assert list((tmp_path / "recordings").iterdir()) == []
