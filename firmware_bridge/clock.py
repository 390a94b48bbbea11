"""Map device clocks onto one host time base, estimating offset and drift continuously.

Every notification gives a pair (device time of its last sample, host arrival time). Arrival is the device
time plus a fixed offset, a slow drift and a latency that is never negative but jitters with the connection
interval; the *lower envelope* of ``arrival - device_time`` is the offset plus the minimum latency. The
aligner keeps the minimum of each ``window_s`` of device time, estimates the drift as the median slope between
the last ``history_windows`` minima (Theil–Sen) and lowers the line onto the lowest of them (a window's minimum
still holds some latency, most when packets are few); a new low moves the line down at once. Samples are mapped
with ``host = device + line(device)``.

Devices without time stamps (WitMotion) get device times from :class:`FrameCounter`: frame ``k`` is at
``k / rate``; frames that keep arriving later than the envelope predicts come after a loss, and ``k`` skips
the frames the delay accounts for (a real gap, nothing invented); a backlog that catches up is only a delay.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Generic, TypeVar

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
    history_windows : how many recent window minima the drift is estimated from (drift memory).
    min_drift_span_s : the drift stays 0 until the minima span this long (a slope from a second or two of
        minima is mostly noise; 100 ppm over 5 s is 0.5 ms).
    """

    def __init__(self, *, window_s: float = 1.0, history_windows: int = 30, min_drift_span_s: float = 5.0) -> None:
        self.window_s, self.min_drift_span_s = window_s, min_drift_span_s
        self._points: deque[tuple[float, float]] = deque(maxlen=history_windows)
        self._window: int | None = None
        self._window_min: tuple[float, float] | None = None
        self._slope = 0.0
        self._intercept: float | None = None  # offset (s) at device time 0 of the envelope line

    def observe(self, device_time_s: float, arrival_s: float) -> None:
        """Add one (device time of the newest sample, host arrival) pair, both in seconds."""
        delay = arrival_s - device_time_s
        window = int(device_time_s // self.window_s)
        if window != self._window:
            if self._window_min is not None:
                self._points.append(self._window_min)
                self._refit()
            self._window, self._window_min = window, (device_time_s, delay)
        elif self._window_min is None or delay < self._window_min[1]:
            self._window_min = (device_time_s, delay)
        t, d = self._window_min
        if self._intercept is None or d - self._slope * t < self._intercept:
            self._intercept = d - self._slope * t  # a new low moves the envelope down at once

    def to_host(self, device_time_s: np.ndarray) -> np.ndarray:
        """(n,) device seconds → (n,) host seconds with the current estimate (requires one observation)."""
        if self._intercept is None:
            raise ValueError("the clock aligner has no observation yet")
        return device_time_s + self._intercept + self._slope * device_time_s

    @property
    def drift_ppm(self) -> float:
        """Estimated rate error of the device clock relative to the host, parts per million."""
        return self._slope * 1e6

    def _refit(self) -> None:
        """Drift from the window minima (Theil–Sen: robust to a window that was late throughout, e.g. while
        connecting), then the line lowered onto the lowest minimum."""
        t = np.array([p[0] for p in self._points])
        d = np.array([p[1] for p in self._points])
        if t[-1] - t[0] >= self.min_drift_span_s:
            i, j = np.triu_indices(t.size, k=1)
            self._slope = float(np.median((d[j] - d[i]) / (t[j] - t[i])))
        self._intercept = float((d - self._slope * t).min())


_Item = TypeVar("_Item")


class FrameCounter(Generic[_Item]):
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
        self._held: list[tuple[_Item, int, float]] = []  # (item, frame count, arrival) while undecided

    def feed(self, item: _Item, frame_count: int, arrival_s: float,
             clock: ClockAligner) -> list[tuple[_Item, np.ndarray, float]]:
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

    def flush(self) -> list[tuple[_Item, np.ndarray, float]]:
        """Release every held frame without further skipping (end of the connection)."""
        held, self._held = self._held, []
        return [self._release(item, count, arrival) for item, count, arrival in held]

    def _release(self, item: _Item, frame_count: int, arrival_s: float) -> tuple[_Item, np.ndarray, float]:
        k = self._next
        self._next += frame_count
        return item, (k + np.arange(frame_count)) * self.period_s, arrival_s
