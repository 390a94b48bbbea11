"""Live sessions through the ASGI app: hinge-live/1 ingest (recorder and phone dialects), viewers, Sensor Logger
push, "end set", resend without duplicates, protocol errors, and the access token."""

from __future__ import annotations

import os
import re
import signal

import numpy as np
import pytest
from live_helpers import analysis_workers, batches, hello, sensor_logger_messages, wait_until
from starlette.websockets import WebSocketDisconnect

from hinge.analysis.recording_format import read_recording
from hinge.analysis.simulate import simulate_preset

INGEST = "/api/live/ingest"


def settle(source) -> None:
    """Wait until the server has handled everything ``source`` sent (messages are handled in order)."""
    source.send_json({"type": "ping", "client_time_s": 0.0})
    assert source.receive_json()["type"] == "pong"


def receive_until(socket, kind: str) -> list[dict]:
    messages: list[dict] = []
    while not messages or messages[-1]["type"] != kind:
        messages.append(socket.receive_json())
    return messages


@pytest.fixture(scope="module")
def clean_set():
    return simulate_preset("clean", seed=3)


def test_a_recorder_stream_is_judged_live_and_end_set_stores_the_full_analysis(client, clean_set, data_dir):
    recording = clean_set.recording
    with client.websocket_connect("/api/live/set-1/view") as viewer:
        assert viewer.receive_json()["type"] == "snapshot"
        with client.websocket_connect(INGEST) as source:
            source.send_json(hello("set-1"))
            for message in batches(recording, batch_s=0.25):
                source.send_json(message)
            source.send_json({"type": "status", "sensors": [{"sensor": "back", "connected": True, "rate_hz": 100.0}]})
            settle(source)
            source.send_json({"type": "end"})
        live = client.get("/api/live/set-1").json()
        assert {name: s["sample_count"] for name, s in live["sensors"].items()} == {
            name: stream.sample_count for name, stream in recording.sensors.items()}
        assert (data_dir / "live" / "set-1.csv").is_file()
        ended = client.post("/api/live/set-1/end")
        assert ended.status_code == 201, ended.text
        messages = receive_until(viewer, "ended")

    stored = ended.json()
    assert messages[-1] == {"type": "ended", "session_id": stored["id"], "url": f"/sessions/{stored['id']}"}
    live_reps = [m["rep"] for m in messages if m["type"] == "rep"]
    snapshots = [m for m in messages if m["type"] == "snapshot"]
    if snapshots:  # a viewer that fell behind was sent a snapshot holding every rep so far
        live_reps = snapshots[-1]["reps"] + [m["rep"] for m in messages[messages.index(snapshots[-1]):]
                                             if m["type"] == "rep"]
    states = [m["state"] for m in messages if m["type"] == "state"]
    assert states and states[-1]["calibrated"] and states[-1]["rep_count"] == len(live_reps)
    report = stored["report"]
    assert len(live_reps) == report["summary"]["rep_count"] == len(clean_set.truth.reps)
    for live_rep, final_rep in zip(live_reps, report["reps"]):
        assert live_rep["bottom_s"] == pytest.approx(final_rep["bottom_s"], abs=0.5)
    # the stored recording is the stream as sent, every sample once
    stored_recording = read_recording(client.get(f"/api/sessions/{stored['id']}/recording").content)
    for name, stream in recording.sensors.items():
        assert np.allclose(stored_recording.sensors[name].time_s, stream.time_s, atol=1e-6, rtol=0)
        assert np.allclose(stored_recording.sensors[name].acc_mps2, stream.acc_mps2, atol=1e-5)
    assert stored_recording.metadata["back_device"] == "test-back"
    assert not (data_dir / "live" / "set-1.csv").exists()
    assert client.get("/api/live").json() == []


def test_a_phone_that_reconnects_and_resends_never_duplicates_a_sample(client, clean_set, data_dir):
    messages = [dict(m, seq=i) for i, m in enumerate(batches(clean_set.recording, batch_s=0.1, sensors=("hip",)))]
    phone = hello("set-2", sensors=("hip",), source_id="phone-abc")
    with client.websocket_connect(INGEST) as source:
        source.send_json(phone)
        for message in messages[:40]:
            source.send_json(message)
            assert source.receive_json() == {"type": "ack", "seq": message["seq"]}
    with client.websocket_connect(INGEST) as source:  # the network came back: unacknowledged batches again
        source.send_json(phone)
        for message in messages[35:]:
            source.send_json(message)
            assert source.receive_json() == {"type": "ack", "seq": message["seq"]}
        source.send_json({"type": "ping", "client_time_s": 12.5})
        pong = source.receive_json()
        assert pong["type"] == "pong" and pong["client_time_s"] == 12.5 and pong["server_time_s"] > 1.7e9
    written = read_recording(data_dir / "live" / "set-2.csv").sensors["hip"]
    expected = clean_set.recording.sensors["hip"]
    assert written.sample_count == expected.sample_count
    assert np.allclose(written.time_s, expected.time_s, atol=1e-6, rtol=0)


