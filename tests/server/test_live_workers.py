"""The live analysis in worker processes (``server/live_workers.py``), with real processes: a worker killed
mid-set costs no sample and its set's reps come back; a live set shows the reps ``hinge analyze --live`` gives;
the workers stop with the server."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import urllib.request

import pytest
from fastapi.testclient import TestClient
from live_helpers import analysis_workers, batches, hello, wait_until
from websockets.sync.client import connect

from hinge.analysis.live import replay
from hinge.analysis.recording_format import read_recording
from hinge.analysis.simulate import simulate_preset
from hinge.server.app import create_app
from hinge.server.settings import Settings


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def test_a_worker_killed_mid_set_loses_nothing_and_its_reps_come_back(live_server, tmp_path):
    server = live_server()
    simulation = simulate_preset("clean", seed=6)
    messages = [dict(m, seq=i) for i, m in enumerate(batches(simulation.recording, batch_s=0.1))]
    set_url = f"{server.url}api/live/killed"
    ingest_url = f"ws://127.0.0.1:{server.port}/api/live/ingest"
    # a phone a sensor: the server takes 25 messages a second from a connection after a burst of 100
    # (routes_live.MessageRate), so both sensors' messages on one connection took half a minute
    with connect(ingest_url) as back, connect(ingest_url) as hip:
        sockets = {"back": back, "hip": hip}
        for sensor, socket in sockets.items():
            socket.send(json.dumps(hello("killed", sensors=(sensor,), source_id=f"phone-{sensor}")))

        def send(part):
            for message in part:
                socket = sockets[message["sensor"]]
                socket.send(json.dumps(message))
                assert json.loads(socket.recv(timeout=30)) == {"type": "ack", "seq": message["seq"]}

        # stream (a second at a time) until the live set shows its first reps: a rep is shown once a later
        # analysis agrees, so the stream goes on while the worker analyses
        sent = 0
        while not (before := get(set_url)["reps"]):
            assert sent < len(messages) // 2, "no rep shown in the first half of the set"
            send(messages[sent:sent + 20])
            sent += 20
        workers = wait_until(lambda: analysis_workers(server.process.pid), "the analysis worker")
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        send(messages[sent:])  # ingest and acknowledgements go on
        assert get(f"{server.url}api/live")[0]["id"] == "killed"  # the server answers

        # the set's analysis rebuilds from the file in a new worker: its reps come back, then the rest
        def rebuilt():
            reps = get(set_url)["reps"]
            return len(reps) >= len(simulation.truth.reps) - 1 and reps  # the last may wait for "end set"

        after = wait_until(rebuilt, "the reps after the rebuild")
        for again, first in zip(after, before):  # the rebuilt analysis finds the same reps
            assert again["index"] == first["index"] and again["flags"] == first["flags"]
            assert again["bottom_s"] == pytest.approx(first["bottom_s"], abs=0.25)
        assert set(analysis_workers(server.process.pid)).isdisjoint(workers)
        request = urllib.request.Request(f"{set_url}/end", method="POST")
        with urllib.request.urlopen(request, timeout=60) as response:
            stored = json.load(response)
    assert stored["report"]["summary"]["rep_count"] == len(simulation.truth.reps)
    recording = read_recording(urllib.request.urlopen(f"{server.url}api/sessions/{stored['id']}/recording").read())
    for sensor in ("back", "hip"):
        sent = sum(len(m["time_s"]) for m in messages if m["sensor"] == sensor)
        assert recording.sensors[sensor].sample_count == sent
    printed = server.stop()
    assert sum("live analysis worker" in line for line in printed.splitlines()) == 1, printed
    assert "killed by SIGKILL" in printed and "Traceback" not in printed
    assert analysis_workers(server.process.pid) == []


def test_a_live_set_shows_the_reps_of_hinge_analyze_live_and_its_workers_stop_with_the_server(tmp_path):
    simulation = simulate_preset("clean", seed=3)
    hosts = ("testserver", *Settings().allowed_hosts)
    settings = Settings(data_dir=tmp_path / "data", demo_dir=None, allowed_hosts=hosts)
    with TestClient(create_app(settings)) as client:
        with client.websocket_connect("/api/live/same/view") as viewer:
            assert viewer.receive_json()["type"] == "snapshot"
            with client.websocket_connect("/api/live/ingest") as source:
                source.send_json(hello("same"))
                for message in batches(simulation.recording, batch_s=0.1):
                    source.send_json(message)
                source.send_json({"type": "ping", "client_time_s": 0.0})  # answered once all before it is handled
                assert source.receive_json()["type"] == "pong"
                source.send_json({"type": "end"})
            wait_until(lambda: analysis_workers(os.getpid()), "the analysis worker")
            ended = client.post("/api/live/same/end")
            assert ended.status_code == 201, ended.text
            received = []
            while not received or received[-1]["type"] != "ended":
                received.append(viewer.receive_json())
        recording = read_recording(client.get(f"/api/sessions/{ended.json()['id']}/recording").content)
    assert analysis_workers(os.getpid()) == []  # stopped with the app

    snapshots = [k for k, m in enumerate(received) if m["type"] == "snapshot"]
    start = snapshots[-1] + 1 if snapshots else 0
    live = (received[start - 1]["reps"] if snapshots else []) + [m["rep"] for m in received[start:]
                                                                  if m["type"] == "rep"]
    expected = replay(recording).reps
    assert len(live) == len(expected) == len(simulation.truth.reps)
    for shown, rep in zip(live, expected):
        assert (shown["movement"], shown["flags"], shown["partial"]) == (rep.movement, list(rep.flags), rep.partial)
        assert shown["bottom_s"] == pytest.approx(rep.bottom_s, abs=0.25)
        assert shown["trunk_angle_deg"] == pytest.approx(rep.trunk_angle_deg, abs=3.0)


def test_a_worker_that_hangs_is_replaced_and_a_set_that_keeps_losing_its_worker_stops_its_analysis_only(
        client, caplog, monkeypatch):
    """A stopped worker (SIGSTOP) stands for a hung one: it is killed after the timeout and the set's analysis
    rebuilds in a new worker; when that one hangs too, the set's live analysis stops (one line each), while
    its samples are still acknowledged and stored."""
    for slot in client.app.state.live.workers._slots:  # noqa: SLF001 - a short timeout, to wait less
        monkeypatch.setattr(slot, "timeout_s", 3.0)
    messages = [dict(m, seq=i) for i, m in enumerate(batches(simulate_preset("clean", seed=4).recording,
                                                            batch_s=0.1))][:100]
    stopped: list[int] = []

    def running():
        return set(analysis_workers(os.getpid())) - set(stopped)

    def analysis_error():
        return client.get("/api/live/stuck").json()["analysis_error"]

    with client.websocket_connect("/api/live/ingest") as source:
        source.send_json(hello("stuck", source_id="stuck"))

        def send(message):
            source.send_json(message)
            assert source.receive_json() == {"type": "ack", "seq": message["seq"]}

        send(messages[0])
        try:
            for k in (1, 2):
                # (a busy machine may have taken the new worker for hung already: then the analysis has stopped)
                workers = wait_until(lambda: running() or analysis_error(), "a worker")
                if isinstance(workers, str):
                    break
                for pid in workers:
                    os.kill(pid, signal.SIGSTOP)
                stopped.extend(workers)
                send(messages[k])  # its analysis waits on the stopped worker; ingest does not
            error = wait_until(analysis_error, "the analysis to stop")
        finally:
            for pid in stopped:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)
        assert "died 2 times" in error and "still recorded" in error
        for message in messages[3:]:
            send(message)
    ended = client.post("/api/live/stuck/end")
    assert ended.status_code == 201, ended.text
    assert ended.json()["report"]["recording"]["sensors"]["back"]["sample_count"] == sum(
        len(m["time_s"]) for m in messages if m["sensor"] == "back")
    lines = [r.getMessage() for r in caplog.records if "live analysis worker" in r.getMessage()]
    assert len(lines) == 2 and all("no answer in 3 s: killed" in line for line in lines), lines
