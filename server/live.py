"""Live sessions: samples from any source (``hinge record --server``, the ``/phone`` page, Sensor Logger push)
are recorded as they arrive, analysed in worker processes and pushed to the viewers of the live page.

One :class:`LiveSession` per set. Every source speaks ``hinge-live/1`` (``docs/live-protocol.md``); Sensor
Logger's HTTP push is converted by ``firmware_bridge.importers`` first. The rules:

- **One owner per set.** Everything that changes a set (samples from any of its sources, "end set", discard,
  the periodic fsync) runs on the event loop under the set's :attr:`LiveSession.lock`, so two sources, "end set"
  and the fsync never interleave half-way.
- **Acknowledged means in the file.** Each message's rows are written to ``DATA_DIR/live/<id>.csv``
  (``hinge-recording/1``) before it is acknowledged (a killed server keeps them); the file is fsync-ed every
  second. A resent message (same ``seq`` from the same source) is acknowledged again, not recorded twice. Once
  "end set" has begun, samples are refused (not acknowledged) and the sources are closed with ``set ended``.
- **A sensor's time never goes back.** Samples stamped up to ``RESEND_OVERLAP_S`` before the sensor's last
  recorded one are a resend and skipped; a stamp further back, a stamp going back within a message, or (for a
  source whose clock is mapped onto the server's) a stamp far from the server's clock refuses the message.
- **The analysis never runs in the server's process** (:mod:`server.live_workers`). Each set has a
  :class:`SetAnalysis`: the display's angles move with every chunk on the event loop (a vectorised online filter
  with the calibration the analysis last sent), and a bounded queue of chunks feeds an owner task that hands them,
  a batch at a time, to the set's worker process, which reruns the analysis and answers the reps. A set whose
  analysis falls behind gets fewer analyses and, past the queue's bound, catches up from the file; it never drops
  a sample, and a slow or dead worker never delays ingest, acknowledgements, the angles or pages.
- **Input limits before work** (:mod:`analysis.limits`): plausible rates, bounded gaps and span, bounded message
  size; a refusal closes the connection with 1008 and a one-line reason and records nothing of that message.
- Viewers never create sets; "end set" is idempotent; sets can be discarded; a set without a connected source
  for ``IDLE_EXPIRY_S`` leaves memory (its file stays, listed as interrupted, to store or discard).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import re
import time
from collections import OrderedDict
from collections.abc import Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from hinge.analysis.errors import HingeError, RecordingError
from hinge.analysis.limits import MAX_LIVE_GAP_S, RATE_MIN_SAMPLES, check_rate_hz, check_span_s
from hinge.analysis.live import LiveAngles
from hinge.analysis.metrics import Rep
from hinge.analysis.recording import SENSOR_NAMES, Chunk
from hinge.analysis.recording_format import RecordingWriter
from hinge.analysis.report import rep_json
from hinge.firmware_bridge.importers import push_first_time_s, read_sensor_logger_push
from hinge.firmware_bridge.live_protocol import (
    PROTOCOL,
    RESEND_OVERLAP_S,
    SERVER_CLOCK_AHEAD_S,
    SERVER_CLOCK_BEHIND_S,
    SERVER_TIME_BASE,
    LiveProtocolError,
    decode_message,
    message_sensor,
    parse_samples,
)

from .live_workers import (
    MAX_DEATHS,
    Analyse,
    Analysed,
    AnalysisWorkers,
    Failed,
    Finish,
    WorkerDied,
    Written,
    live_options,
)

log = logging.getLogger("hinge.server")

LIVE_DIRNAME = "live"
SESSION_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
METADATA_KEY_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,64}")
MAX_METADATA_KEYS = 50
MAX_METADATA_CHARS = 500
STATUS_FIELDS = ("sensor", "connected", "rate_hz", "lost_packets", "reconnects", "battery_percent")
MAX_OPEN_SETS = 200
MAX_REMEMBERED_ENDS = 1000
VIEWER_QUEUE_MESSAGES = 256
ANALYSIS_QUEUE_CHUNKS = 512             # chunks waiting for a set's analysis before it catches up from the file
FINISH_WAIT_S = 60.0                    # "end set" waits this long at most for the live analysis's last reps
SYNC_INTERVAL_S = 1.0
IDLE_EXPIRY_S = 600.0
SENSOR_LOGGER_SOURCE = "Sensor Logger push"


class LiveSetEnded(HingeError):
    """The set is being stored or was discarded: nothing more is recorded into it."""


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
    server_clock: bool = False  # its stamps are on the server's clock (hello.time_base "server")
    connected: bool = True
    status: list[dict[str, Any]] = field(default_factory=list)  # the recorder's own per-sensor status
    socket: Any = None  # its WebSocket (None for Sensor Logger's HTTP push)


@dataclass
class SensorStream:
    """What has been recorded for one sensor so far."""

    first_time_s: float = math.inf
    last_time_s: float = -math.inf
    sample_count: int = 0
    rate_hz: float = 0.0
    _counted: int = 0


class SetAnalysis:
    """The streaming analysis of one set (see module notes): the display's angles on the event loop, the rest
    in a worker process (:mod:`server.live_workers`).

    Every chunk moves the angles at once (``publish([], state, False)``); the owner task hands the queued chunks,
    a batch at a time, to the set's worker and publishes the reps it answers (``publish(reps, state, rebuilt)``).
    """

    def __init__(self, path: Path, thresholds: Mapping[str, float], workers: AnalysisWorkers, publish) -> None:
        self.path = path
        self.thresholds = dict(thresholds)
        self.workers = workers
        self.publish = publish
        self.failed = ""
        self.angles = LiveAngles(max_gap_s=live_options(thresholds).max_interpolated_gap_s)
        self.reps: list[Rep] = []
        self._key: int | None
        self._key, self._slot = workers.assign()
        self._queue: asyncio.Queue[Written] = asyncio.Queue(maxsize=ANALYSIS_QUEUE_CHUNKS)
        self._behind_at: Written | None = None     # catch up from the file up to here (fell behind, or lost)
        self._last: Written | None = None
        self._deaths = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._task = asyncio.get_running_loop().create_task(self._run())

    def feed(self, chunk: Written) -> None:
        """Move the angles and queue the chunk (never blocks); past the bound, the queue is dropped and the
        file replayed instead."""
        self.angles.push(chunk.chunk)
        self.publish([], self.state(), False)
        if self._task.done():
            return
        self._last = chunk
        self._idle.clear()
        if self._behind_at is None:
            try:
                self._queue.put_nowait(chunk)
                return
            except asyncio.QueueFull:
                pass
        self._catch_up(chunk)

    def state(self) -> dict[str, Any]:
        return self.angles.state(self.reps).as_json()

    async def stop(self) -> None:
        """Stop the owner task; the worker forgets the set."""
        if self._key is None:
            return
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self.workers.release(self._key, self._slot)
        self._key = None

    async def finish(self) -> None:
        """"End set": wait until everything queued is analysed and published, then publish the reps still
        pending as final (the final display); at most ``FINISH_WAIT_S`` (the stored report has every rep anyway)."""
        try:
            async with asyncio.timeout(FINISH_WAIT_S):
                await self._idle.wait()
                if self._last is None or self._key is None or self._task.done():
                    return
                for _ in range(MAX_DEATHS):
                    request = Finish(self._key, self.path, self.thresholds, self._last)
                    try:
                        answer = await self.workers.ask(self._slot, request)
                    except WorkerDied:
                        continue  # the next worker rebuilds the set from its file
                    self._answered(answer)
                    return
        except TimeoutError:
            log.warning("live analysis of %s: no final reps within %g s; the report has them", self.path.name,
                        FINISH_WAIT_S)

    def _catch_up(self, upto: Written) -> None:
        """Drop what is queued: the worker rebuilds from the file up to ``upto``."""
        while not self._queue.empty():
            self._queue.get_nowait()
        self._behind_at = upto
        self._queue.put_nowait(upto)  # wakes the owner task

    async def _run(self) -> None:
        key = self._key
        assert key is not None, "stop() ends this task"
        confirm = False  # the last answer's reps wait for a confirmation that only more samples would bring
        try:
            while True:
                if confirm and self._queue.empty() and self._behind_at is None:
                    # nothing came during the analysis of a burst (a resent buffer): its reps need not wait
                    # for more samples (LiveAnalyzer.confirm)
                    request = Analyse(key, self.path, self.thresholds, [], confirm=True)
                else:
                    batch = [await self._queue.get()]
                    while not self._queue.empty():
                        batch.append(self._queue.get_nowait())
                    replay_to, self._behind_at = self._behind_at, None
                    if replay_to is not None:
                        batch = [replay_to]
                    request = Analyse(key, self.path, self.thresholds, batch, replay=replay_to is not None)
                try:
                    answer = await self.workers.ask(self._slot, request)
                except WorkerDied as died:
                    self._deaths += 1
                    if self._deaths >= MAX_DEATHS:
                        log.error("live analysis of %s stopped: its worker died %d times analysing it (%s)",
                                  self.path.name, self._deaths, died)
                        self.failed = (f"live analysis stopped (its worker died {self._deaths} times analysing this "
                                       "set); the set is still recorded")
                        return
                    confirm = False  # the rebuilt analysis confirms what the file holds (catch_up)
                    self._catch_up(self._last or request.batch[-1])
                    continue
                if not self._answered(answer):
                    return
                confirm = isinstance(answer, Analysed) and answer.confirmable and not request.confirm
                if not confirm and self._queue.empty() and self._behind_at is None:
                    self._idle.set()
        finally:
            self._idle.set()

    def _answered(self, answer: Analysed | Failed) -> bool:
        """Publish a worker's answer; False if the analysis failed (a bug: the recording goes on)."""
        if isinstance(answer, Failed):
            log.error("live analysis of %s stopped: %s\n%s", self.path.name, answer.error, answer.trace)
            self.failed = f"live analysis stopped ({answer.error}); the set is still recorded"
            return False
        self.angles.calibrate(answer.calibrations)
        self.reps = answer.reps if answer.rebuilt else self.reps + answer.reps
        if answer.reps or answer.rebuilt or answer.calibrations:  # else the chunks' states said it all
            shown = self.reps if answer.rebuilt else answer.reps
            self.publish([rep_json(r) for r in shown], self.state(), answer.rebuilt)
        return True