def test_a_second_phone_joins_as_the_other_sensor(client, clean_set):
    """Two phones feed one session; the analysis starts again with both sensors when the second one arrives."""
    recording = clean_set.recording
    back = list(batches(recording, batch_s=0.5, sensors=("back",)))
    hip = list(batches(recording, batch_s=0.5, sensors=("hip",)))
    with client.websocket_connect(INGEST) as first, client.websocket_connect(INGEST) as second:
        first.send_json(hello("set-3", sensors=("back",), source_id="phone-1"))
        first.send_json(back[0])
        first.send_json(back[1])
        settle(first)  # the back phone's first second is in
        second.send_json(hello("set-3", sensors=("hip",), source_id="phone-2"))
        second.send_json(hip[0])  # a second late, with the samples it buffered meanwhile
        for index in range(1, len(hip)):
            second.send_json(hip[index])
            if index + 1 < len(back):
                first.send_json(back[index + 1])
        settle(first)
        settle(second)
    ended = client.post("/api/live/set-3/end")
    assert ended.status_code == 201, ended.text
    report = ended.json()["report"]
    assert set(report["recording"]["sensors"]) == {"back", "hip"}
    assert report["summary"]["rep_count"] == len(clean_set.truth.reps)


def test_sensor_logger_push_feeds_a_live_session(client, clean_set):
    stream = clean_set.recording.sensors["back"]
    messages = sensor_logger_messages(stream, batch_s=1.0)
    accepted = 0
    for message in messages:
        response = client.post("/api/live/phone-sl/sensorlogger?placement=back", json=message)
        assert response.status_code == 200, response.text
        accepted += response.json()["accepted"]
    # only the very first and last samples (not bracketed by a gyroscope sample) are left out
    assert stream.sample_count - 2 <= accepted <= stream.sample_count
    live = client.get("/api/live/phone-sl").json()
    assert live["sensors"]["back"]["sample_count"] == accepted
    assert [s["kind"] for s in live["sources"]] == ["Sensor Logger push"]
    bad = client.post("/api/live/phone-sl/sensorlogger", json={"payload": [{"name": "gyroscope", "time": 1}]})
    assert bad.status_code == 422 and "'values' is missing" in bad.json()["detail"]


def test_a_second_source_for_the_same_sensor_is_refused(client):
    with client.websocket_connect(INGEST) as first, client.websocket_connect(INGEST) as second:
        first.send_json(hello("one-hip", sensors=("hip",), source_id="phone-1"))
        settle(first)
        second.send_json(hello("one-hip", sensors=("hip",), source_id="phone-2"))
        with pytest.raises(WebSocketDisconnect) as closed:
            second.receive_json()
    assert closed.value.code == 1008
    assert closed.value.reason.startswith("hip is already streamed by another source in live set 'one-hip'")


def test_a_recorder_that_reconnects_before_its_old_connection_is_noticed_takes_over(client, clean_set):
    messages = list(batches(clean_set.recording, batch_s=0.25))
    with client.websocket_connect(INGEST) as stale, client.websocket_connect(INGEST) as fresh:
        stale.send_json(hello("rec"))  # the same devices: the same recorder
        stale.send_json(messages[0])
        settle(stale)
        fresh.send_json(hello("rec"))
        for message in messages[1:]:
            fresh.send_json(message)
        settle(fresh)
    live = client.get("/api/live/rec").json()
    assert len(live["sources"]) == 1
    assert sum(s["sample_count"] for s in live["sensors"].values()) == sum(len(m["time_s"]) for m in messages)


