"""Map device clocks onto one host time base, estimating offset and drift continuously.

Every notification gives a pair (device time of its last sample, host arrival time). Arrival is the device
time plus a fixed offset, a slow drift and a latency that is never negative but jitters with the connection
interval; the *lower envelope* of ``arrival - device_time`` is the offset plus the minimum latency. The
aligner keeps the minimum of each ``window_s`` of device time, fits a straight line (offset + drift) through
the last ``history_windows`` minima by least squares and lowers it onto the lowest of them (a window's minimum
still holds some latency, most when packets are few); before two windows exist it uses the running minimum.
Samples are mapped with ``host = device + line(device)``.

Devices without time stamps (WitMotion) get device times from :class:`FrameCounter`: frame ``k`` is at
``k / rate``; frames that keep arriving later than the envelope predicts come after a loss, and ``k`` skips
the frames the delay accounts for (a real gap, nothing invented); a backlog that catches up is only a delay.
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np

_MONOTONIC_TO_UNIX_S = time.time() - time.monotonic()


def host_time_s() -> float:
    """Host time base: Unix seconds, steady (monotonic clock shifted once to Unix time at import)."""
    return time.monotonic() + _MONOTONIC_TO_UNIX_S


class ClockAligner:
    """Lower-envelope offset + drift fit of one device's clock against host arrival times.

    Parameters
    ----------
    window_s : device-time span of one envelope window (its minimum is one fit point).
    history_windows : how many recent window minima the line is fitted through (drift memory).
    """

    def __init__(self, *, window_s: float = 1.0, history_windows: int = 30) -> None:
        self.window_s = window_s
        self._points: deque[tuple[float, float]] = deque(maxlen=history_windows)
        self._window: int | None = None
        self._window_min: tuple[float, float] | None = None
        self._line: tuple[float, float] | None = None  # (intercept s, slope) of offset over device time

    def observe(self, device_time_s: float, arrival_s: float) -> None:
        """Add one (device time of the newest sample, host arrival) pair, both in seconds."""
        delay = arrival_s - device_time_s
        window = int(device_time_s // self.window_s)
        if window != self._window:
            if self._window_min is not None:
                self._points.append(self._window_min)
            self._window, self._window_min = window, (device_time_s, delay)
        elif delay < self._window_min[1]:
            self._window_min = (device_time_s, delay)
        self._line = self._fit()

    def to_host(self, device_time_s: np.ndarray) -> np.ndarray:
        """(n,) device seconds → (n,) host seconds with the current estimate (requires one observation)."""
        if self._line is None:
            raise ValueError("the clock aligner has no observation yet")
        intercept, slope = self._line
        return device_time_s + intercept + slope * device_time_s

    @property
    def drift_ppm(self) -> float:
        """Estimated rate error of the device clock relative to the host, parts per million."""
        return 0.0 if self._line is None else self._line[1] * 1e6

    def _fit(self) -> tuple[float, float]:
        points, current = list(self._points), self._window_min
        if len(points) < 2:
            return min(p[1] for p in [*points, current]), 0.0
        intercept, slope = _line(points)
        if current[1] < intercept + slope * current[0]:  # a new low in the running window moves the envelope now
            intercept, slope = _line([*points, current])
        return intercept, slope


def _line(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Lower support line of (t, d) points: least-squares slope, shifted down onto the lowest point."""
    t = np.array([p[0] for p in points])
    d = np.array([p[1] for p in points])
    tc = t - t.mean()
    spread = float((tc**2).sum())
    slope = float((tc * (d - d.mean())).sum() / spread) if spread > 0 else 0.0
    return float((d - slope * t).min()), slope


class FrameCounter:
    """Device times for frames without time stamps: ``k / rate_hz``, with losses told apart from delays.

    A frame arriving more than ``gap_threshold_s`` later than the clock fit predicts is either after a loss
    (the frames that follow keep arriving that late) or the head of a backlog (a stalled link delivers it in a
    burst, and the frames that follow catch up). Late frames are held until ``confirm_s`` of arrivals have
    passed; then the newest frame's lateness, less the usual latency above the envelope, says how many frames
    were lost, and the held frames get their device times.

    Parameters
    ----------
    rate_hz : the device's nominal output rate.
    gap_threshold_s : lateness that makes a frame suspect; above the link's latency jitter (BLE connection
        intervals are 7.5–50 ms).
    confirm_s : how long to watch before deciding; longer than the longest stall to be forgiven.
    """

    def __init__(self, rate_hz: float, *, gap_threshold_s: float = 0.1, confirm_s: float = 0.4) -> None:
        self.period_s = 1.0 / rate_hz
        self.gap_threshold_s, self.confirm_s = gap_threshold_s, confirm_s
        self.lost_frames = 0
        self._next = 0
        self._usual_late_s = 0.0
        self._held: list[tuple[object, int, float]] = []  # (item, frame count, arrival) while undecided

    def feed(self, item: object, frame_count: int, arrival_s: float,
             clock: ClockAligner) -> list[tuple[object, np.ndarray, float]]:
        """Take one notification's ``frame_count`` frames; return the decided ones as (item, device times (n,) s,
        arrival s), in order."""
        if self._next == 0 and not self._held:
            return [self._release(item, frame_count, arrival_s)]
        held_frames = sum(count for _, count, _ in self._held)
        newest_device_s = (self._next + held_frames + frame_count - 1) * self.period_s
        late_s = arrival_s - float(clock.to_host(np.array([newest_device_s]))[0])
        if not self._held and late_s <= self.gap_threshold_s:
            self._usual_late_s += 0.05 * (late_s - self._usual_late_s)
            return [self._release(item, frame_count, arrival_s)]
        self._held.append((item, frame_count, arrival_s))
        if arrival_s - self._held[0][2] < self.confirm_s:
            return []
        if late_s > self.gap_threshold_s:
            skipped = max(0, round((late_s - self._usual_late_s) / self.period_s))
            self.lost_frames += skipped
            self._next += skipped
        return self.flush()

    def flush(self) -> list[tuple[object, np.ndarray, float]]:
        """Release every held frame without further skipping (end of the connection)."""
        held, self._held = self._held, []
        return [self._release(item, count, arrival) for item, count, arrival in held]

    def _release(self, item: object, frame_count: int, arrival_s: float) -> tuple[object, np.ndarray, float]:
        k = self._next
        self._next += frame_count
        return item, (k + np.arange(frame_count)) * self.period_s, arrival_s
