"""Messages of hinge-live/1 (docs/live-protocol.md) for the live tests and benchmarks."""

from __future__ import annotations

import numpy as np


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
