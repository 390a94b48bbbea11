"""Live sessions: samples from any source (``hinge record --server``, the ``/phone`` page, Sensor Logger push)
are recorded as they arrive, fed to the streaming analysis and pushed to the viewers of the live page.

One :class:`LiveSession` per session id. Every source speaks ``hinge-live/1`` (``docs/live-protocol.md``); Sensor
Logger's HTTP push is converted by ``firmware_bridge.importers`` first. Nothing-lost rules, as for the recorder:

- the raw stream goes to ``DATA_DIR/live/<id>.csv`` (``hinge-recording/1``) through the recorder's
  :class:`~firmware_bridge.recorder.RecordingWriter`: each message's rows are written before it is acknowledged
  (a killed server keeps them) and the file is fsync-ed every second (:meth:`LiveHub.run_sync`);
- a resent message (same ``seq`` from the same source) and samples older than the sensor's last one are
  dropped, so a phone that reconnects and resends never duplicates a sample.

The streaming analysis needs to know the sensors of the session up front; when a second source brings a new
sensor, the analysis is rebuilt from the file written so far with both sensors.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from hinge.analysis.errors import HingeError
from hinge.analysis.live import LiveAnalyzer
from hinge.analysis.metrics import Thresholds
from hinge.analysis.recording import SENSOR_NAMES
from hinge.analysis.recording_format import read_recording
from hinge.analysis.report import json_ready
from hinge.firmware_bridge.importers import read_sensor_logger_push
from hinge.firmware_bridge.recorder import RecordingWriter

PROTOCOL = "hinge-live/1"
LIVE_DIRNAME = "live"
SESSION_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_SAMPLES_PER_MESSAGE = 20_000
VIEWER_QUEUE_MESSAGES = 256
SYNC_INTERVAL_S = 1.0
REPLAY_CHUNK_S = 1.0
SENSOR_LOGGER_SOURCE = "Sensor Logger push"


class LiveProtocolError(HingeError):
    """A live message does not follow ``hinge-live/1``; the message says which field and what was found."""


class LiveSessionNotFound(LookupError):
    """No open live session has this id."""

    def __init__(self, session_id: str) -> None:
        super().__init__(f"no open live session {session_id!r}")


@dataclass
class Source:
    """One connected sender (a recorder, a phone page, a Sensor Logger phone)."""

    kind: str
    source_id: str
    sensors: set[str] = field(default_factory=set)
    last_seq: int = -1
    connected: bool = True
    status: list[dict[str, Any]] = field(default_factory=list)  # the recorder's own per-sensor status
    socket: Any = None  # its WebSocket (None for Sensor Logger's HTTP push)


@dataclass
class SensorStream:
    """What has been recorded for one sensor so far."""

    last_time_s: float = -math.inf
    sample_count: int = 0
    rate_hz: float = 0.0
    _counted: int = 0


class LiveSession:
    """A set being recorded: the file, the streaming analysis, the reps so far and the viewers' queues."""

    def __init__(self, session_id: str, path: Path, *, thresholds: Mapping[str, float]) -> None:
        self.id = session_id
        self.path = path
        self.thresholds = dict(thresholds)
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self.metadata: dict[str, str] = {"source": "hinge live", "live_session": session_id}
        self.sensors: dict[str, SensorStream] = {}
        self.sources: list[Source] = []
        self.reps: list[dict[str, Any]] = []
        self.state: dict[str, Any] | None = None
        self.ended_session_id: int | None = None
        self._writer: RecordingWriter | None = None
        self._analyzer: LiveAnalyzer | None = None
        self._analyzer_sensors: tuple[str, ...] = ()
        self._viewers: list[asyncio.Queue[str | None]] = []
        self._sensor_logger_previous: dict[str, Mapping[str, Any]] = {}

    # sources

    def connect(self, hello: Mapping[str, Any], socket: Any) -> Source:
        """Register a source from its ``hello`` (already checked by :func:`parse_hello`) and its WebSocket."""
        metadata = hello.get("metadata") or {}
        for key, value in metadata.items():
            self.metadata.setdefault(key, value)
        # a sender is known again by its source_id, or (hinge record) by the devices it names
        devices = ",".join(f"{name}={metadata[f'{name}_device']}" for name in SENSOR_NAMES
                           if f"{name}_device" in metadata)
        source = Source(kind=str(metadata.get("source", "hinge-live/1 client")),
                        source_id=str(hello.get("source_id") or devices or id(hello)), socket=socket)
        previous = [s for s in self.sources if s.source_id == source.source_id]
        if previous:  # the same sender reconnecting (its old connection may not have noticed the drop yet)
            source.last_seq = previous[-1].last_seq
            self.sources.remove(previous[-1])
        source.sensors = {name for name in SENSOR_NAMES if f"{name}_device" in metadata}
        self._check_unclaimed(source, source.sensors)
        self.sources.append(source)
        self._publish_sources()
        return source

    def _check_unclaimed(self, source: Source, sensors: set[str]) -> None:
        """One connected source per sensor: a second phone on the hip would interleave two streams."""
        for other in self.sources:
            taken = sensors & other.sensors
            if other is not source and other.connected and taken:
                raise LiveProtocolError(f"{min(taken)} is already streamed by another source in live set {self.id!r}; "
                                        "choose the other placement")

    def disconnect(self, source: Source) -> None:
        source.connected = False
        self._publish_sources()

    def handle(self, source: Source, text: str) -> dict[str, Any] | None:
        """Apply one message from ``source``; return the reply to send back (``ack``, ``pong``) if any."""
        message = _decode(text)
        kind = message.get("type")
        if kind == "samples":
            sensor, time_s, acc_mps2, gyr_radps = parse_samples(message)
            seq = message.get("seq")
            if seq is not None and (not isinstance(seq, int) or isinstance(seq, bool)):
                raise LiveProtocolError(f"samples: 'seq' must be an integer, found {seq!r}")
            if seq is None or seq > source.last_seq:
                self._check_unclaimed(source, {sensor})
                source.sensors.add(sensor)
                self.ingest(sensor, time_s, acc_mps2, gyr_radps)
                if seq is not None:
                    source.last_seq = seq
            return None if seq is None else {"type": "ack", "seq": seq}
        if kind == "ping":
            return {"type": "pong", "client_time_s": message.get("client_time_s"), "server_time_s": time.time()}
        if kind == "gap":
            sensor = _sensor(message, "gap")
            start_s, end_s = (_finite(message.get(k), f"gap: {k}") for k in ("start_s", "end_s"))
            if self._writer is not None:
                self._writer.add_gap(sensor, start_s, end_s)
            return None
        if kind == "status":
            statuses = message.get("sensors")
            if not isinstance(statuses, list):
                raise LiveProtocolError("status: 'sensors' must be a list")
            source.status = [dict(s) for s in statuses if isinstance(s, Mapping)]
            return None
        if kind == "end":
            source.connected = False
            self._publish_sources()
            return None
        raise LiveProtocolError(f"unknown message type {kind!r}; expected samples, gap, status, end or ping")

    def ingest_sensor_logger(self, message: Mapping[str, Any], *, sensor: str, platform: str | None) -> int:
        """Record one Sensor Logger HTTP-push message from the phone worn at ``sensor``; return new samples.

        The previous message is converted again with this one, so only the ends of the whole stream lose the
        samples the gyroscope does not bracket (see ``read_sensor_logger_push``).
        """
        window = [m for m in (self._sensor_logger_previous.get(sensor), message) if m is not None]
        stream = read_sensor_logger_push(window, sensor=sensor, platform=platform).sensors[sensor]
        self._sensor_logger_previous[sensor] = message
        if not any(s.kind == SENSOR_LOGGER_SOURCE and sensor in s.sensors for s in self.sources):
            self.sources.append(Source(kind=SENSOR_LOGGER_SOURCE, source_id=f"sensorlogger-{sensor}",
                                       sensors={sensor}))
        last_time_s = self.sensors[sensor].last_time_s if sensor in self.sensors else -math.inf
        new = stream.time_s > last_time_s
        return self.ingest(sensor, stream.time_s[new], stream.acc_mps2[new], stream.gyr_radps[new])

    # samples

    def ingest(self, sensor: str, time_s: np.ndarray, acc_mps2: np.ndarray, gyr_radps: np.ndarray) -> int:
        """Record, analyse and publish samples of one sensor; return how many were new.

        Shapes: ``time_s`` (n,) s on the shared (Unix) time base, ``acc_mps2`` (n, 3), ``gyr_radps`` (n, 3).
        """
        stream = self.sensors.get(sensor)
        if stream is None:
            stream = self.sensors[sensor] = SensorStream()
        keep = time_s >= stream.last_time_s
        keep &= np.concatenate([[True], np.diff(time_s) >= 0])  # a stamp going back within a message
        if not keep.all():
            time_s, acc_mps2, gyr_radps = time_s[keep], acc_mps2[keep], gyr_radps[keep]
        if time_s.size == 0:
            return 0
        stream.last_time_s = float(time_s[-1])
        stream.sample_count += time_s.size
        writer = self._open_writer()
        writer.append(sensor, time_s, acc_mps2, gyr_radps)
        writer.flush(sync=False)  # in the file before it is acknowledged; fsync-ed by LiveHub.run_sync
        if self._wanted_sensors() != self._analyzer_sensors:
            self._rebuild_analyzer()
        else:
            self._analyse(sensor, time_s, acc_mps2, gyr_radps)
        return int(time_s.size)

    def _open_writer(self) -> RecordingWriter:
        if self._writer is None:
            self.metadata["created"] = self.started_at
            self._writer = RecordingWriter(self.path, self.metadata)
        return self._writer

    def _analyse(self, sensor: str, time_s: np.ndarray, acc_mps2: np.ndarray, gyr_radps: np.ndarray) -> None:
        assert self._analyzer is not None, "built when the first samples arrived"
        reps = self._analyzer.push(sensor, time_s, acc_mps2, gyr_radps)
        self.state = json_ready(self._analyzer.state())
        self._publish({"type": "state", "state": self.state, "server_time_s": time.time()})
        for rep in reps:
            rep = json_ready(rep)
            self.reps.append(rep)
            self._publish({"type": "rep", "rep": rep})

    def _wanted_sensors(self) -> tuple[str, ...]:
        """Sensors with samples or announced by a source's ``hello``, in canonical order."""
        named = set(self.sensors).union(*(source.sensors for source in self.sources))
        return tuple(name for name in SENSOR_NAMES if name in named)

    def _rebuild_analyzer(self) -> None:
        """A new streaming analysis for the sensors seen so far, fed again from the file (see module notes)."""
        self._analyzer_sensors = self._wanted_sensors()
        analyzer = self._analyzer = LiveAnalyzer(sensors=self._analyzer_sensors,
                                                 thresholds=Thresholds(**self.thresholds))
        self.reps = []
        recording = read_recording(self.path)
        start_s = min(s.time_s[0] for s in recording.sensors.values())
        end_s = max(s.time_s[-1] for s in recording.sensors.values())
        for chunk_start_s in np.arange(start_s, end_s + REPLAY_CHUNK_S, REPLAY_CHUNK_S):
            for name, stream in recording.sensors.items():
                part = (stream.time_s >= chunk_start_s) & (stream.time_s < chunk_start_s + REPLAY_CHUNK_S)
                if part.any():
                    self.reps.extend(json_ready(rep) for rep in analyzer.push(
                        name, stream.time_s[part], stream.acc_mps2[part], stream.gyr_radps[part]))
        self.state = json_ready(analyzer.state())
        self._publish(self.snapshot())

    # viewers

    def snapshot(self) -> dict[str, Any]:
        """Everything a viewer needs on connecting: state, reps so far, sources."""
        return {"type": "snapshot", "session": self.describe(), "state": self.state, "reps": self.reps,
                "server_time_s": time.time()}

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id, "started_at": self.started_at, "rep_count": sum(not r.get("partial") for r in self.reps),
            "ended_session_id": self.ended_session_id,
            "sensors": {name: {"sample_count": s.sample_count, "rate_hz": round(s.rate_hz, 1),
                               "last_time_s": s.last_time_s} for name, s in self.sensors.items()},
            "sources": [{"kind": s.kind, "sensors": sorted(s.sensors), "connected": s.connected, "status": s.status}
                        for s in self.sources],
        }

    def add_viewer(self) -> asyncio.Queue[str | None]:
        """A queue of JSON texts for one viewer, starting with a snapshot; None means "close now"."""
        queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=VIEWER_QUEUE_MESSAGES + 1)
        queue.put_nowait(json.dumps(self.snapshot()))
        self._viewers.append(queue)
        return queue

    def remove_viewer(self, queue: asyncio.Queue[str | None]) -> None:
        self._viewers.remove(queue)

    def _publish(self, message: dict[str, Any]) -> None:
        text = json.dumps(message)
        for queue in self._viewers:
            if queue.qsize() >= VIEWER_QUEUE_MESSAGES:  # a viewer that cannot keep up starts again from a snapshot
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(json.dumps(self.snapshot()))
            else:
                queue.put_nowait(text)

    def _publish_sources(self) -> None:
        self._publish({"type": "session", "session": self.describe()})

    # housekeeping

    def sync(self, interval_s: float) -> None:
        """fsync the file and update the achieved rates (called every ``interval_s``)."""
        if self._writer is not None:
            self._writer.flush()
        for stream in self.sensors.values():
            stream.rate_hz = (stream.sample_count - stream._counted) / interval_s
            stream._counted = stream.sample_count
        if self._viewers:
            self._publish_sources()

    def finish(self) -> bytes:
        """Flush and return the recording so far (the session stays open until :meth:`close`)."""
        if self._writer is None:
            raise LiveProtocolError(f"live session {self.id!r} has no samples yet")
        self._writer.flush()
        return self.path.read_bytes()

    async def close(self, stored_session_id: int) -> None:
        """The set is stored: tell the viewers, close the sources' connections, remove the file."""
        self.ended_session_id = stored_session_id
        self._publish({"type": "ended", "session_id": stored_session_id, "url": f"/sessions/{stored_session_id}"})
        for queue in self._viewers:
            queue.put_nowait(None)  # the viewer's connection closes after the messages before it
        for source in self.sources:
            if source.socket is not None and source.connected:
                await source.socket.close(code=1000, reason="set ended")
        if self._writer is not None:
            self._writer.close()
        self.path.unlink(missing_ok=True)


