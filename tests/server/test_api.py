"""The JSON API through the ASGI app on a temporary data directory, with the real analysis."""

from __future__ import annotations

import csv
import io
import json
import logging
import sqlite3
import urllib.parse

import pytest
from fastapi.testclient import TestClient

from hinge.server.app import create_app
from hinge.server.settings import Settings
from hinge.server.storage import SessionStore


def expected_report(content: bytes, **thresholds: float) -> dict:
    """What ``hinge analyze --json`` reports for ``content``, computed without the server."""
    from hinge.analysis.metrics import Thresholds
    from hinge.analysis.pipeline import AnalysisOptions, analyze
    from hinge.analysis.recording_format import read_recording
    from hinge.analysis.report import build_report

    result = analyze(read_recording(content), options=AnalysisOptions(thresholds=Thresholds(**thresholds)))
    return json.loads(json.dumps(build_report(result)))


def import_error(content: bytes, filename: str) -> str:
    """The one-line message the importers give for a file they refuse."""
    from hinge.analysis.errors import HingeError
    from hinge.firmware_bridge.importers import load_recording

    with pytest.raises(HingeError) as raised:
        load_recording(content, filename)
    return str(raised.value)


def assert_nothing_stored(data_dir) -> None:
    assert SessionStore(data_dir).count() == 0
    assert list((data_dir / "recordings").iterdir()) == []


def test_upload_returns_the_session_with_the_analysers_report(client, upload, simulated):
    session = upload("clean")
    assert session["report"] == expected_report(simulated("clean"))
    assert session["name"] == "clean-1"
    assert session["filename"] == "clean-1.csv"
    assert session["summary"] == session["report"]["summary"]
    assert session["summary"]["rep_count"] > 0
    assert client.get(f"/api/sessions/{session['id']}").json() == session
    listed = client.get("/api/sessions").json()
    assert [s["id"] for s in listed] == [session["id"]]
    assert "report" not in listed[0] and listed[0]["summary"] == session["summary"]


def test_upload_keeps_the_form_fields_and_thresholds(upload, simulated):
    session = upload("rounding", name="Heavy day", exercise="RDL", load_kg="82.5", notes="felt good",
                     thresholds='{"back_rounding_deg": 35}')
    assert (session["name"], session["exercise"], session["load_kg"], session["notes"]) == (
        "Heavy day", "RDL", 82.5, "felt good")
    assert session["thresholds"]["back_rounding_deg"] == 35
    assert session["report"]["thresholds"]["back_rounding_deg"] == 35
    assert session["report"] == expected_report(simulated("rounding"), back_rounding_deg=35)


BAD_FILES = {
    "empty": b"",
    "not a csv": b"\x89PNG\r\n\x1a\n\x00\x00binary",
    "wrong header": b"t,acc\n1,2\n",
    "bad number": (b"time_s,sensor,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z\n"
                   b"0.0,back,0,0,9.8,0,0,0\n0.01,back,0,abc,9.8,0,0,0\n"),
    "broken zip": b"PK\x03\x04 not really a zip",
}