@pytest.mark.parametrize("messages, reason", [
    ([{"type": "samples"}], "expected a 'hello' message first"),
    ([{"type": "hello", "protocol": "hinge-live/2", "session_id": "x"}], "protocol 'hinge-live/2'"),
    ([hello("bad id!")], "session id 'bad id!'"),
    ([hello("s"), {"type": "samples", "sensor": "knee"}], "sensor 'knee'; expected one of back, hip"),
    ([hello("s"), {"type": "samples", "sensor": "hip", "time_s": [1, 2], "acc_mps2": [[0, 0, 9.8]],
                   "gyr_radps": [[0, 0, 0]]}], "expected time_s (n), acc_mps2 (n x 3)"),
    ([hello("s"), {"type": "wave"}], "unknown message type 'wave'"),
])
def test_protocol_errors_close_the_connection_with_a_reason(client, messages, reason):
    with client.websocket_connect(INGEST) as source:
        for message in messages:
            source.send_json(message)
        with pytest.raises(WebSocketDisconnect) as closed:
            source.receive_json()
    assert closed.value.code == 1008 and reason in closed.value.reason


def test_end_set_without_samples_or_session(client):
    assert client.post("/api/live/nothing/end").status_code == 404
    with client.websocket_connect(INGEST) as source:
        source.send_json(hello("empty"))
        source.send_json({"type": "end"})
    response = client.post("/api/live/empty/end")  # a set left without samples or sources is not kept
    assert response.status_code == 404 and response.json() == {"detail": "no open live session 'empty'"}
    with client.websocket_connect(INGEST) as source, client.websocket_connect("/api/live/empty/view") as viewer:
        source.send_json(hello("empty"))
        settle(source)
        response = client.post("/api/live/empty/end")  # the source is still connected: the set is open
        assert response.status_code == 422 and response.json() == {"detail": "live session 'empty' has no samples yet"}
        assert viewer.receive_json()["type"] == "snapshot"


def test_the_token_guards_ingest_and_changes_but_not_reading(make_client, simulated):
    client = make_client(token="s3cret")
    files = {"file": ("clean.csv", simulated("clean"), "text/csv")}
    refused = client.post("/api/sessions", files=files)
    assert refused.status_code == 401 and "access token" in refused.json()["detail"]
    assert client.post("/api/sessions", files=files, headers={"Authorization": "Bearer s3cret"}).status_code == 201
    assert client.post("/api/live/x/sensorlogger", json={"payload": []}).status_code == 401
    with client.websocket_connect(INGEST) as source, pytest.raises(WebSocketDisconnect) as closed:
        source.receive_json()
    assert closed.value.code == 1008 and "needs its access token" in closed.value.reason
    with client.websocket_connect(f"{INGEST}?token=s3cret") as source:
        source.send_json(hello("tok"))
        source.send_json({"type": "ping", "client_time_s": 1.0})
        assert source.receive_json()["type"] == "pong"
    assert client.get("/").status_code == 200 and client.get("/api/sessions").status_code == 200
    with client.websocket_connect("/api/live/tok/view") as viewer:  # watching needs no token
        assert viewer.receive_json()["type"] == "snapshot"
    # a page opened with ?token= leaves a cookie that the page's own requests carry
    page = client.get("/live/tok?token=s3cret")
    assert "hinge_token=s3cret" in page.headers["set-cookie"] and "HttpOnly" in page.headers["set-cookie"]
    assert "token=s3cret" in page.text  # the phone links carry it
    assert client.post("/api/sessions", files=files).status_code == 201
    client.cookies.clear()
    assert "token=s3cret" not in client.get("/live/tok").text


def test_live_and_phone_pages(client):
    assert "None: start one above" in client.get("/live").text
    new = client.get("/live/new", follow_redirects=False)
    assert new.status_code == 303 and re.fullmatch(r"/live/[0-9a-f]{8}", new.headers["location"])
    with client.websocket_connect("/api/live/gym-1/view") as viewer:  # watching waits for the set; it opens none
        assert viewer.receive_json()["session"]["id"] == "gym-1"
        assert client.get("/api/live").json() == []
        source = client.websocket_connect(INGEST).__enter__()
        source.send_json(hello("gym-1"))
        settle(source)
        assert viewer.receive_json()["type"] == "snapshot"  # the set opened: the waiting viewer is attached
        page = client.get("/live/gym-1").text
        assert page.count("<svg") == 2 and 'href="http://testserver/phone?session=gym-1&amp;placement=back"' in page
        assert "/api/live/gym-1/sensorlogger?placement=hip" in page and 'id="end-set"' in page
        assert '/live/gym-1">gym-1</a>' in client.get("/live").text
        phone = client.get("/phone?placement=back").text
        assert '<option value="gym-1">gym-1 (started' in phone
        assert 'value="back" checked' in phone and "a new live set" in phone
        source.__exit__(None, None, None)
    assert client.get("/phone?placement=knee").status_code == 422


