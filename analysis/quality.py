"""Data-quality warnings for the report (gaps, dropped samples, saturation, clock jitter, low rate)."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import AnalysisError
from .resample import StreamQuality

LOW_RATE_HZ = 40.0
MIN_USABLE_RATE_HZ = 10.0  # below this a rep (1–3 s) is a handful of samples: the recording is refused
JITTER_WARN_PERIODS = 0.2
GAP_WARN_S = 0.1
DROPPED_WARN_FRACTION = 0.005
DUPLICATE_WARN_FRACTION = 0.05


@dataclass(frozen=True)
class QualityWarning:
    code: str
    message: str
    sensor: str | None = None
    time_s: float | None = None


def stream_warnings(sensor: str, q: StreamQuality, *, origin_s: float) -> list[QualityWarning]:
    """Warnings about one sensor's stream; times relative to ``origin_s`` (the recording's first sample)."""
    out: list[QualityWarning] = []
    gaps = [(t - origin_s, d) for t, d in q.gaps_s if d >= GAP_WARN_S]
    if gaps:
        longest = max(gaps, key=lambda g: g[1])
        out.append(QualityWarning("gap", f"{sensor}: {len(gaps)} gap(s) in the data, the longest {longest[1]:.2f} s at "
                                   f"{longest[0]:.1f} s; angles inside gaps are interpolated", sensor, longest[0]))
    expected = q.sample_count + q.missing_samples
    if q.missing_samples and q.missing_samples / expected >= DROPPED_WARN_FRACTION:
        out.append(QualityWarning("dropped_samples", f"{sensor}: {q.missing_samples} samples "
                                               f"({100 * q.missing_samples / expected:.1f}%) were lost", sensor))
    if q.saturated_samples:
        out.append(QualityWarning("saturation", f"{sensor}: {q.saturated_samples} sample values sit at the sensor's "
                                          "full-scale limit; raise its range for fast lifts", sensor))
    if q.jitter_rms_s * q.sampling_rate_hz >= JITTER_WARN_PERIODS:
        out.append(QualityWarning("clock_jitter", f"{sensor}: timestamps jitter by {1000 * q.jitter_rms_s:.1f} ms RMS "
                                            f"({q.jitter_rms_s * q.sampling_rate_hz:.2f} sample periods)", sensor))
    if q.duplicate_stamps / max(1, q.sample_count) >= DUPLICATE_WARN_FRACTION:
        out.append(QualityWarning("duplicate_timestamps", f"{sensor}: {q.duplicate_stamps} samples repeat the previous "
                                                    "timestamp (batched arrival); spread one period apart", sensor))
    if q.sampling_rate_hz < LOW_RATE_HZ:
        out.append(QualityWarning("low_rate", f"{sensor}: {q.sampling_rate_hz:.0f} Hz is a low rate; fast reps such as "
                                        f"swings are measured less precisely below {LOW_RATE_HZ:.0f} Hz", sensor))
    return out


def require_usable_rate(sensor: str, q: StreamQuality) -> None:
    """Raise :class:`AnalysisError` (one line) when ``sensor`` samples below ``MIN_USABLE_RATE_HZ``."""
    if q.sampling_rate_hz < MIN_USABLE_RATE_HZ:
        raise AnalysisError(f"sensor {sensor} samples at {q.sampling_rate_hz:.1f} Hz; at least "
                            f"{MIN_USABLE_RATE_HZ:.0f} Hz is needed to follow a rep (record at 25 Hz or more)")