@pytest.mark.parametrize("content", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_a_bad_file_gets_the_one_line_message_and_nothing_is_stored(client, data_dir, content):
    response = client.post("/api/sessions", files={"file": ("bad.csv", content, "text/csv")})
    assert response.status_code == 422
    assert response.json() == {"detail": import_error(content, "bad.csv")}
    assert "\n" not in response.json()["detail"]
    assert_nothing_stored(data_dir)


def test_the_readers_message_names_line_and_column(client):
    response = client.post("/api/sessions", files={"file": ("bad.csv", BAD_FILES["bad number"])})
    assert response.json() == {"detail": "line 3, column acc_y: 'abc' is not a number"}


def phyphox_csv(stream) -> bytes:
    """One sensor's samples as a phyphox set exported alone: each sensor after its own Time column."""
    header = ['"Time (s)"', *(f'"Acceleration {a} (m/s^2)"' for a in "xyz"),
              '"Time (s)"', *(f'"Gyroscope {a} (rad/s)"' for a in "xyz")]
    time_s = stream.time_s - stream.time_s[0]
    rows = [",".join(f"{v:.9E}" for v in (t, *acc, t, *gyr))
            for t, acc, gyr in zip(time_s, stream.acc_mps2, stream.gyr_radps)]
    return ("\n".join([",".join(header), *rows]) + "\n").encode()


def test_a_phone_export_is_imported_and_kept_as_uploaded(client, simulated):
    from hinge.analysis.recording_format import read_recording

    content = phyphox_csv(read_recording(simulated("back_only")).sensors["back"])
    response = client.post("/api/sessions", files={"file": ("Raw Data.csv", content)}, data={"placement": "back"})
    assert response.status_code == 201, response.text
    session = response.json()
    assert session["placement"] == "back"
    assert list(session["report"]["recording"]["sensors"]) == ["back"]
    assert session["summary"]["rep_count"] > 0
    assert client.get(f"/api/sessions/{session['id']}/recording").content == content
    again = client.post(f"/api/sessions/{session['id']}/reanalyse", json={})
    assert again.status_code == 200 and again.json()["report"] == session["report"]
    refused = client.post("/api/sessions", files={"file": ("Raw Data.csv", content)}, data={"placement": "chest"})
    assert refused.status_code == 422 and refused.json()["detail"].startswith("body.placement: Input should be")


def test_the_upload_form_says_the_platform_an_export_cannot(client, data_dir, simulated):
    """A saved Sensor Logger push capture from an iPhone: acceleration negated, and nothing in it says iOS."""
    from hinge.analysis.recording_format import read_recording

    stream = read_recording(simulated("back_only")).sensors["back"]
    payload = [item for t, acc, gyr in zip(stream.time_s, stream.acc_mps2, stream.gyr_radps) for item in (
        {"name": "accelerometer", "time": int(t * 1e9), "values": dict(zip("xyz", (-acc).tolist()))},
        {"name": "gravity", "time": int(t * 1e9), "values": {"x": 0.0, "y": 0.0, "z": 0.0}},
        {"name": "gyroscope", "time": int(t * 1e9), "values": dict(zip("xyz", gyr.tolist()))})]
    content = json.dumps([{"messageId": 0, "sessionId": "s", "deviceId": "d", "payload": payload}]).encode()
    refused = client.post("/api/sessions", files={"file": ("push.json", content)}, data={"placement": "back"})
    assert refused.status_code == 422 and "say the platform" in refused.json()["detail"]
    assert_nothing_stored(data_dir)
    response = client.post("/api/sessions", files={"file": ("push.json", content)},
                           data={"placement": "back", "platform": "ios"})
    assert response.status_code == 201, response.text
    session = response.json()
    assert session["report"]["recording"]["metadata"]["platform"] == "ios"
    assert session["summary"]["rep_count"] > 0
    again = client.post(f"/api/sessions/{session['id']}/reanalyse", json={})
    assert again.status_code == 200 and again.json()["report"] == session["report"]


@pytest.mark.parametrize(
    ("thresholds", "message"),
    [("not json", "thresholds: Invalid JSON"),
     ('{"back_rounding_deg": -1}', "threshold back_rounding_deg must be a number of degrees between 0 and 90"),
     ('{"rounding": 5}', "thresholds.rounding: Extra inputs are not permitted")],
)
def test_bad_thresholds_are_refused(client, data_dir, simulated, thresholds, message):
    response = client.post("/api/sessions", files={"file": ("a.csv", simulated("clean"))},
                           data={"thresholds": thresholds})
    assert response.status_code == 422
    assert message in response.json()["detail"]
    assert_nothing_stored(data_dir)


def test_a_missing_file_field_is_a_one_line_message(client):
    response = client.post("/api/sessions", data={"name": "x"})
    assert response.status_code == 422
    assert response.json() == {"detail": "body.file: Field required"}


def test_uploads_over_the_limit_are_refused_while_streaming(make_client, data_dir, simulated):
    client = make_client(max_upload_bytes=4096)
    content = simulated("clean")
    assert len(content) > 4096
    declared = client.post("/api/sessions", files={"file": ("big.csv", content)})
    assert declared.status_code == 413
    assert declared.json() == {"detail": "the upload is larger than the limit of 0.004096 MB"}

    boundary = "hingeboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n\r\n".encode()
            + content + f"\r\n--{boundary}--\r\n".encode())
    chunks = (body[i : i + 1024] for i in range(0, len(body), 1024))  # no Content-Length: chunked transfer
    streamed = client.post("/api/sessions", content=chunks,
                           headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert streamed.status_code == 413
    assert "larger than the limit" in streamed.json()["detail"]
    assert_nothing_stored(data_dir)


def test_patch_edits_the_editable_fields(client, upload):
    session_id = upload("clean", load_kg="60")["id"]
    changes = {"name": "Monday", "date": "2026-03-01T09:30:00+02:00", "exercise": "Good morning", "notes": "ok"}
    edited = client.patch(f"/api/sessions/{session_id}", json=changes).json()
    edited_fields = (edited["name"], edited["exercise"], edited["notes"], edited["load_kg"])
    assert edited_fields == ("Monday", "Good morning", "ok", 60)
    assert edited["date"] == "2026-03-01T07:30:00Z"  # stored in UTC
    cleared = client.patch(f"/api/sessions/{session_id}", json={"load_kg": None}).json()
    assert cleared["load_kg"] is None and cleared["name"] == "Monday"
    assert client.get(f"/api/sessions/{session_id}").json() == cleared


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"name": ""}, "body.name: String should have at least 1 character"),
     ({"name": None}, "body.name: Input should be a valid string"),
     ({"report": {}}, "body.report: Extra inputs are not permitted"),
     ({"load_kg": -5}, "body.load_kg: Input should be greater than or equal to 0"),
     ({"notes": "x" * 10_001}, "body.notes: String should have at most 10000 characters")],
)
def test_patch_refuses_bad_values(client, upload, changes, message):
    session = upload("clean")
    response = client.patch(f"/api/sessions/{session['id']}", json=changes)
    assert response.status_code == 422
    assert response.json() == {"detail": message}
    assert client.get(f"/api/sessions/{session['id']}").json() == session


