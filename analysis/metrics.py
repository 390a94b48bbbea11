"""Per-rep metrics, movement class and flags (definitions: ``docs/report-format.md``).

Angles come from :class:`~analysis.angles.AngleSeries` (deg, relative to standing, forward positive); rep
boundaries are indices on that series' grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import overload

import numpy as np

from .angles import AngleSeries
from .errors import AnalysisError
from .hip_travel import height_change_m, vertical_drop_m
from .segmentation import RepBounds, lowpass_deg

FLAGS: tuple[str, ...] = ("back_rounding", "lean_back", "incomplete_lockout")
LEAN_WINDOW_S = 2.0  # a lean-back belongs to the lockout: at most this long after end_s
METRIC_CUTOFF_HZ = 8.0
TRAVEL_MARGIN_S = 0.5


@dataclass(frozen=True)
class Thresholds:
    """Flag thresholds, degrees (report-format.md, 'Flags')."""

    back_rounding_deg: float = 20.0
    lean_back_deg: float = 8.0
    incomplete_lockout_deg: float = 12.0

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not (isinstance(value, (int, float)) and np.isfinite(value) and 0 < value < 90):
                raise AnalysisError(f"threshold {name} must be a number of degrees between 0 and 90, got {value!r}")


@dataclass(frozen=True)
class MovementClassifier:
    """Squat vs hinge from the hips' vertical travel (squats drop the hips far more than any hinge)."""

    squat_min_hip_drop_m: float = 0.27
    trunk_lever_m: float = 0.5  # hip joint → back sensor, for back-only recordings

    def classify(self, *, hip_drop_m: float | None, back_drop_m: float | None, trunk_angle_deg: float | None) -> str:
        if hip_drop_m is not None:
            drop = hip_drop_m
        elif back_drop_m is not None and trunk_angle_deg is not None:
            # the back sensor also drops because the trunk tilts; what remains is the hips' own travel
            drop = back_drop_m - self.trunk_lever_m * (1.0 - np.cos(np.radians(trunk_angle_deg)))
        else:
            return "hinge"
        return "squat" if drop >= self.squat_min_hip_drop_m else "hinge"


@dataclass(frozen=True)
class Rep:
    """One rep's report fields (times in seconds since the recording's first sample) and its bounds."""

    index: int
    set_index: int
    partial: bool
    movement: str
    start_s: float
    bottom_s: float
    end_s: float
    trunk_angle_deg: float | None
    pelvis_angle_deg: float | None
    back_rounding_deg: float | None
    lockout_lean_back_deg: float | None
    descent_s: float
    bottom_pause_s: float
    ascent_s: float
    top_pause_s: float | None
    peak_ascent_speed_deg_s: float
    hip_drop_m: float | None
    hip_hike_deg: float | None
    pelvis_rotation_deg: float | None
    flags: tuple[str, ...]
    bounds: RepBounds


@dataclass(frozen=True)
class VerticalTravel:
    """A sensor's vertical acceleration on its own grid, to integrate per rep."""

    time_s: np.ndarray
    acc_z_mps2: np.ndarray
    sampling_rate_hz: float

    def _indices(self, start_s: float, end_s: float) -> tuple[int, int]:
        a, b = np.searchsorted(self.time_s, [start_s, end_s])
        return int(a), int(min(b, self.time_s.size - 1))

    def drop_m(self, start_s: float, end_s: float) -> float:
        """Largest drop below the starting height over a rep (same height at both ends), m."""
        a, b = self._indices(start_s, end_s)
        return vertical_drop_m(self.acc_z_mps2, sampling_rate_hz=self.sampling_rate_hz, start=a, end=b)

    def net_change_m(self, start_s: float, end_s: float) -> float:
        """Height at ``end_s`` minus height at ``start_s`` (both quiet moments), m."""
        a, b = self._indices(start_s, end_s)
        return float(height_change_m(self.acc_z_mps2, sampling_rate_hz=self.sampling_rate_hz, start=a, end=b)[-1])


def quiet_window_s(i: int, bounds: list[RepBounds], time_s: np.ndarray) -> tuple[float, float]:
    """From the quiet top before rep ``i`` to the quiet top after it: its bounds widened by up to
    ``TRAVEL_MARGIN_S`` (boundaries may sit inside the motion) but not into the neighbouring reps."""
    b = bounds[i]
    before = max(float(time_s[b.start]) - TRAVEL_MARGIN_S, float(time_s[bounds[i - 1].end]) if i else -np.inf)
    after = min(float(time_s[b.end]) + TRAVEL_MARGIN_S,
                float(time_s[bounds[i + 1].start]) if i + 1 < len(bounds) else np.inf)
    return before, after


@overload
def _smooth(x: np.ndarray, rate_hz: float) -> np.ndarray: ...
@overload
def _smooth(x: None, rate_hz: float) -> None: ...
@overload
def _smooth(x: np.ndarray | None, rate_hz: float) -> np.ndarray | None: ...
def _smooth(x: np.ndarray | None, rate_hz: float) -> np.ndarray | None:
    return None if x is None else lowpass_deg(x, rate_hz=rate_hz, cutoff_hz=METRIC_CUTOFF_HZ)


