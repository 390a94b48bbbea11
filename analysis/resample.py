"""Put one sensor's raw samples on its own uniform sample grid and describe the stream's quality.

A sensor samples uniformly on its own clock; what the recording holds are stamps with jitter, duplicates
(samples stamped together on arrival) and gaps (lost packets). We recover the integer sample index ``k`` of
every sample: ``(t - t0) * rate`` minus a slowly varying phase, rounded. Missing indices are gaps; the
de-jittered time of index ``k`` is ``t0 + (k + phase) / rate``. Orientation filters then run on the
uniform index grid (short gaps interpolated), as they expect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import RecordingError
from .filters import median_filter  # SciPy's, without its import time
from .limits import BATCH_GAP_FACTOR, check_grid_samples, check_rate_hz, rate_estimate_hz
from .recording import SensorStream

PHASE_WINDOW_SAMPLES = 128
MIN_SAMPLES = 20


@dataclass(frozen=True)
class StreamQuality:
    """Facts about one sensor's stream (for the report's data-quality warnings)."""

    sampling_rate_hz: float
    sample_count: int
    missing_samples: int
    gaps_s: tuple[tuple[float, float], ...]   # (start time on the recording base, duration), gaps >= 2 samples
    duplicate_stamps: int
    jitter_rms_s: float
    saturated_samples: int


@dataclass(frozen=True)
class UniformStream:
    """One sensor on a uniform grid of its own clock.

    time_s : (n,) recording-base time of each grid sample (de-jittered, nearly uniform)
    acc_mps2, gyr_radps : (n, 3) sensor axes; samples inside gaps are linearly interpolated
    measured : (n,) bool, True where a real sample exists
    """

    name: str
    sampling_rate_hz: float
    time_s: np.ndarray
    acc_mps2: np.ndarray
    gyr_radps: np.ndarray
    measured: np.ndarray
    quality: StreamQuality


def _spread_duplicates(time_s: np.ndarray, period_s: float) -> np.ndarray:
    """Samples stamped together get times one period apart, ending at the shared stamp (batch arrival)."""
    dup = np.concatenate([[False], np.diff(time_s) == 0])
    if not dup.any():
        return time_s
    # position inside each run of equal stamps, counted from the run's end
    run_id = np.cumsum(~dup)
    run_len = np.bincount(run_id)[run_id]
    pos_from_start = np.arange(time_s.size) - np.searchsorted(run_id, run_id, side="left")
    return time_s - (run_len - 1 - pos_from_start) * period_s


def _sample_indices(time_s: np.ndarray, rate_hz: float) -> np.ndarray:
    """Integer sample index of every sample on the sensor's clock (first sample 0), (n,)."""
    e = (time_s - time_s[0]) * rate_hz - np.arange(time_s.size)
    # local phase by a circular moving mean (robust to the integer steps that missing samples make)
    z = np.exp(2j * np.pi * e)
    w = min(PHASE_WINDOW_SAMPLES, time_s.size)
    c = np.concatenate([[0], np.cumsum(z)])
    half = w // 2
    lo = np.clip(np.arange(time_s.size) - half, 0, time_s.size - w)
    # unwrapped: a rate slightly off makes the phase drift; wrapped, each turn would read as a sample going back
    phase = np.unwrap(np.angle(c[lo + w] - c[lo])) / (2 * np.pi)
    # a median filter removes isolated jitter outliers but keeps the steps that missing samples make; rounding
    # keeps the order of values, so the median of the rounded offsets is the rounded median (and they are
    # constant between losses: the filter has little to sort)
    steps = median_filter(np.round(e - phase), size=7, mode="nearest")
    skipped = np.maximum.accumulate(steps.astype(np.int64))  # missing samples so far, monotone
    k = np.arange(time_s.size) + skipped
    return k - k[0]


def _line_fit(k: np.ndarray, time_s: np.ndarray) -> tuple[float, float]:
    """Least-squares line ``time_s - time_s[0] ≈ intercept + slope · k`` (s per sample, s); ``k``, ``time_s``
    (n,). Relative to the first stamp, so epoch-sized stamps lose no precision."""
    k_mean = k.mean()
    t = time_s - time_s[0]
    t_mean = t.mean()
    dk = k - k_mean
    slope = float(dk @ (t - t_mean) / (dk @ dk))
    return slope, float(t_mean - slope * k_mean)