def test_delete_removes_the_session_and_its_recording(client, upload, data_dir):
    session_id = upload("clean")["id"]
    assert client.delete(f"/api/sessions/{session_id}").status_code == 204
    assert client.get(f"/api/sessions/{session_id}").json() == {"detail": f"no session with id {session_id}"}
    assert client.delete(f"/api/sessions/{session_id}").status_code == 404
    assert client.get("/api/sessions").json() == []
    assert_nothing_stored(data_dir)


def test_downloads_raw_recording_report_and_reps(client, upload, simulated):
    session = upload("rounding", filename="my lift.csv")
    base = f"/api/sessions/{session['id']}"

    raw = client.get(f"{base}/recording")
    assert raw.content == simulated("rounding")
    assert raw.headers["content-type"].startswith("text/csv")
    assert urllib.parse.unquote(raw.headers["content-disposition"]).endswith("my lift.csv")

    report = client.get(f"{base}/report.json")
    assert report.json() == session["report"]
    assert "attachment" in report.headers["content-disposition"]

    rows = list(csv.DictReader(io.StringIO(client.get(f"{base}/reps.csv").text)))
    reps = session["report"]["reps"]
    assert [int(r["index"]) for r in rows] == [rep["index"] for rep in reps]
    assert [r["flags"] for r in rows] == [";".join(rep["flags"]) for rep in reps]
    assert any("back_rounding" in r["flags"] for r in rows)
    assert "cues" not in rows[0]
    for row, rep in zip(rows, reps):
        assert row["trunk_angle_deg"] == ("" if rep["trunk_angle_deg"] is None else str(rep["trunk_angle_deg"]))


def test_series_holds_the_plot_signals(client, upload):
    session = upload("clean")
    series = client.get(f"/api/sessions/{session['id']}/series").json()
    assert set(series) >= {"time_s", "trunk_angle_deg", "pelvis_angle_deg", "spinal_flexion_deg"}
    assert len({len(values) for values in series.values()}) == 1  # both sensors: every signal is there
    assert series["time_s"] == sorted(series["time_s"])


