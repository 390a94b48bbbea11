"""Input limits on sample timing, checked where samples enter (file reader, importers, live ingest) before any
work is sized by them.

A body-worn IMU samples at a few to a few thousand hertz and a set lasts minutes, so stamps that imply
1e310 Hz, a week-long recording or a grid of a billion samples are damage or an attack, never data: they are
refused with one line (:class:`RecordingError`) instead of driving the filters to infinity or the memory to
gigabytes. Each rule lives here once:

- ``MIN_RATE_HZ``..``MAX_RATE_HZ``: the plausible sample rates (robust estimate, gaps and batch stamps allowed);
- ``MAX_SPAN_S``: first to last sample of a recording, all sensors together;
- ``MAX_GRID_SAMPLES``: samples of one sensor's uniform grid (measured plus gap-filled), so gap handling is
  bounded by a constant, never by the time span a stamp claims;
- ``MAX_LIVE_GAP_S``: the longest jump between two stamps of a live stream (the live filters fill gaps).
"""

from __future__ import annotations

import numpy as np

from .errors import RecordingError

MIN_RATE_HZ = 5.0
MAX_RATE_HZ = 2000.0
MAX_SPAN_S = 6 * 3600.0
MAX_GRID_SAMPLES = 4_000_000          # ~5.5 h at 200 Hz; (n, 3) float64 arrays of ~100 MB
MAX_LIVE_GAP_S = 300.0
RATE_MIN_SAMPLES = 50                  # fewer samples say too little about a rate to refuse it
BATCH_GAP_FACTOR = 5.0                 # a first rate estimate counts intervals up to this many typical periods
                                       # (batched stamps hide the true spacing)


def rate_estimate_hz(time_s: np.ndarray, *, gap_factor: float, period_s: float | None = None) -> float:
    """Samples per second over the intervals shorter than ``gap_factor`` typical periods (gaps excluded).

    ``time_s`` (n,) non-decreasing seconds; repeated stamps (samples stamped together in a batch) count as
    samples. ``period_s`` is the typical period if known, else the median positive interval.
    """
    dt = np.diff(time_s)
    positive = dt[dt > 0]
    if positive.size == 0:
        raise RecordingError("all samples of a sensor share one timestamp")
    limit = gap_factor * (period_s if period_s is not None else float(np.median(positive)))
    inside = dt <= limit
    span = float(dt[inside].sum())
    if span <= 0:
        raise RecordingError("cannot estimate the sampling rate: timestamps do not advance")
    return float(inside.sum()) / span


def check_rate_hz(sensor: str, rate_hz: float) -> None:
    """Refuse a sampling rate outside ``MIN_RATE_HZ``..``MAX_RATE_HZ`` (inf and nan included)."""
    if not MIN_RATE_HZ <= rate_hz <= MAX_RATE_HZ:
        raise RecordingError(f"sensor {sensor}: the timestamps imply {rate_hz:.3g} samples per second; expected "
                             f"{MIN_RATE_HZ:g}-{MAX_RATE_HZ:g} Hz (are the times in seconds?)")


def check_span_s(start_s: float, end_s: float) -> None:
    """Refuse a recording whose first and last samples are more than ``MAX_SPAN_S`` apart."""
    if end_s - start_s > MAX_SPAN_S:
        raise RecordingError(f"the samples span {end_s - start_s:.6g} s; at most {MAX_SPAN_S / 3600:g} h is "
                             "accepted (a stamp far from the others?)")


def check_stream_timing(sensor: str, time_s: np.ndarray) -> None:
    """Plausible rate of one sensor's stamps (when there are enough of them to judge)."""
    if time_s.size >= RATE_MIN_SAMPLES:
        spread = time_s[-1] > time_s[0]
        check_rate_hz(sensor, rate_estimate_hz(time_s, gap_factor=BATCH_GAP_FACTOR) if spread else np.inf)


def check_grid_samples(sensor: str, grid_samples: int, rate_hz: float) -> None:
    """Refuse a uniform grid larger than ``MAX_GRID_SAMPLES`` (it would be allocated whole)."""
    if grid_samples > MAX_GRID_SAMPLES:
        raise RecordingError(f"sensor {sensor}: {grid_samples} samples at {rate_hz:.4g} Hz with the gaps filled; at "
                             f"most {MAX_GRID_SAMPLES} are accepted (a gap of {grid_samples / rate_hz:.6g} s?)")