def regularize(name: str, stream: SensorStream) -> UniformStream:
    """Recover the uniform sample grid of one sensor (see module docstring)."""
    if stream.sample_count < MIN_SAMPLES:
        raise RecordingError(f"sensor {name} has only {stream.sample_count} samples; at least {MIN_SAMPLES} are needed")
    t_raw = stream.time_s
    # first pass: stamp groups (batches) may hide the true spacing, so allow wide intervals
    rate = rate_estimate_hz(t_raw, gap_factor=BATCH_GAP_FACTOR)
    check_rate_hz(name, rate)
    duplicates = int((np.diff(t_raw) == 0).sum())
    t = t_raw
    if duplicates:
        t = _spread_duplicates(t_raw, 1.0 / rate)
    # second pass on one-sample spacing: anything over 2.5 periods is a gap
    rate = rate_estimate_hz(t, gap_factor=2.5, period_s=1.0 / rate)
    k = _sample_indices(t, rate)
    # refine the rate with the integer indices (least squares of stamp vs index), then index again
    if k[-1] > 0:
        rate = 1.0 / _line_fit(k, t)[0]
        k = _sample_indices(t, rate)
    check_rate_hz(name, rate)
    n = int(k[-1]) + 1
    check_grid_samples(name, n, rate)
    slope, intercept = _line_fit(k, t)
    residual = (t - t[0]) - (intercept + slope * k)
    # slow clock wander stays in the time axis: smooth residual over ~2 s
    smooth = _moving_average(residual, max(1, int(2 * rate)))
    steps = np.diff(k)
    complete = bool((steps == 1).all())  # every index once: nothing to fill in
    grid_k = np.arange(n)
    grid_time = t[0] + (intercept + slope * grid_k + (smooth if complete else np.interp(grid_k, k, smooth)))
    measured = np.zeros(n, dtype=bool)
    measured[k] = True
    acc = stream.acc_mps2 if complete else _fill(k, stream.acc_mps2, n)
    gyr = stream.gyr_radps if complete else _fill(k, stream.gyr_radps, n)
    gap_at = np.flatnonzero(steps > 2)
    gaps = tuple((float(t[i]), float((steps[i] - 1) / rate)) for i in gap_at)
    quality = StreamQuality(
        sampling_rate_hz=rate,
        sample_count=stream.sample_count,
        missing_samples=int(n - np.count_nonzero(np.diff(k, prepend=-1) > 0)),
        gaps_s=gaps,
        duplicate_stamps=duplicates,
        jitter_rms_s=float(np.std(residual - smooth)),
        saturated_samples=_saturated(stream.acc_mps2, 15.0) + _saturated(stream.gyr_radps, 4.0),
    )
    return UniformStream(name, rate, grid_time, acc, gyr, measured, quality)


def _moving_average(x: np.ndarray, width: int) -> np.ndarray:
    if width <= 1 or x.size < width:
        return np.full_like(x, x.mean()) if x.size < width else x
    c = np.concatenate([[0.0], np.cumsum(x)])
    out = (c[width:] - c[:-width]) / width
    pad_lo = (x.size - out.size) // 2
    return np.concatenate([np.full(pad_lo, out[0]), out, np.full(x.size - out.size - pad_lo, out[-1])])


def _fill(k: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Values on the full index grid 0..n-1, linear interpolation over missing indices; (n, 3)."""
    first = np.flatnonzero(np.diff(k, prepend=-1) > 0)  # k is non-decreasing: first sample of each index
    unique_k = k[first]
    out = np.empty((n, values.shape[1]))
    out[unique_k] = values[first]
    missing = np.ones(n, dtype=bool)
    missing[unique_k] = False
    missing_k = np.flatnonzero(missing)
    for j in range(values.shape[1]):
        out[missing_k, j] = np.interp(missing_k, unique_k, values[first, j])
    return out


def _saturated(values: np.ndarray, floor: float) -> int:
    """Samples pinned at the largest magnitude seen on an axis (>= floor), in runs of at least 3."""
    count = 0
    for axis in range(values.shape[1]):
        v = np.abs(values[:, axis])
        peak = float(v.max())
        if peak < floor:
            continue
        pinned = v >= peak * 0.999
        runs = np.convolve(pinned.astype(int), np.ones(3, dtype=int), mode="same") >= 3
        count += int((pinned & runs).sum()) if runs.any() else 0
    return count
