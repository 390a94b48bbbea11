"""Crash-safe live capture: back and hip at once, aligned clocks, automatic reconnects, incremental file.

Data path per sensor: the bleak notification callback only stamps the host arrival time and queues the bytes;
a consumer task decodes (:mod:`.devices`), aligns (:mod:`.clock`) and hands rows to the :class:`RecordingWriter`.
Samples are held ``settle_s`` after arrival so the clock estimate has seen the packets around them.

File safety: each chunk's rows are written with one ``os.write`` of whole lines as soon as they are emitted and
``fsync``-ed every ``flush_interval_s``, so a killed process (kill -9) leaves a valid ``hinge-recording/1`` file
holding everything but the samples still settling (``settle_s`` plus the consumer's 0.1 s poll); a power cut
keeps everything up to the last fsync. Gaps from dropped
links are metadata, and metadata must lead the file: the writer reserves a fixed-width ``# gaps:`` line at the
top (padded with spaces, which the reader strips) and rewrites it in place whenever a gap closes. Its value is
``sensor start_s end_s`` entries joined by ``; `` (host time base, seconds).
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from bleak import BleakClient
from bleak.exc import BleakError

from hinge.analysis.recording_format import format_metadata_lines, format_sample_rows

from .clock import ClockAligner, FrameCounter, host_time_s
from .devices import Batch, StreamInfo, session_for_services
from .errors import DeviceError
from .live import LiveStreamer

GAPS_KEY = "gaps"
GAPS_FIELD_BYTES = 4000


class RecordingWriter:
    """Appends sample rows to a ``hinge-recording/1`` file; see the module notes for the crash guarantees.

    Parameters
    ----------
    path : destination (created or truncated).
    metadata : leading ``key: value`` lines (``format`` is added first).
    """

    def __init__(self, path: str | os.PathLike, metadata: dict[str, str]) -> None:
        self.path = os.fspath(path)
        self.gaps: list[tuple[str, float, float]] = []
        preamble = format_metadata_lines({**metadata, GAPS_KEY: "x"})
        marker = f"# {GAPS_KEY}: x\n"
        self._gaps_offset = len(preamble[: preamble.index(marker)].encode()) + len(f"# {GAPS_KEY}: ")
        preamble = preamble.replace(marker, f"# {GAPS_KEY}: {' ' * GAPS_FIELD_BYTES}\n")
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self._pending: list[str] = [preamble]
        self.flush()

    def append(self, sensor: str, time_s: np.ndarray, acc_mps2: np.ndarray, gyr_radps: np.ndarray) -> None:
        """Write rows for ``n`` samples at once (no fsync): time (n,) s, acc (n, 3) m/s², gyr (n, 3) rad/s."""
        self._pending.append(format_sample_rows(sensor, time_s, acc_mps2, gyr_radps))
        self.flush(sync=False)

    def add_gap(self, sensor: str, start_s: float, end_s: float) -> None:
        """Record a gap and rewrite the reserved metadata field in place (durably)."""
        self.gaps.append((sensor, start_s, end_s))
        entries = [f"{name} {a:.6f} {b:.6f}" for name, a, b in self.gaps]
        text = "; ".join(entries)
        while len(text) > GAPS_FIELD_BYTES:  # keep the earliest gaps, say how many more there were
            entries.pop()
            text = "; ".join(entries) + f"; +{len(self.gaps) - len(entries)} more"
        os.pwrite(self._fd, text.ljust(GAPS_FIELD_BYTES).encode(), self._gaps_offset)
        os.fsync(self._fd)

    def flush(self, *, sync: bool = True) -> None:
        """Write whole queued lines in one call, then fsync unless ``sync`` is False.

        Written lines survive the process being killed; only the fsync makes them survive a power cut.
        """
        if self._pending:
            data, self._pending = "".join(self._pending).encode(), []
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view):]
        if sync:
            os.fsync(self._fd)

    def close(self) -> None:
        self.flush()
        os.close(self._fd)


@dataclass
class SensorStatus:
    """Live state of one sensor for the status line."""

    sensor: str
    address: str
    kind: str = "?"
    connected: bool = False
    rate_hz: float = 0.0          # achieved, over the last status interval
    samples: int = 0
    lost_packets: int = 0
    reconnects: int = 0
    battery_percent: int | None = None
    round_trip_ms: float | None = None   # shortest command round trip at the last connect
    last_error: str = ""

    def line(self) -> str:
        battery = "n/a" if self.battery_percent is None else f"{self.battery_percent}%"
        state = f"{self.rate_hz:6.1f} Hz" if self.connected else "  (link down)"
        trip = "" if self.round_trip_ms is None else f", round trip {self.round_trip_ms:.0f} ms"
        return (f"{self.sensor}: {state}, lost {self.lost_packets} packets, reconnects {self.reconnects}, "
                f"battery {battery}{trip}")


class AlignedStream:
    """One connection's decode + clock pipeline: notifications in, host-timed samples out after ``settle_s``.

    ``decode`` is the device session's decoder (bytes → :class:`Batch`); ``rate_hz`` its nominal rate.
    """

    def __init__(self, decode: Callable[[bytes], Batch], rate_hz: float, settle_s: float) -> None:
        self.decode, self.settle_s = decode, settle_s
        self.clock = ClockAligner()
        self.frames: FrameCounter[Batch] = FrameCounter(rate_hz)
        self._pending: deque[tuple[float, np.ndarray, np.ndarray, np.ndarray]] = deque()

    def push(self, arrival_s: float, data: bytes) -> int:
        """Decode and time one notification; returns packets known lost before it."""
        batch = self.decode(data)
        if batch.sample_count == 0:
            return batch.lost_packets
        if batch.device_time_s is not None:
            self._add(batch, batch.device_time_s, arrival_s)
            return batch.lost_packets
        before = self.frames.lost_frames
        for held, device_s, arrival in self.frames.feed(batch, batch.sample_count, arrival_s, self.clock):
            self._add(held, device_s, arrival)
        return self.frames.lost_frames - before

    def ready(self, now_s: float | None) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Samples that have settled (all of them when ``now_s`` is None), mapped to host time."""
        if now_s is None:
            for held, device_s, arrival in self.frames.flush():
                self._add(held, device_s, arrival)
        out = []
        while self._pending and (now_s is None or self._pending[0][0] <= now_s - self.settle_s):
            _, device_s, acc, gyr = self._pending.popleft()
            out.append((self.clock.to_host(device_s), acc, gyr))
        return out

    def _add(self, batch: Batch, device_s: np.ndarray, arrival_s: float) -> None:
        self.clock.observe(float(device_s[-1]), arrival_s)
        self._pending.append((arrival_s, device_s, batch.acc_mps2, batch.gyr_radps))