class LiveSession:
    """A set being recorded: the file, its analysis, the reps so far and the viewers' queues."""

    def __init__(self, session_id: str, path: Path, *, thresholds: Mapping[str, float],
                 workers: AnalysisWorkers) -> None:
        self.id = session_id
        self.path = path
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self.metadata: dict[str, str] = {"source": "hinge live", "live_session": session_id}
        self.sensors: dict[str, SensorStream] = {}
        self.sources: list[Source] = []
        self.reps: list[dict[str, Any]] = []
        self.state: dict[str, Any] | None = None
        self.ended_session_id: int | None = None
        self.closed = False                     # "end set" has begun, or the set was discarded
        self.lock = asyncio.Lock()
        self.last_activity_s = time.monotonic()
        self._writer: RecordingWriter | None = None
        self._viewers: list[asyncio.Queue[str | None]] = []
        self._sensor_logger_previous: dict[str, Mapping[str, Any]] = {}
        self.analysis = SetAnalysis(path, thresholds, workers, self._analysed)

    # sources

    def connect(self, hello: Mapping[str, Any], socket: Any) -> Source:
        """Register a source from its ``hello`` (already checked by :func:`parse_hello`) and its WebSocket."""
        self._check_open()
        metadata = hello.get("metadata") or {}
        for key, value in metadata.items():
            self.metadata.setdefault(key, value)
        # a sender is known again by its source_id, or (hinge record) by the devices it names
        devices = ",".join(f"{name}={metadata[f'{name}_device']}" for name in SENSOR_NAMES
                           if f"{name}_device" in metadata)
        source = Source(kind=str(metadata.get("source", "hinge-live/1 client")),
                        source_id=str(hello.get("source_id") or devices or id(hello)), socket=socket,
                        server_clock=hello.get("time_base") == SERVER_TIME_BASE)
        previous = [s for s in self.sources if s.source_id == source.source_id]
        if previous:  # the same sender reconnecting (its old connection may not have noticed the drop yet)
            source.last_seq = previous[-1].last_seq
            self.sources.remove(previous[-1])
        source.sensors = {name for name in SENSOR_NAMES if f"{name}_device" in metadata}
        self._check_unclaimed(source, source.sensors)
        self.sources.append(source)
        self.last_activity_s = time.monotonic()
        self._publish_sources()
        return source

    def _check_unclaimed(self, source: Source, sensors: set[str]) -> None:
        """One connected source per sensor: a second phone on the hip would interleave two streams."""
        for other in self.sources:
            taken = sensors & other.sensors
            if other is not source and other.connected and taken:
                raise LiveProtocolError(f"{min(taken)} is already streamed by another source in live set {self.id!r}; "
                                        "choose the other placement")

    def _check_open(self) -> None:
        if self.closed:
            raise LiveSetEnded("set ended")

    def disconnect(self, source: Source) -> None:
        source.connected = False
        self.last_activity_s = time.monotonic()
        self._publish_sources()

    async def handle(self, source: Source, text: str) -> dict[str, Any] | None:
        """Apply one message from ``source``; return the reply to send back (``ack``, ``pong``) if any."""
        message = decode_message(text)
        kind = message.get("type")
        if kind == "samples":
            chunk = parse_samples(message)
            seq = message.get("seq")
            if seq is not None and (not isinstance(seq, int) or isinstance(seq, bool)):
                raise LiveProtocolError(f"samples: 'seq' must be an integer, found {seq!r}")
            async with self.lock:
                self._check_open()
                if seq is None or seq > source.last_seq:
                    self._check_unclaimed(source, {chunk.sensor})
                    source.sensors.add(chunk.sensor)
                    self.ingest(chunk, server_clock=source.server_clock)
                    if seq is not None:
                        source.last_seq = seq
            return None if seq is None else {"type": "ack", "seq": seq}
        if kind == "ping":
            return {"type": "pong", "client_time_s": message.get("client_time_s"), "server_time_s": time.time()}
        if kind == "gap":
            sensor = message_sensor(message, "gap")
            start_s, end_s = (_finite(message.get(k), f"gap: {k}") for k in ("start_s", "end_s"))
            async with self.lock:
                self._check_open()
                if self._writer is not None:
                    self._writer.add_gap(sensor, start_s, end_s)
            return None
        if kind == "status":
            statuses = message.get("sensors")
            if not isinstance(statuses, list):
                raise LiveProtocolError("status: 'sensors' must be a list")
            source.status = [_status(s) for s in statuses[:len(SENSOR_NAMES)] if isinstance(s, Mapping)]
            return None
        if kind == "end":
            source.connected = False
            self._publish_sources()
            return None
        raise LiveProtocolError(f"unknown message type {kind!r}; expected samples, gap, status, end or ping")

    async def ingest_sensor_logger(self, message: Mapping[str, Any], *, sensor: str, platform: str | None) -> int:
        """Record one Sensor Logger HTTP-push message from the phone worn at ``sensor``; return new samples.

        The previous message is converted again with this one, so only the ends of the whole stream lose the
        samples the gyroscope does not bracket (see ``read_sensor_logger_push``).
        """
        async with self.lock:
            self._check_open()
            window = [m for m in (self._sensor_logger_previous.get(sensor), message) if m is not None]
            stream = read_sensor_logger_push(window, sensor=sensor, platform=platform).sensors[sensor]
            last_time_s = self.sensors[sensor].last_time_s if sensor in self.sensors else -math.inf
            first_time_s = push_first_time_s(message)
            if first_time_s is not None:
                _check_not_back(sensor, first_time_s, last_time_s)
            new = stream.time_s > last_time_s  # the rest is the previous push converted again
            accepted = self.ingest(Chunk(sensor, stream.time_s[new], stream.acc_mps2[new], stream.gyr_radps[new]))
            self._sensor_logger_previous[sensor] = message
            if not any(s.kind == SENSOR_LOGGER_SOURCE and sensor in s.sensors for s in self.sources):
                self.sources.append(Source(kind=SENSOR_LOGGER_SOURCE, source_id=f"sensorlogger-{sensor}",
                                           sensors={sensor}, connected=False))
            return accepted

    # samples

    def ingest(self, chunk: Chunk, *, server_clock: bool = False) -> int:
        """Record a chunk of samples (time on the shared (Unix) time base) and queue it for the analysis; return
        how many samples were new (samples stamped before the sensor's last one, by at most
        ``RESEND_OVERLAP_S``, are a resend: skipped). ``server_clock``: the stamps are on the server's clock, so
        they must lie near it. Call with :attr:`lock` held. Raises :class:`RecordingError` (nothing written)
        for stamps going back or implausible timing.
        """
        sensor = chunk.sensor
        stream = self.sensors.get(sensor) or SensorStream()
        time_s = chunk.time_s
        if time_s.size == 0:
            return 0
        back = np.flatnonzero(np.diff(time_s) < 0)
        if back.size:
            i = int(back[0]) + 1
            raise RecordingError(f"{sensor}: time_s goes back within the message (sample {i} is stamped "
                                 f"{time_s[i - 1] - time_s[i]:.6g} s before the one it follows)")
        _check_not_back(sensor, float(time_s[0]), stream.last_time_s)
        if server_clock:
            _check_server_clock(sensor, time_s, now_s=time.time())
        new = time_s >= stream.last_time_s  # a sample stamped like the last one is new (a recorder's clamped stamps)
        if not new.all():
            chunk = Chunk(sensor, time_s[new], chunk.acc_mps2[new], chunk.gyr_radps[new])
            time_s = chunk.time_s
            if time_s.size == 0:
                return 0
        self._check_timing(sensor, stream, time_s)
        self.sensors[sensor] = stream
        stream.first_time_s = min(stream.first_time_s, float(time_s[0]))
        stream.last_time_s = float(time_s[-1])
        stream.sample_count += time_s.size
        writer = self._open_writer()
        writer.append(chunk)  # in the file before it is acknowledged
        self.last_activity_s = time.monotonic()
        self.analysis.feed(Written(chunk, os.path.getsize(self.path), self._wanted_sensors()))
        return int(time_s.size)

    def _check_timing(self, sensor: str, stream: SensorStream, time_s: np.ndarray) -> None:
        """The limits of :mod:`analysis.limits` on the samples about to be written (sorted, (n,))."""
        steps = np.diff(time_s, prepend=stream.last_time_s if stream.sample_count else time_s[0])
        if steps.max() > MAX_LIVE_GAP_S:
            raise RecordingError(f"{sensor}: the stamps jump {steps.max():.6g} s ahead; a live set allows gaps of "
                                 f"up to {MAX_LIVE_GAP_S:g} s (start a new set)")
        starts = [s.first_time_s for s in self.sensors.values()] + [float(time_s[0])]
        ends = [s.last_time_s for s in self.sensors.values()] + [float(time_s[-1])]
        check_span_s(min(starts), max(ends))
        # a rate is judged once RATE_MIN_SAMPLES samples are in (as the reader does): the first of them are checked
        count = stream.sample_count + time_s.size
        if stream.sample_count < RATE_MIN_SAMPLES <= count:
            first_s = stream.first_time_s if stream.sample_count else float(time_s[0])
            span_s = float(time_s[-1]) - first_s
            check_rate_hz(sensor, (count - 1) / span_s if span_s > 0 else math.inf)

    def _open_writer(self) -> RecordingWriter:
        if self._writer is None:
            self.metadata["created"] = self.started_at
            self._writer = RecordingWriter(self.path, self.metadata)
        return self._writer

    def _analysed(self, reps: list[dict], state: dict, rebuilt: bool) -> None:
        """(event loop) New angles, or the answer of one analysis batch: publish them to the viewers."""
        self.state = state
        if rebuilt:
            self.reps = list(reps)
            self._publish(self.snapshot())
            return
        self._publish({"type": "state", "state": state, "server_time_s": time.time()})
        for rep in reps:
            self.reps.append(rep)
            self._publish({"type": "rep", "rep": rep})

    def _wanted_sensors(self) -> tuple[str, ...]:
        """Sensors with samples or announced by a source's ``hello``, in canonical order."""
        named = set(self.sensors).union(*(source.sensors for source in self.sources))
        return tuple(name for name in SENSOR_NAMES if name in named)

    # viewers

    def snapshot(self) -> dict[str, Any]:
        """Everything a viewer needs on connecting: state, reps so far, sources."""
        return {"type": "snapshot", "session": self.describe(), "state": self.state, "reps": self.reps,
                "server_time_s": time.time()}

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id, "started_at": self.started_at, "rep_count": sum(not r.get("partial") for r in self.reps),
            "ended_session_id": self.ended_session_id, "analysis_error": self.analysis.failed or None,
            "sensors": {name: {"sample_count": s.sample_count, "rate_hz": round(s.rate_hz, 1),
                               "last_time_s": s.last_time_s} for name, s in self.sensors.items()},
            "sources": [{"kind": s.kind, "sensors": sorted(s.sensors), "connected": s.connected, "status": s.status}
                        for s in self.sources],
        }

    def add_viewer(self, queue: asyncio.Queue[str | None] | None = None) -> asyncio.Queue[str | None]:
        """A queue of JSON texts for one viewer, starting with a snapshot; None means "close now"."""
        queue = queue or viewer_queue()
        queue.put_nowait(json.dumps(self.snapshot()))
        self._viewers.append(queue)
        return queue

    def remove_viewer(self, queue: asyncio.Queue[str | None]) -> None:
        if queue in self._viewers:
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

    async def sync(self, interval_s: float) -> None:
        """fsync the file (in a thread, under the lock) and update the achieved rates."""
        async with self.lock:
            if self._writer is not None and not self.closed:
                await asyncio.get_running_loop().run_in_executor(None, self._writer.flush)
        for stream in self.sensors.values():
            stream.rate_hz = (stream.sample_count - stream._counted) / interval_s
            stream._counted = stream.sample_count
        if self._viewers:
            self._publish_sources()

    def abandoned_for_s(self) -> float:
        """Seconds since the last sample or source change with no source connected (-inf while one is)."""
        if any(s.connected for s in self.sources):
            return -math.inf
        return time.monotonic() - self.last_activity_s

    def finish(self) -> bytes:
        """Flush and return the recording so far (call with :attr:`lock` held)."""
        if self._writer is None:
            raise LiveProtocolError(f"live session {self.id!r} has no samples yet")
        self._writer.flush()
        return self.path.read_bytes()

    async def close(self, message: dict[str, Any], *, reason: str, keep_file: bool = False) -> None:
        """Tell the viewers ``message``, close the sources' connections with ``reason``, stop the analysis and
        close the file (removed unless ``keep_file``). Call once, after :attr:`closed` is set."""
        self._publish(message)
        for queue in self._viewers:
            queue.put_nowait(None)  # the viewer's connection closes after the messages before it
        for source in self.sources:
            if source.socket is not None and source.connected:
                source.connected = False
                with contextlib.suppress(RuntimeError):  # already closing
                    await source.socket.close(code=1000, reason=reason)
        await self.analysis.stop()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if not keep_file:
            self.path.unlink(missing_ok=True)


