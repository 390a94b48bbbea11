"""Best-effort streaming of a recording in progress to the server: the client side of ``docs/live-protocol.md``.

The recorder hands every chunk it writes to :class:`LiveStreamer`, which only queues it; the streamer's own task
batches per sensor, sends JSON over a WebSocket and reconnects while the server is away. Nothing here can block
or fail the recording: the file is the record.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections import deque
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import numpy as np
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from .clock import host_time_s
from .errors import DeviceError

PROTOCOL = "hinge-live/1"
INGEST_PATH = "/api/live/ingest"


def ingest_url(url: str) -> tuple[str, str | None]:
    """Server base URL (http, https; ``?token=`` allowed) → (its ingest WebSocket URL, the access token or None).

    ws/wss URLs keep their path. The token is taken out of the URL: it travels as an ``Authorization`` header,
    so it appears in no server or proxy log."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    token = query.pop("token", [None])[0]
    rest = urlencode(query, doseq=True)
    if parts.scheme in ("ws", "wss"):
        return urlunsplit((parts.scheme, parts.netloc, parts.path, rest, "")), token
    if parts.scheme in ("http", "https") and parts.netloc:
        path = parts.path.rstrip("/") + INGEST_PATH
        return urlunsplit(({"http": "ws", "https": "wss"}[parts.scheme], parts.netloc, path, rest, "")), token
    raise DeviceError(f"--server {url!r}: expected an http://, https://, ws:// or wss:// URL")


class LiveStreamer:
    """Queue chunks from the recorder and ship them as ``hinge-live/1`` messages.

    Parameters
    ----------
    url : server base URL or ingest WebSocket URL (see :func:`ingest_url`).
    metadata : the recording's leading metadata, sent in ``hello``.
    batch_interval_s : how often queued samples are sent.
    max_backlog_s : unsent samples older than this are dropped while the server is unreachable.
    retry_s : pause between connection attempts.
    """

    def __init__(self, url: str, metadata: dict[str, str], *, batch_interval_s: float = 0.25,
                 max_backlog_s: float = 10.0, retry_s: float = 2.0) -> None:
        self.url, token = ingest_url(url)
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.metadata = dict(metadata)
        self.batch_interval_s, self.max_backlog_s, self.retry_s = batch_interval_s, max_backlog_s, retry_s
        self.session_id = uuid.uuid4().hex
        self.last_error = ""
        self.sent_samples = 0
        self._chunks: deque[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = deque()
        self._events: deque[dict] = deque(maxlen=100)
        self._closing = asyncio.Event()

    # the recorder's side: never blocks

    def samples(self, sensor: str, time_s: np.ndarray, acc_mps2: np.ndarray, gyr_radps: np.ndarray) -> None:
        self._chunks.append((sensor, time_s, acc_mps2, gyr_radps))

    def gap(self, sensor: str, start_s: float, end_s: float) -> None:
        self._events.append({"type": "gap", "sensor": sensor, "start_s": start_s, "end_s": end_s})

    def status(self, statuses) -> None:
        self._events.append({"type": "status", "sensors": [
            {"sensor": s.sensor, "connected": s.connected, "rate_hz": s.rate_hz, "lost_packets": s.lost_packets,
             "reconnects": s.reconnects, "battery_percent": s.battery_percent} for s in statuses]})

    def close(self) -> None:
        """Send what is queued, then ``end``, and stop (``run`` returns)."""
        self._closing.set()

    # the streamer's task

    async def run(self) -> None:
        """Connect, send, reconnect until :meth:`close`; returns after the final ``end`` (or giving up)."""
        while True:
            try:
                async with connect(self.url, open_timeout=self.retry_s, additional_headers=self._headers) as socket:
                    await socket.send(json.dumps({"type": "hello", "protocol": PROTOCOL,
                                                  "session_id": self.session_id, "metadata": self.metadata}))
                    self.last_error = ""
                    while True:
                        closing = self._closing.is_set()
                        for message in self._messages():
                            await socket.send(message)
                        if closing:
                            await socket.send(json.dumps({"type": "end"}))
                            return
                        await _wait(self._closing, self.batch_interval_s)
            except (OSError, TimeoutError, WebSocketException) as error:
                self.last_error = f"live view server {self.url}: {error}"
            if self._closing.is_set():
                return  # the file has everything; do not hold the end of the recording up
            self._drop_stale()
            await _wait(self._closing, self.retry_s)

    def _messages(self) -> list[str]:
        by_sensor: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
        while self._chunks:
            sensor, time_s, acc, gyr = self._chunks.popleft()
            by_sensor.setdefault(sensor, []).append((time_s, acc, gyr))
        messages = []
        for sensor, chunks in by_sensor.items():
            time_s, acc, gyr = (np.concatenate(parts) for parts in zip(*chunks))
            self.sent_samples += time_s.size
            messages.append(json.dumps({"type": "samples", "sensor": sensor, "time_s": time_s.tolist(),
                                        "acc_mps2": acc.tolist(), "gyr_radps": gyr.tolist()}))
        while self._events:
            messages.append(json.dumps(self._events.popleft()))
        return messages

    def _drop_stale(self) -> None:
        horizon_s = host_time_s() - self.max_backlog_s
        while self._chunks and self._chunks[0][1][-1] < horizon_s:
            self._chunks.popleft()


async def _wait(event: asyncio.Event, timeout_s: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout_s)