def test_a_set_whose_analysis_falls_behind_loses_no_sample_and_catches_up(client, clean_set, monkeypatch):
    """The analysis worker is held up (SIGSTOP) while the whole set streams in: every message is still acknowledged
    and moves the display (neither waits for the analysis), the queue overflows, and once the worker goes on, the
    analysis catches up from the file."""
    from hinge.server import live

    monkeypatch.setattr(live, "ANALYSIS_QUEUE_CHUNKS", 4)
    messages = list(batches(clean_set.recording, batch_s=0.25))
    with client.websocket_connect("/api/live/behind/view") as viewer:
        with client.websocket_connect(INGEST) as source:
            source.send_json(hello("behind"))
            source.send_json({**messages[0], "seq": 0})
            assert source.receive_json() == {"type": "ack", "seq": 0}
            workers = wait_until(lambda: analysis_workers(os.getpid()), "the analysis worker")
            for pid in workers:
                os.kill(pid, signal.SIGSTOP)
            try:
                for seq, message in enumerate(messages[1:], start=1):
                    source.send_json({**message, "seq": seq})
                    assert source.receive_json() == {"type": "ack", "seq": seq}
                state = client.get("/api/live/behind").json()["state"]
                last_s = max(s.time_s[-1] for s in clean_set.recording.sensors.values())
                assert state["time_s"] == pytest.approx(last_s - clean_set.recording.start_time_s, abs=0.01)
            finally:
                for pid in workers:
                    os.kill(pid, signal.SIGCONT)
        assert len(messages) > 4 * live.ANALYSIS_QUEUE_CHUNKS
        ended = client.post("/api/live/behind/end")
        assert ended.status_code == 201, ended.text
        received = receive_until(viewer, "ended")
    snapshots = [m for m in received if m["type"] == "snapshot"]
    after = received[received.index(snapshots[-1]) + 1:]
    live_reps = snapshots[-1]["reps"] + [m["rep"] for m in after if m["type"] == "rep"]
    assert len(live_reps) == ended.json()["report"]["summary"]["rep_count"] == len(clean_set.truth.reps)
    stored = read_recording(client.get(f"/api/sessions/{ended.json()['id']}/recording").content)
    assert sum(s.sample_count for s in stored.sensors.values()) == sum(len(m["time_s"]) for m in messages)


def test_an_abandoned_set_expires_and_keeps_its_file_to_store_or_discard(client, clean_set, data_dir):
    hub = client.app.state.live
    with client.websocket_connect(INGEST) as source:
        source.send_json(hello("abandoned"))
        for message in list(batches(clean_set.recording, batch_s=0.5))[:10]:
            source.send_json(message)
        settle(source)
        assert client.portal.call(hub.expire, 0.0) == []  # a connected source keeps it open
    assert client.portal.call(hub.expire, 0.0) == ["abandoned"]
    assert client.get("/api/live").json() == [] and (data_dir / "live" / "abandoned.csv").is_file()
    assert "abandoned" in client.get("/live").text  # listed as interrupted, to store or discard
    with client.websocket_connect(INGEST) as source, pytest.raises(WebSocketDisconnect) as closed:
        source.send_json(hello("abandoned"))  # its sources cannot silently start a second file
        source.receive_json()
    assert closed.value.code == 1008 and "interrupted" in closed.value.reason
    assert client.delete("/api/live/abandoned").status_code == 204
    assert not (data_dir / "live" / "abandoned.csv").exists()


def test_a_burst_then_silence_shows_every_rep_without_more_samples(client, clean_set):
    """A phone that resends its buffer after a dropped link and then sends nothing more: the reps of the burst
    are shown without waiting for more samples or "end set" (the worker confirms them, LiveAnalyzer.confirm)."""
    recording = clean_set.recording
    with client.websocket_connect(INGEST) as source:
        source.send_json(hello("set-burst"))
        for message in batches(recording, batch_s=10.0):
            source.send_json(message)
        settle(source)
        shown = wait_until(lambda: len(reps := client.get("/api/live/set-burst").json()["reps"])
                           >= len(clean_set.truth.reps) and reps, "every rep of the burst shown")
        assert [r["index"] for r in shown] == list(range(1, len(clean_set.truth.reps) + 1))