def test_reanalyse_applies_new_thresholds(client, upload, simulated):
    session = upload("rounding")
    assert session["report"]["summary"]["flag_counts"].get("back_rounding", 0) > 0
    response = client.post(f"/api/sessions/{session['id']}/reanalyse", json={"back_rounding_deg": 85})
    assert response.status_code == 200, response.text
    again = response.json()
    assert again["thresholds"] == {**session["thresholds"], "back_rounding_deg": 85}
    assert again["report"] == expected_report(simulated("rounding"), back_rounding_deg=85)
    assert again["report"]["summary"]["flag_counts"].get("back_rounding", 0) == 0
    assert client.get(f"/api/sessions/{session['id']}").json() == again
    refused = client.post(f"/api/sessions/{session['id']}/reanalyse", json={"back_rounding_deg": 0})
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith("threshold back_rounding_deg must be")
    assert client.get(f"/api/sessions/{session['id']}").json() == again


@pytest.mark.parametrize(
    "path",
    ["/api/sessions/..%2F..%2Fhinge.sqlite3/recording", "/api/sessions/..%2Fhinge.sqlite3",
     "/api/sessions/-1/recording", "/api/sessions/0", "/api/sessions/1%2F..%2F1/recording",
     "/api/sessions/%2Fetc%2Fpasswd/recording", "/api/sessions/99/recording"],
)
def test_ids_cannot_reach_outside_the_data_dir(client, upload, path):
    upload("clean")
    response = client.get(path)
    assert response.status_code in (404, 422)
    assert isinstance(response.json()["detail"], str)
    assert b"SQLite" not in response.content and b"root:" not in response.content


def test_an_unexpected_failure_is_still_a_json_message(data_dir, monkeypatch):
    def broken(_store):
        raise sqlite3.DatabaseError("database disk image is malformed")

    monkeypatch.setattr(SessionStore, "sessions", broken)
    settings = Settings(data_dir=data_dir, demo_dir=None, allowed_hosts=("testserver",))
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = client.get("/api/sessions")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error (DatabaseError); see the server log"}


def test_unknown_api_routes_answer_json(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_openapi_documents_every_endpoint(client):
    schema = client.get("/openapi.json").json()
    operations = {(path, method): op for path, ops in schema["paths"].items() for method, op in ops.items()}
    assert set(operations) == {
        ("/api/sessions", "post"), ("/api/sessions", "get"), ("/api/sessions/{session_id}", "get"),
        ("/api/sessions/{session_id}", "patch"), ("/api/sessions/{session_id}", "delete"),
        ("/api/sessions/{session_id}/reanalyse", "post"), ("/api/sessions/{session_id}/recording", "get"),
        ("/api/sessions/{session_id}/report.json", "get"), ("/api/sessions/{session_id}/reps.csv", "get"),
        ("/api/sessions/{session_id}/series", "get"),
        ("/api/live", "get"), ("/api/live/{session_id}", "get"), ("/api/live/{session_id}/end", "post"),
        ("/api/live/{session_id}/sensorlogger", "post"), ("/api/live/{session_id}", "delete"),
    }
    assert all(op.get("summary") for op in operations.values())
    upload = operations["/api/sessions", "post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert {"201", "413", "422"} <= set(upload["responses"])
    assert "report" in schema["components"]["schemas"]["Session"]["properties"]


def test_first_start_imports_the_demo_recordings_once(make_client, data_dir, tmp_path, simulated, caplog):
    demo_dir = tmp_path / "recordings"
    demo_dir.mkdir()
    (demo_dir / "clean.csv").write_bytes(simulated("clean"))
    (demo_dir / "rounding.csv").write_bytes(simulated("rounding"))
    (demo_dir / "broken.csv").write_bytes(b"nonsense\n")
    with caplog.at_level(logging.WARNING, logger="hinge.server"):
        client = make_client(demo_dir=demo_dir)
    names = sorted(s["name"] for s in client.get("/api/sessions").json())
    assert names == ["clean", "rounding"]
    assert "demo recording broken.csv not imported" in caplog.text
    for session in client.get("/api/sessions").json():
        assert client.delete(f"/api/sessions/{session['id']}").status_code == 204
    assert make_client(demo_dir=demo_dir).get("/api/sessions").json() == []  # deleted demos stay deleted
