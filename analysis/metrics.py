"""Per-rep metrics, movement class and flags (definitions: ``docs/report-format.md``).

Angles come from :class:`~analysis.angles.AngleSeries` (deg, relative to standing, forward positive); rep
boundaries are indices on that series' grid.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
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


MOVEMENTS: tuple[str, ...] = ("hinge", "squat", "uncertain")


@dataclass(frozen=True)
class MovementClassifier:
    """Squat vs hinge per rep from evidence that holds for any sensor placement (``docs/report-format.md``).

    * Hip sensor: squats drop the hips far more than any hinge (``squat_min_hip_drop_m``); within
      ``hip_band_m`` of that line the pelvis angle decides when it is clear (squats tilt the pelvis little).
    * Back sensor alone, at an unknown height ``r`` above the hips: a trunk rotation from ``a0`` to ``a1``
      lowers it by ``r (cos a0 - cos a1)``. The drop divided by ``cos a0 - cos a1`` is the lever that would
      explain it by rotation alone: an upper-back sensor hinging gives its height (< ``back_hinge_lever_m``),
      a squat needs an impossible lever (> ``back_squat_lever_m``) because the hips themselves drop. A sensor
      that dropped while it moved back (forward travel below ``squat_max_forward_ratio`` of the drop) rode
      hips that sank and went back: a squat. In between: ``uncertain``.
    """

    squat_min_hip_drop_m: float = 0.27
    hip_band_m: float = 0.06
    squat_max_pelvis_deg: float = 30.0
    hinge_min_pelvis_deg: float = 40.0
    min_squat_drop_m: float = 0.2
    back_hinge_lever_m: float = 1.25
    back_squat_lever_m: float = 1.45
    squat_max_forward_ratio: float = 0.25

    def classify(self, *, hip_drop_m: float | None, back_drop_m: float | None, trunk_angle_deg: float | None,
                 pelvis_angle_deg: float | None = None, trunk_top_deg: float = 0.0,
                 back_forward_m: float | None = None) -> str:
        """``hinge``, ``squat`` or ``uncertain``. Drops and travel in m over the rep (top to top), angles in
        degrees relative to standing; ``trunk_top_deg`` is the trunk angle at the rep's tops."""
        if hip_drop_m is not None:
            if abs(hip_drop_m - self.squat_min_hip_drop_m) <= self.hip_band_m and pelvis_angle_deg is not None:
                if pelvis_angle_deg <= self.squat_max_pelvis_deg:
                    return "squat"
                if pelvis_angle_deg >= self.hinge_min_pelvis_deg:
                    return "hinge"
            return "squat" if hip_drop_m >= self.squat_min_hip_drop_m else "hinge"
        if back_drop_m is None or trunk_angle_deg is None:
            return "uncertain"
        if back_drop_m < self.min_squat_drop_m:
            return "hinge"
        if back_forward_m is not None and back_forward_m < self.squat_max_forward_ratio * back_drop_m:
            return "squat"
        explained = np.cos(np.radians(trunk_top_deg)) - np.cos(np.radians(trunk_angle_deg))
        lever_m = back_drop_m / max(float(explained), 1e-3)
        if lever_m >= self.back_squat_lever_m:
            return "squat"
        return "hinge" if lever_m <= self.back_hinge_lever_m else "uncertain"


def settle_movements(reps: list[Rep], *, min_decided: int = 3, agreement: float = 0.8) -> list[Rep]:
    """Per set: where at least ``min_decided`` reps are decided and ``agreement`` of them agree, the set's
    ``uncertain`` reps take that movement (a set is one exercise; the pooled evidence decides)."""
    out = list(reps)
    for set_index in {r.set_index for r in reps}:
        decided = [r.movement for r in reps if r.set_index == set_index and r.movement != "uncertain"]
        if len(decided) < min_decided:
            continue
        majority = max(sorted(set(decided)), key=decided.count)
        if decided.count(majority) >= agreement * len(decided):
            out = [replace(r, movement=majority) if r.set_index == set_index and r.movement == "uncertain" else r
                   for r in out]
    return out


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
    """A sensor's vertical (and, when known, forward) acceleration on its own grid, to integrate per rep."""

    time_s: np.ndarray
    acc_z_mps2: np.ndarray
    sampling_rate_hz: float
    acc_forward_mps2: np.ndarray | None = None

    def _indices(self, start_s: float, end_s: float) -> tuple[int, int]:
        a, b = np.searchsorted(self.time_s, [start_s, end_s])
        return int(a), int(min(b, self.time_s.size - 1))

    def drop_m(self, start_s: float, end_s: float) -> float:
        """Largest drop below the starting height over a rep (same height at both ends), m."""
        a, b = self._indices(start_s, end_s)
        return vertical_drop_m(self.acc_z_mps2, sampling_rate_hz=self.sampling_rate_hz, start=a, end=b)

    def forward_at_lowest_m(self, start_s: float, end_s: float) -> float | None:
        """Forward travel (m, along the lifter's facing) at the moment the sensor is lowest over a rep (same
        place and height at both ends); None without the forward acceleration."""
        if self.acc_forward_mps2 is None:
            return None
        a, b = self._indices(start_s, end_s)
        z = height_change_m(self.acc_z_mps2, sampling_rate_hz=self.sampling_rate_hz, start=a, end=b)
        x = height_change_m(self.acc_forward_mps2, sampling_rate_hz=self.sampling_rate_hz, start=a, end=b)
        lowest = int(np.argmin(z - np.linspace(0.0, z[-1], z.size)))
        return float((x - np.linspace(0.0, x[-1], x.size))[lowest])

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
        trunk_top = min(float(trunk[b.start]), float(trunk[b.end])) if trunk is not None else 0.0
        movement = classifier.classify(
            hip_drop_m=hip_drop, back_drop_m=back_drop, trunk_angle_deg=trunk_peak, pelvis_angle_deg=pelvis_peak,
            trunk_top_deg=trunk_top,
            back_forward_m=back.forward_at_lowest_m(quiet_before, quiet_after)
            if back is not None and back_drop is not None else None)
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
            movement=movement,
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