def viewer_queue() -> asyncio.Queue[str | None]:
    return asyncio.Queue(maxsize=VIEWER_QUEUE_MESSAGES + 1)


class LiveHub:
    """The open live sessions of one server, files in ``data_dir/live``."""

    def __init__(self, data_dir: Path, *, thresholds: Mapping[str, float]) -> None:
        self.live_dir = Path(data_dir) / LIVE_DIRNAME
        self.live_dir.mkdir(parents=True, exist_ok=True)
        self.thresholds = dict(thresholds)
        self.sessions: dict[str, LiveSession] = {}
        self.ended: OrderedDict[str, int] = OrderedDict()   # set id -> stored session id ("end set" again)
        self.workers = AnalysisWorkers()
        self._waiting_viewers: dict[str, list[asyncio.Queue[str | None]]] = {}
        self._id_locks: dict[str, list] = {}   # set id -> [lock, users]

    @asynccontextmanager
    async def deciding(self, session_id: str):
        """Exclusive for one set id: "end set" and discard decide one at a time (other sets go on meanwhile)."""
        entry = self._id_locks.setdefault(session_id, [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            async with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if not entry[1]:
                del self._id_locks[session_id]

    def open(self, session_id: str) -> LiveSession:
        """The open session with this id, or a new one (sources only: viewers :meth:`watch`)."""
        check_session_id(session_id)
        if session_id in self.ended:
            raise LiveSetEnded(f"live set {session_id!r} has ended (stored as session {self.ended[session_id]}); "
                               "start a new set")
        if session_id not in self.sessions:
            path = self.live_dir / f"{session_id}.csv"
            if path.exists():
                raise LiveProtocolError(f"live set {session_id!r} was interrupted (the server stopped or no source "
                                        "was connected for a while); store or discard it from the Live page")
            if len(self.sessions) >= MAX_OPEN_SETS:
                raise LiveProtocolError(f"{MAX_OPEN_SETS} live sets are open; end or discard one first")
            session = self.sessions[session_id] = LiveSession(session_id, path, thresholds=self.thresholds,
                                                              workers=self.workers)
            for queue in self._waiting_viewers.pop(session_id, []):
                session.add_viewer(queue)
        return self.sessions[session_id]

    def watch(self, session_id: str) -> asyncio.Queue[str | None]:
        """A viewer's queue: of the open set, or waiting for the set to open (the set is not created)."""
        check_session_id(session_id)
        if session_id in self.sessions:
            return self.sessions[session_id].add_viewer()
        if session_id in self.ended:
            raise LiveSetEnded(f"live set {session_id!r} has ended: see /sessions/{self.ended[session_id]}")
        queue = viewer_queue()
        queue.put_nowait(json.dumps({"type": "snapshot", "state": None, "reps": [], "server_time_s": time.time(),
                                     "session": {"id": session_id, "sensors": {}, "sources": [], "rep_count": 0,
                                                 "started_at": None, "ended_session_id": None}}))
        self._waiting_viewers.setdefault(session_id, []).append(queue)
        return queue

    def unwatch(self, session_id: str, queue: asyncio.Queue[str | None]) -> None:
        if session_id in self.sessions:
            self.sessions[session_id].remove_viewer(queue)
        waiting = self._waiting_viewers.get(session_id, [])
        if queue in waiting:
            waiting.remove(queue)
            if not waiting:
                del self._waiting_viewers[session_id]

    def get(self, session_id: str) -> LiveSession:
        try:
            return self.sessions[session_id]
        except KeyError:
            raise LiveSessionNotFound(session_id) from None

    def interrupted(self) -> list[str]:
        """Ids of sets whose file is here but whose session is not open (server stopped, or expired)."""
        return sorted(path.stem for path in self.live_dir.glob("*.csv") if path.stem not in self.sessions)

    def remember_end(self, session_id: str, stored_id: int) -> None:
        self.ended[session_id] = stored_id
        while len(self.ended) > MAX_REMEMBERED_ENDS:
            self.ended.popitem(last=False)

    def remove(self, session_id: str) -> None:
        self.sessions.pop(session_id, None)

    async def forget_if_empty(self, session: LiveSession) -> None:
        """Remove a set that holds nothing and that nobody uses (a refused first message leaves no set)."""
        if session.sensors or session._viewers or any(s.connected for s in session.sources) or session.closed:
            return
        if self.sessions.get(session.id) is session:
            self.remove(session.id)
            await session.analysis.stop()
            session.path.unlink(missing_ok=True)

    async def expire(self, idle_s: float = IDLE_EXPIRY_S) -> list[str]:
        """Close the sets without a connected source for ``idle_s``; a set with samples keeps its file (listed as
        interrupted), so nothing acknowledged is lost. Returns the expired ids."""
        expired = []
        for session in list(self.sessions.values()):
            if session.abandoned_for_s() < idle_s:
                continue
            async with session.lock:
                if session.closed:
                    continue
                session.closed = True
                await session.close({"type": "expired"}, reason="set expired", keep_file=True)
                if not session.sensors:
                    session.path.unlink(missing_ok=True)
            self.remove(session.id)
            expired.append(session.id)
        return expired

    async def run_sync(self, interval_s: float = SYNC_INTERVAL_S) -> None:
        """fsync every open session's file every ``interval_s`` and expire idle sets (the server's lifetime)."""
        while True:
            await asyncio.sleep(interval_s)
            for session in list(self.sessions.values()):
                try:
                    await session.sync(interval_s)
                except OSError:  # a full disk: say so, keep serving (the next second tries again)
                    log.exception("fsync of live set %s failed", session.id)
            await self.expire()

    async def shutdown(self) -> None:
        for session in list(self.sessions.values()):
            await session.analysis.stop()
        await self.workers.close()


def check_session_id(session_id: str) -> None:
    if not SESSION_ID_PATTERN.fullmatch(session_id):
        raise LiveProtocolError(f"session id {session_id!r:.80}: expected 1-64 letters, digits, '-' or '_'")


def parse_hello(text: str) -> dict[str, Any]:
    """Check the first message of a connection; return it."""
    message = decode_message(text)
    if message.get("type") != "hello":
        raise LiveProtocolError(f"expected a 'hello' message first, found type {message.get('type')!r}")
    if message.get("protocol") != PROTOCOL:
        raise LiveProtocolError(f"hello: protocol {message.get('protocol')!r} is not {PROTOCOL!r}")
    if not isinstance(message.get("session_id"), str):
        raise LiveProtocolError("hello: 'session_id' must be a string")
    if message.get("time_base", SERVER_TIME_BASE) != SERVER_TIME_BASE:
        raise LiveProtocolError(f"hello: 'time_base' {message.get('time_base')!r:.40}; expected "
                                f"{SERVER_TIME_BASE!r} or none")
    metadata = message.get("metadata", {})
    if not isinstance(metadata, Mapping) or not all(isinstance(v, str) for v in metadata.values()):
        raise LiveProtocolError("hello: 'metadata' must be an object of strings")
    if len(metadata) > MAX_METADATA_KEYS or not all(
            METADATA_KEY_PATTERN.fullmatch(k) and len(v) <= MAX_METADATA_CHARS for k, v in metadata.items()):
        raise LiveProtocolError(f"hello: 'metadata' takes at most {MAX_METADATA_KEYS} keys of letters, digits, "
                                f"'_', '.' or '-', values of at most {MAX_METADATA_CHARS} characters")
    return message


def _check_not_back(sensor: str, first_time_s: float, last_time_s: float) -> None:
    """Refuse samples from ``first_time_s`` on that go back further than a resend before ``last_time_s``, the
    sensor's last recorded stamp (-inf before any)."""
    back_s = last_time_s - first_time_s
    if back_s > RESEND_OVERLAP_S:
        raise RecordingError(f"{sensor}: samples stamped {back_s:.6g} s before the last recorded one; a resend may "
                             f"go back at most {RESEND_OVERLAP_S:g} s")


def _check_server_clock(sensor: str, time_s: np.ndarray, *, now_s: float) -> None:
    """Refuse stamps (on the server's clock, (n,) sorted) far from ``now_s``, the server's Unix time."""
    ahead_s, behind_s = float(time_s[-1]) - now_s, now_s - float(time_s[0])
    if ahead_s > SERVER_CLOCK_AHEAD_S or behind_s > SERVER_CLOCK_BEHIND_S:
        where = f"{ahead_s:.6g} s ahead of" if ahead_s > SERVER_CLOCK_AHEAD_S else f"{behind_s:.6g} s behind"
        raise RecordingError(f"{sensor}: stamps {where} the server's clock; at most {SERVER_CLOCK_AHEAD_S:g} s ahead "
                             f"or {SERVER_CLOCK_BEHIND_S:g} s behind (reload the phone page)")


def _finite(value: Any, where: str) -> float:
    number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and (
        not isinstance(value, int) or abs(value) < 1e300) else math.nan
    if not math.isfinite(number):
        raise LiveProtocolError(f"{where}: expected a finite number, found {value!r:.40}")
    return number


def _status(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A recorder's status of one sensor, known scalar fields only (it is shown to every viewer)."""
    return {key: value[:MAX_METADATA_CHARS] if isinstance(value, str) else value for key, value in entry.items()
            if key in STATUS_FIELDS and isinstance(value, (str, int, float, bool, type(None)))
            and (not isinstance(value, float) or math.isfinite(value))}
