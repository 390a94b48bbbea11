"""Hostile live messages on the ingest WebSocket: the connection is closed with 1008 and a one-line reason,
nothing of the offending message is recorded, the server goes on serving (cases generated in hostile.py)."""

from __future__ import annotations

import json

import pytest
from hostile import hostile_live_messages
from live_helpers import receive_within, refusal

from hinge.analysis.recording_format import read_recording

INGEST = "/api/live/ingest"
SEQUENCES = hostile_live_messages()


def send(socket, message) -> None:
    if isinstance(message, bytes):
        socket.send_bytes(message)
    else:
        socket.send_text(message if isinstance(message, str) else json.dumps(message))


def valid_prefix(sequence: list) -> list:
    """The messages before the offending (last) one, as far as they are valid samples."""
    return [m for m in sequence[:-1] if isinstance(m, dict) and m.get("type") == "samples"]


@pytest.mark.parametrize("case", sorted(SEQUENCES))
def test_hostile_messages_close_the_connection_with_a_reason(case, client, data_dir):
    sequence = SEQUENCES[case]
    with client.websocket_connect(INGEST) as source:
        for message in sequence:
            send(source, message)
        closed = refusal(source)
    assert closed.code == 1008, closed
    assert closed.reason and "\n" not in closed.reason
    recorded = [n for n in (valid_prefix(sequence) and ["back"])]
    live_file = data_dir / "live" / "hostile.csv"
    if recorded:  # the valid messages before the hostile one are in the file, nothing else
        written = read_recording(live_file)
        assert written.sensors["back"].sample_count == sum(len(m["time_s"]) for m in valid_prefix(sequence))
        assert set(written.sensors) == {"back"}
    else:
        assert not live_file.exists()
        assert client.get("/api/live").json() == []
    assert client.get("/api/sessions").status_code == 200  # still serving


def test_a_refused_source_does_not_disturb_another_in_the_same_set(client, data_dir):
    """A hostile second source is closed; the first one goes on being acknowledged."""
    good = {"type": "samples", "sensor": "back", "time_s": [1.7e9 + i / 100 for i in range(10)],
            "acc_mps2": [[0, 0, 9.8]] * 10, "gyr_radps": [[0, 0, 0]] * 10, "seq": 1}
    hello = {"type": "hello", "protocol": "hinge-live/1", "session_id": "mixed"}
    with client.websocket_connect(INGEST) as first, client.websocket_connect(INGEST) as second:
        first.send_json({**hello, "source_id": "a", "metadata": {"back_device": "a"}})
        first.send_json(good)
        assert receive_within(first) == {"type": "ack", "seq": 1}
        second.send_json({**hello, "source_id": "b", "metadata": {"hip_device": "b"}})
        second.send_bytes(b"\x00")
        assert refusal(second).code == 1008
        first.send_json({**good, "seq": 2, "time_s": [t + 0.1 for t in good["time_s"]]})
        assert receive_within(first) == {"type": "ack", "seq": 2}
    assert read_recording(data_dir / "live" / "mixed.csv").sensors["back"].sample_count == 20


def test_control_a_connection_that_is_not_refused_fails_the_wait_instead_of_hanging(client):
    """The waits above have a deadline: a hostile message the server let through would fail its case, not hang
    the suite (a valid hello is answered by nothing: the source just goes on sending)."""
    with client.websocket_connect(INGEST) as source:
        source.send_json({"type": "hello", "protocol": "hinge-live/1", "session_id": "fine",
                          "metadata": {"back_device": "a"}})
        with pytest.raises(pytest.fail.Exception, match="neither answered nor closed"):
            refusal(source, deadline_s=1.0)
