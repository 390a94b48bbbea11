"""The ``hinge-live/1`` protocol's constants and its samples message, in one place for every side that speaks it:
the BLE recorder's streamer (:mod:`.live`), the server's ingest (``server/live.py``) and the pages (which get
them from the server). ``docs/live-protocol.md`` is the specification. Imports neither bleak nor FastAPI."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from hinge.analysis.errors import HingeError
from hinge.analysis.recording import SENSOR_NAMES, Chunk

PROTOCOL = "hinge-live/1"
INGEST_PATH = "/api/live/ingest"
SOURCE_MESSAGES = ("hello", "samples", "gap", "status", "end", "ping")  # source → server
MAX_SAMPLES_PER_MESSAGE = 20_000
MAX_MESSAGE_BYTES = 4 * 1024 * 1024     # a text frame or Sensor Logger push body; 20,000 samples fit
# time rules of the server's ingest (docs/live-protocol.md, "Stamps"):
RESEND_OVERLAP_S = 5.0          # samples stamped up to this long before their sensor's last recorded one are a
                                # resend and skipped; a stamp further back refuses the message
SERVER_TIME_BASE = "server"     # hello.time_base of a source that maps its clock onto the server's (ping/pong)
SERVER_CLOCK_AHEAD_S = 10.0     # such a source's stamps may lie this far ahead of the server's clock on arrival
SERVER_CLOCK_BEHIND_S = 600.0   # ... and this far behind it (samples resent after a network drop)


class LiveProtocolError(HingeError):
    """A live message does not follow ``hinge-live/1``; the message says which field and what was found."""


def samples_message(chunk: Chunk, *, seq: int | None = None) -> dict[str, Any]:
    """The ``samples`` message carrying ``chunk`` (``seq`` numbers it for acknowledgement)."""
    message: dict[str, Any] = {"type": "samples", "sensor": chunk.sensor, "time_s": chunk.time_s.tolist(),
                               "acc_mps2": chunk.acc_mps2.tolist(), "gyr_radps": chunk.gyr_radps.tolist()}
    if seq is not None:
        message["seq"] = seq
    return message


def parse_samples(message: Mapping[str, Any]) -> Chunk:
    """A ``samples`` message → its :class:`Chunk` (all values finite)."""
    sensor = message_sensor(message, "samples")
    try:
        time_s = np.asarray(message.get("time_s"), dtype=float)
        acc_mps2 = np.asarray(message.get("acc_mps2"), dtype=float)
        gyr_radps = np.asarray(message.get("gyr_radps"), dtype=float)
    except (TypeError, ValueError):
        raise LiveProtocolError("samples: time_s, acc_mps2 and gyr_radps must be arrays of numbers") from None
    n = time_s.size
    if time_s.shape != (n,) or acc_mps2.shape != (n, 3) or gyr_radps.shape != (n, 3):
        raise LiveProtocolError(f"samples: expected time_s (n), acc_mps2 (n x 3), gyr_radps (n x 3); found "
                                f"{time_s.shape}, {acc_mps2.shape}, {gyr_radps.shape}")
    if n > MAX_SAMPLES_PER_MESSAGE:
        raise LiveProtocolError(f"samples: {n} samples in one message; at most {MAX_SAMPLES_PER_MESSAGE}")
    if not (np.isfinite(time_s).all() and np.isfinite(acc_mps2).all() and np.isfinite(gyr_radps).all()):
        raise LiveProtocolError("samples: values must be finite numbers")
    return Chunk(sensor, time_s, acc_mps2, gyr_radps)


def decode_message(text: str | bytes) -> dict[str, Any]:
    """One JSON object of at most ``MAX_MESSAGE_BYTES`` (nesting is bounded by the parser's recursion limit)."""
    if len(text) > MAX_MESSAGE_BYTES:
        raise LiveProtocolError(f"a message of {len(text)} bytes; at most {MAX_MESSAGE_BYTES} are accepted")
    try:
        message = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise LiveProtocolError(f"not JSON ({error})") from None
    if not isinstance(message, dict):
        raise LiveProtocolError("expected a JSON object")
    return message


def message_sensor(message: Mapping[str, Any], where: str) -> str:
    """The message's ``sensor`` field, checked."""
    sensor = message.get("sensor")
    if sensor not in SENSOR_NAMES:
        raise LiveProtocolError(f"{where}: sensor {sensor!r}; expected one of {', '.join(SENSOR_NAMES)}")
    return sensor