class LiveHub:
    """The open live sessions of one server, files in ``data_dir/live``."""

    def __init__(self, data_dir: Path, *, thresholds: Mapping[str, float]) -> None:
        self.live_dir = Path(data_dir) / LIVE_DIRNAME
        self.live_dir.mkdir(parents=True, exist_ok=True)
        self.thresholds = dict(thresholds)
        self.sessions: dict[str, LiveSession] = {}

    def open(self, session_id: str) -> LiveSession:
        """The open session with this id, or a new one."""
        if not SESSION_ID_PATTERN.match(session_id):
            raise LiveProtocolError(f"session id {session_id!r}: expected 1-64 letters, digits, '-' or '_'")
        if session_id not in self.sessions:
            path = self.live_dir / f"{session_id}.csv"
            if path.exists():
                raise LiveProtocolError(f"live set {session_id!r} was interrupted (the server stopped); store it "
                                        "from the Live page, or start a new set")
            self.sessions[session_id] = LiveSession(session_id, path, thresholds=self.thresholds)
        return self.sessions[session_id]

    def get(self, session_id: str) -> LiveSession:
        try:
            return self.sessions[session_id]
        except KeyError:
            raise LiveSessionNotFound(session_id) from None

    def interrupted(self) -> list[str]:
        """Ids of sets whose file is here but whose session is not open: the server stopped while recording."""
        return sorted(path.stem for path in self.live_dir.glob("*.csv") if path.stem not in self.sessions)

    def remove(self, session_id: str) -> None:
        self.sessions.pop(session_id, None)

    async def run_sync(self, interval_s: float = SYNC_INTERVAL_S) -> None:
        """fsync every open session's file every ``interval_s`` (runs for the server's lifetime)."""
        while True:
            await asyncio.sleep(interval_s)
            for session in list(self.sessions.values()):
                session.sync(interval_s)


