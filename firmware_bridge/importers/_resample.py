"""Put separately time-stamped phone streams onto one time base, and pair two phones as back + hip."""

from __future__ import annotations

import numpy as np

from hinge.analysis.errors import RecordingError
from hinge.analysis.recording import Recording, SensorStream

MAX_GAP_S = 0.1


def unique_sorted(time_s: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort samples by time and drop repeated timestamps (the first one is kept).

    Shapes: ``time_s`` (n,), ``values`` (n, k); returns (m,), (m, k) with m <= n.
    """
    order = np.argsort(time_s, kind="stable")
    time_s, values = time_s[order], values[order]
    keep = np.ones(time_s.shape[0], dtype=bool)
    keep[1:] = np.diff(time_s) > 0
    return time_s[keep], values[keep]


def interpolate_onto(time_s: np.ndarray, source_time_s: np.ndarray, source_values: np.ndarray, *,
                     max_gap_s: float = MAX_GAP_S) -> tuple[np.ndarray, np.ndarray]:
    """Linearly interpolate ``source_values`` at ``time_s`` without bridging gaps.

    Parameters
    ----------
    time_s : (n,) float64 s, the target timestamps.
    source_time_s : (m,) float64 s, strictly increasing.
    source_values : (m, k) float64.
    max_gap_s : a target time whose bracketing source samples are further apart than this gets no value.

    Returns
    -------
    values : (n, k) float64, NaN where ``valid`` is False.
    valid : (n,) bool, True inside the source's span and not inside one of its gaps.
    """
    if source_time_s.shape[0] == 0:
        return np.full((time_s.shape[0], source_values.shape[1]), np.nan), np.zeros(time_s.shape[0], dtype=bool)
    hi = np.clip(np.searchsorted(source_time_s, time_s, side="left"), 0, source_time_s.shape[0] - 1)
    exact = source_time_s[hi] == time_s
    lo = np.maximum(hi - 1, 0)
    inside = (time_s >= source_time_s[0]) & (time_s <= source_time_s[-1])
    valid = inside & (exact | (source_time_s[hi] - source_time_s[lo] <= max_gap_s))
    values = np.column_stack([np.interp(time_s, source_time_s, source_values[:, axis])
                              for axis in range(source_values.shape[1])])
    values[~valid] = np.nan
    return values, valid


def merge_onto_accelerometer(acc_time_s: np.ndarray, acc_mps2: np.ndarray, gyr_time_s: np.ndarray,
                             gyr_radps: np.ndarray, *, max_gap_s: float = MAX_GAP_S) -> SensorStream:
    """One stream on the accelerometer's timestamps, the gyroscope linearly interpolated onto them.

    Accelerometer samples outside the gyroscope's span (the non-overlapping ends) or inside a gyroscope gap
    longer than ``max_gap_s`` are dropped; gaps in the accelerometer stay gaps (nothing is invented).

    Shapes: ``acc_time_s`` (n,), ``acc_mps2`` (n, 3) m/s², ``gyr_time_s`` (m,), ``gyr_radps`` (m, 3) rad/s.
    Raises :class:`RecordingError` when the two streams share no time.
    """
    acc_time_s, acc_mps2 = unique_sorted(acc_time_s, acc_mps2)
    gyr_time_s, gyr_radps = unique_sorted(gyr_time_s, gyr_radps)
    gyr_on_acc, valid = interpolate_onto(acc_time_s, gyr_time_s, gyr_radps, max_gap_s=max_gap_s)
    if not valid.any():
        raise RecordingError(
            f"accelerometer ({_span(acc_time_s)}) and gyroscope ({_span(gyr_time_s)}) do not overlap in time"
        )
    return SensorStream(time_s=acc_time_s[valid], acc_mps2=acc_mps2[valid], gyr_radps=gyr_on_acc[valid])


def combine_placements(back: Recording, hip: Recording) -> Recording:
    """Pair two one-sensor recordings (two phones, or a phone and a wearable) as ``back`` + ``hip``.

    Both must be stamped in Unix time (epoch seconds): they are aligned on those stamps as they are, and must
    overlap. Metadata of both is kept (``source`` names both; otherwise the ``back`` recording's wins).
    """
    streams = {}
    for name, recording in (("back", back), ("hip", hip)):
        if len(recording.sensors) != 1:
            raise RecordingError(f"the {name} recording holds {len(recording.sensors)} sensors; expected one")
        streams[name] = next(iter(recording.sensors.values()))
    start = max(float(s.time_s[0]) for s in streams.values())
    end = min(float(s.time_s[-1]) for s in streams.values())
    if start >= end:
        raise RecordingError(
            f"the back ({_span(streams['back'].time_s)}) and hip ({_span(streams['hip'].time_s)}) recordings do "
            "not overlap in time; both need absolute (Unix) timestamps"
        )
    metadata = {**hip.metadata, **back.metadata}
    if "source" in back.metadata and "source" in hip.metadata:
        metadata["source"] = f"back: {back.metadata['source']}; hip: {hip.metadata['source']}"
    return Recording(sensors=streams, metadata=metadata)


def _span(time_s: np.ndarray) -> str:
    return f"{time_s[0]:.3f}–{time_s[-1]:.3f} s" if time_s.size else "no samples"