class SensorLink:
    """Keeps one wearable connected and streaming into the writer, reconnecting whenever the link drops.

    Parameters
    ----------
    sensor : ``back`` or ``hip``.
    address : Bluetooth address (UUID on macOS).
    rate_hz : requested output rate (the device picks its nearest supported rate).
    client_options : extra ``BleakClient`` arguments, e.g. ``{"backend": radio.client_backend}``.
    connect_timeout_s : per attempt; attempts repeat until stopped.
    live : also hand every chunk and gap to this streamer (``--server``).
    """

    def __init__(self, sensor: str, address: str, writer: RecordingWriter, *, rate_hz: float,
                 client_options: dict[str, Any] | None = None, connect_timeout_s: float = 2.0,
                 settle_s: float = 0.5, retry_delay_s: float = 0.2, live: LiveStreamer | None = None) -> None:
        self.sensor, self.address, self.writer, self.live = sensor, address, writer, live
        self.rate_hz = rate_hz
        self.client_options = client_options or {}
        self.connect_timeout_s, self.settle_s, self.retry_delay_s = connect_timeout_s, settle_s, retry_delay_s
        self.status = SensorStatus(sensor, address)
        self.stream_info: StreamInfo | None = None
        self._last_time_s: float | None = None
        self._gap_open = False
        self._connected_before = False
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Connect, stream, reconnect; returns after :meth:`stop` with everything received written."""
        while not self._stop.is_set():
            try:
                await self._connection()
            except (BleakError, DeviceError, TimeoutError) as error:
                self.status.last_error = str(error) or type(error).__name__
            except OSError as error:  # no adapter, no D-Bus: retrying cannot help
                raise DeviceError(f"Bluetooth is not available: {error.strerror or error}") from None
            self.status.connected = False
            if self._last_time_s is not None:
                self._gap_open = True
            if not self._stop.is_set():
                await _wait_any(self._stop, timeout_s=self.retry_delay_s)

    async def _connection(self) -> None:
        dropped = asyncio.Event()
        client = BleakClient(self.address, disconnected_callback=lambda _client: dropped.set(),
                             timeout=self.connect_timeout_s, **self.client_options)
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        aligned: AlignedStream | None = None
        consumer: asyncio.Task | None = None
        try:
            async with client:
                session_type = session_for_services({service.uuid for service in client.services})
                if session_type is None:
                    raise DeviceError(f"{self.address} offers none of the supported services "
                                      "(hinge-imu, WitMotion, Movesense)")
                session = session_type(client, lambda data: queue.put_nowait((host_time_s(), bytes(data))))
                self.status.kind = session_type.KIND
                info = self.stream_info = await session.start(rate_hz=self.rate_hz)
                self.status.battery_percent = await session.watch_battery(
                    lambda level: setattr(self.status, "battery_percent", level))
                trip_s = await session.round_trip_s()
                self.status.round_trip_ms = None if trip_s is None else trip_s * 1e3
                self.status.reconnects += self._connected_before
                self._connected_before = self.status.connected = True
                aligned = AlignedStream(session.decode, info.rate_hz, self.settle_s)
                consumer = asyncio.create_task(self._consume(queue, aligned))
                await _wait_any(self._stop, dropped)
        finally:  # after the disconnect: nothing more can arrive, so everything queued is written
            if consumer is not None:
                consumer.cancel()
                await asyncio.gather(consumer, return_exceptions=True)
            if aligned is not None:
                self._drain(queue, aligned)

    async def _consume(self, queue: asyncio.Queue, aligned: AlignedStream) -> None:
        while True:
            try:
                arrival_s, data = await asyncio.wait_for(queue.get(), timeout=0.1)
                self._push(aligned, arrival_s, data)
            except TimeoutError:
                pass
            self._emit(aligned.ready(host_time_s()))

    def _drain(self, queue: asyncio.Queue, aligned: AlignedStream) -> None:
        while not queue.empty():
            self._push(aligned, *queue.get_nowait())
        self._emit(aligned.ready(None))

    def _push(self, aligned: AlignedStream, arrival_s: float, data: bytes) -> None:
        try:
            self.status.lost_packets += aligned.push(arrival_s, data)
        except DeviceError as error:  # a malformed packet is a lost packet, not the end of the recording
            self.status.lost_packets += 1
            self.status.last_error = str(error)

    def _emit(self, chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> None:
        for time_s, acc, gyr in chunks:
            if self._last_time_s is not None:
                time_s = np.maximum.accumulate(np.maximum(time_s, self._last_time_s))  # never backwards
                if self._gap_open:
                    self.writer.add_gap(self.sensor, self._last_time_s, float(time_s[0]))
                    if self.live:
                        self.live.gap(self.sensor, self._last_time_s, float(time_s[0]))
            self._gap_open = False
            self.writer.append(self.sensor, time_s, acc, gyr)
            if self.live:
                self.live.samples(self.sensor, time_s, acc, gyr)
            self._last_time_s = float(time_s[-1])
            self.status.samples += time_s.shape[0]


@dataclass
class Recorder:
    """Records the given sensors into ``path`` until :meth:`stop`.

    ``sensors`` maps ``back`` / ``hip`` to an address; ``on_status`` is called every ``status_interval_s``
    with one :class:`SensorStatus` per sensor. With ``server_url`` the samples are streamed to the server's live
    view as well (``docs/live-protocol.md``); ``self.live`` then holds the streamer.
    """

    path: str | os.PathLike
    sensors: dict[str, str]
    rate_hz: float
    client_options: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    flush_interval_s: float = 0.5
    status_interval_s: float = 1.0
    on_status: Callable[[list[SensorStatus]], None] | None = None
    connect_timeout_s: float = 2.0
    server_url: str | None = None

    def __post_init__(self) -> None:
        self._stop = asyncio.Event()
        self.links: list[SensorLink] = []
        self.live: LiveStreamer | None = None

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        metadata = {"source": "hinge record", "created": f"{host_time_s():.3f}",
                    "requested_rate_hz": f"{self.rate_hz:g}",
                    **{f"{name}_device": address for name, address in self.sensors.items()}, **self.metadata}
        self.live = LiveStreamer(self.server_url, metadata) if self.server_url else None
        writer = RecordingWriter(self.path, metadata)
        self.links = [SensorLink(name, address, writer, rate_hz=self.rate_hz, client_options=self.client_options,
                                 connect_timeout_s=self.connect_timeout_s, live=self.live)
                      for name, address in self.sensors.items()]
        tasks = [asyncio.create_task(link.run()) for link in self.links]
        streaming = asyncio.create_task(self.live.run()) if self.live else None
        try:
            samples = [0] * len(self.links)
            next_status = host_time_s() + self.status_interval_s
            while not self._stop.is_set():
                await _wait_any(self._stop, timeout_s=self.flush_interval_s)
                writer.flush()
                for task in tasks:
                    if task.done() and (error := task.exception()) is not None:
                        raise error
                if host_time_s() >= next_status:
                    for i, link in enumerate(self.links):
                        link.status.rate_hz = (link.status.samples - samples[i]) / self.status_interval_s
                        samples[i] = link.status.samples
                    next_status += self.status_interval_s
                    statuses = [link.status for link in self.links]
                    if self.on_status:
                        self.on_status(statuses)
                    if self.live:
                        self.live.status(statuses)
        finally:
            for link in self.links:
                link.stop()
            await asyncio.gather(*tasks, return_exceptions=True)
            writer.close()
            if streaming is not None and self.live is not None:
                self.live.close()
                await asyncio.gather(streaming, return_exceptions=True)
            if not any(link.status.samples for link in self.links):
                os.remove(writer.path)  # a file without samples is not a recording


async def _wait_any(*events: asyncio.Event, timeout_s: float | None = None) -> None:
    """Return when any event is set (or after ``timeout_s``)."""
    waiters = [asyncio.create_task(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