def parse_hello(text: str) -> dict[str, Any]:
    """Check the first message of a connection; return it."""
    message = _decode(text)
    if message.get("type") != "hello":
        raise LiveProtocolError(f"expected a 'hello' message first, found type {message.get('type')!r}")
    if message.get("protocol") != PROTOCOL:
        raise LiveProtocolError(f"hello: protocol {message.get('protocol')!r} is not {PROTOCOL!r}")
    if not isinstance(message.get("session_id"), str):
        raise LiveProtocolError("hello: 'session_id' must be a string")
    metadata = message.get("metadata", {})
    if not isinstance(metadata, Mapping) or not all(isinstance(v, str) for v in metadata.values()):
        raise LiveProtocolError("hello: 'metadata' must be an object of strings")
    return message


def parse_samples(message: Mapping[str, Any]) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    """A ``samples`` message → (sensor, time_s (n,), acc_mps2 (n, 3), gyr_radps (n, 3)), all finite."""
    sensor = _sensor(message, "samples")
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
    return sensor, time_s, acc_mps2, gyr_radps


def _decode(text: str) -> dict[str, Any]:
    try:
        message = json.loads(text)
    except ValueError as error:
        raise LiveProtocolError(f"not JSON ({error})") from None
    if not isinstance(message, dict):
        raise LiveProtocolError("expected a JSON object")
    return message


def _sensor(message: Mapping[str, Any], where: str) -> str:
    sensor = message.get("sensor")
    if sensor not in SENSOR_NAMES:
        raise LiveProtocolError(f"{where}: sensor {sensor!r}; expected one of {', '.join(SENSOR_NAMES)}")
    return sensor


def _finite(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise LiveProtocolError(f"{where}: expected a finite number, found {value!r}")
    return float(value)
