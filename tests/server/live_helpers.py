"""Messages of hinge-live/1 (docs/live-protocol.md) for the live tests and benchmarks, and waits with deadlines."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from starlette.websockets import WebSocketDisconnect


def hello(session_id: str, sensors=("back", "hip"), **extra) -> dict:
    metadata = {"source": "test", **{f"{s}_device": f"test-{s}" for s in sensors}}
    return {"type": "hello", "protocol": "hinge-live/1", "session_id": session_id, "metadata": metadata, **extra}


def batches(recording, *, batch_s: float, sensors=("back", "hip")):
    """``samples`` messages of ``recording`` in time order, ``batch_s`` per sensor per message."""
    start_s = recording.start_time_s
    end_s = max(recording.sensors[s].time_s[-1] for s in sensors)
    for begin_s in np.arange(start_s, end_s + batch_s, batch_s):
        for sensor in sensors:
            stream = recording.sensors[sensor]
            part = (stream.time_s >= begin_s) & (stream.time_s < begin_s + batch_s)
            if part.any():
                yield {"type": "samples", "sensor": sensor, "time_s": stream.time_s[part].tolist(),
                       "acc_mps2": stream.acc_mps2[part].tolist(), "gyr_radps": stream.gyr_radps[part].tolist()}


def analysis_workers(pid: int) -> list[int]:
    """Process ids of the live analysis workers (named ``hinge-analysis``) descending from process ``pid``; the
    workers are children of the server's fork server (Linux ``/proc``)."""
    from pathlib import Path

    parents, names = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # gone meanwhile
            continue
        name, _, rest = text[text.index("(") + 1:].rpartition(")")
        fields = rest.split()
        if fields[0] != "Z":  # a zombie has ended
            child = int(stat.parent.name)
            parents[child], names[child] = int(fields[1]), name

    def descends(child: int) -> bool:
        while child in parents and child != pid:
            child = parents[child]
        return child == pid

    return sorted(p for p, name in names.items() if name == "hinge-analysis" and p != pid and descends(p))


def wait_until(condition: Callable[[], object], what: str, deadline_s: float = 120.0):
    """Poll ``condition`` until it is truthy (return it) or the generous deadline passes."""
    end_s = time.monotonic() + deadline_s
    while not (value := condition()):
        assert time.monotonic() < end_s, f"waited {deadline_s:g} s for {what}"
        time.sleep(0.25)
    return value


def receive_within(socket, deadline_s: float = 120.0) -> Any:
    """The next JSON message on a TestClient WebSocket, or the test fails once the generous deadline passes
    (Starlette's ``receive_json`` waits forever: a server that neither answers nor closes would hang the suite).
    A close raises ``WebSocketDisconnect``, as ``receive_json`` does."""
    outcome: dict[str, Any] = {}

    def receive() -> None:
        try:
            outcome["message"] = socket.receive_json()
        except BaseException as error:  # handed to the test's thread; on a failed wait, the close ends it
            outcome["error"] = error

    receiver = threading.Thread(target=receive, name="receive_within", daemon=True)
    receiver.start()
    receiver.join(deadline_s)
    if receiver.is_alive():
        pytest.fail(f"the server neither answered nor closed the connection within {deadline_s:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["message"]


def refusal(socket, deadline_s: float = 120.0) -> WebSocketDisconnect:
    """The close the server must answer a refused connection with (``WebSocketDisconnect``, its code and
    reason); the test fails if a message comes instead, or nothing within the generous deadline."""
    try:
        message = receive_within(socket, deadline_s)
    except WebSocketDisconnect as closed:
        return closed
    pytest.fail(f"the server answered {message!r} instead of closing the connection")


def sensor_logger_messages(stream, *, batch_s: float) -> list[dict]:
    """Sensor Logger HTTP-push messages (Android: totalacceleration, gyroscope; ns stamps) of one stream."""
    messages: list[dict] = []
    begin = stream.time_s[0]
    while begin <= stream.time_s[-1]:
        part = np.flatnonzero((stream.time_s >= begin) & (stream.time_s < begin + batch_s))
        payload = [{"name": name, "time": int(round(stream.time_s[i] * 1e9)),
                    "values": dict(zip("xyz", values[i].tolist()))}
                   for i in part for name, values in (("totalacceleration", stream.acc_mps2),
                                                      ("gyroscope", stream.gyr_radps))]
        messages.append({"messageId": len(messages), "sessionId": "sl-1", "deviceId": "d-1", "payload": payload})
        begin += batch_s
    return messages