def rep_metrics(series: AngleSeries, bounds: list[RepBounds], set_of_rep: list[int], *, origin_s: float,
                thresholds: Thresholds, hip: VerticalTravel | None, back: VerticalTravel | None,
                classifier: MovementClassifier) -> list[Rep]:
    """Metrics of every rep. ``set_of_rep[i]`` is rep i's 1-based set; a rep's successor counts only
    within its set. ``origin_s`` is the recording's first-sample time."""
    rate = series.rate_hz
    t = series.time_s
    smoothed_trunk, smoothed_pelvis = _smooth(series.trunk_deg, rate), _smooth(series.pelvis_deg, rate)
    primary = _smooth(series.primary_deg, rate)
    speed = np.gradient(primary) * rate
    reps = []
    for i, b in enumerate(bounds):
        same_set_next = i + 1 < len(bounds) and set_of_rep[i + 1] == set_of_rep[i]
        next_start = bounds[i + 1].start if same_set_next else None
        lean_end = min(t.size, b.end + int(LEAN_WINDOW_S * rate) + 1)
        if i + 1 < len(bounds):
            lean_end = min(lean_end, bounds[i + 1].start)
        span = slice(b.start, b.end + 1)
        # a segment whose sensor was not recording during this rep has no values for it
        trunk = smoothed_trunk if _covers(series.trunk_deg, b.start, b.end + 1) else None
        pelvis = smoothed_pelvis if _covers(series.pelvis_deg, b.start, b.end + 1) else None
        trunk_peak = float(np.max(trunk[span])) if trunk is not None else None
        pelvis_peak = float(np.max(pelvis[span])) if pelvis is not None else None
        rounding = float(np.max(trunk[span] - pelvis[span])) if trunk is not None and pelvis is not None else None
        # trunk is not None only where series.trunk_deg is not None
        lean = max(0.0, -float(np.nanmin(np.where(np.isnan(series.trunk_deg[b.bottom:lean_end]), np.nan,  # type: ignore[index]
                                                   trunk[b.bottom:lean_end])))) if trunk is not None else None
        top_after = float(np.min(primary[b.bottom:next_start])) if next_start is not None else None
        start_s, end_s = float(t[b.start]), float(t[b.end])
        quiet_before, quiet_after = quiet_window_s(i, bounds, t)
        hip_drop = hip.drop_m(quiet_before, quiet_after) if hip is not None and pelvis is not None else None
        back_drop = back.drop_m(quiet_before, quiet_after) if back is not None and trunk is not None else None
        flags = []
        if rounding is not None and rounding >= thresholds.back_rounding_deg:
            flags.append("back_rounding")
        if lean is not None and lean >= thresholds.lean_back_deg:
            flags.append("lean_back")
        if top_after is not None and top_after > thresholds.incomplete_lockout_deg:
            flags.append("incomplete_lockout")
        if b.partial:  # cut off by the recording's start or end: not enough of it to judge
            flags = []
        hike = series.pelvis_hike_deg if pelvis is not None else None
        heading = series.pelvis_heading_deg if pelvis is not None else None
        reps.append(Rep(
            index=i + 1, set_index=set_of_rep[i], partial=b.partial,
            movement=classifier.classify(hip_drop_m=hip_drop, back_drop_m=back_drop, trunk_angle_deg=trunk_peak),
            start_s=start_s - origin_s, bottom_s=float(t[b.bottom]) - origin_s, end_s=end_s - origin_s,
            trunk_angle_deg=trunk_peak, pelvis_angle_deg=pelvis_peak, back_rounding_deg=rounding,
            lockout_lean_back_deg=lean,
            descent_s=(b.plateau[0] - b.start) / rate, bottom_pause_s=(b.plateau[1] - b.plateau[0]) / rate,
            ascent_s=(b.end - b.plateau[1]) / rate,
            top_pause_s=(next_start - b.end) / rate if next_start is not None else None,
            peak_ascent_speed_deg_s=float(max(0.0, -np.min(speed[b.bottom:b.end + 1]))),
            hip_drop_m=hip_drop,
            hip_hike_deg=_at(hike, b.bottom), pelvis_rotation_deg=_diff(heading, b.bottom, b.start),
            flags=tuple(flags), bounds=b,
        ))
    return reps


def _covers(raw: np.ndarray | None, start: int, stop: int) -> bool:
    """The raw (unsmoothed) series has real values throughout [start, stop)."""
    return raw is not None and not np.isnan(raw[start:stop]).any()


def _at(x: np.ndarray | None, i: int) -> float | None:
    return None if x is None or np.isnan(x[i]) else float(x[i])


def _diff(x: np.ndarray | None, i: int, j: int) -> float | None:
    a, b = _at(x, i), _at(x, j)
    return None if a is None or b is None else a - b
