"""Sensor-to-segment calibration with no user effort: which sensor direction is the segment's upright, and
which is its hinge (medio-lateral) axis.

* Upright ``up_s``: the gravity direction in sensor axes during quiet standing (both sensors quiet for
  >= ``min_standing_s``), re-anchored on each later quiet standing close to the current reference. When the
  recording has no such standing before the first rep, the upright is estimated from the recording itself:
  the most frequent quasi-static posture (tops of reps, rests, walking), cross-checked between sensors.
* Hinge axis ``hinge_s``: the principal axis of the angular rate perpendicular to the vertical while moving
  (turning about the vertical does not disturb it), made perpendicular to ``up_s``, signed so that the reps
  flex forward. Left-pointing by construction (``conventions.md``).

All vectors are unit vectors in sensor axes. Times are on the recording base.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import AnalysisError
from .orientation import Orientation
from .resample import UniformStream

GRAVITY_MPS2 = 9.80665


@dataclass(frozen=True)
class Anchor:
    """A window of quiet standing that fixes ``up_s`` from ``start_s`` on (until the next anchor)."""

    start_s: float
    end_s: float
    up_s: np.ndarray
    kind: str  # "standing" or "estimated"


@dataclass(frozen=True)
class SegmentCalibration:
    sensor: str
    anchors: tuple[Anchor, ...]
    hinge_s: np.ndarray
    gravity_mps2: float  # |acc| at rest, absorbs the accelerometer's scale error

    def up_at(self, time_s: np.ndarray) -> np.ndarray:
        """``up_s`` in force at each time (the latest anchor that started before it; the first one before
        that), (n, 3)."""
        starts = np.array([a.start_s for a in self.anchors])
        which = np.clip(np.searchsorted(starts, time_s, side="right") - 1, 0, len(self.anchors) - 1)
        return np.stack([a.up_s for a in self.anchors])[which]


@dataclass(frozen=True)
class Calibration:
    segments: dict[str, SegmentCalibration]
    method: str        # "standing" or "estimated"
    confidence: float  # 0..1


@dataclass(frozen=True)
class Calibrator:
    """Tuned parameters of the calibration (see module docstring)."""

    min_standing_s: float = 1.5
    quiet_gyr_radps: float = 0.12
    quiet_acc_mps2: float = 0.5
    quiet_window_s: float = 0.3
    reanchor_max_deg: float = 12.0
    moving_gyr_radps: float = 0.3
    first_motion_radps: float = 0.8

    def calibrate(self, streams: dict[str, UniformStream], orientations: dict[str, Orientation]) -> Calibration:
        """Calibrate every sensor; ``streams`` and ``orientations`` are keyed by sensor name."""
        quiet = {n: self._quiet(streams[n], orientations[n]) for n in streams}
        first_motion_s = min(self._first_motion_s(streams[n], orientations[n]) for n in streams)
        windows = self._joint_quiet_windows(streams, quiet)
        first = [w for w in windows if w[1] <= first_motion_s + 0.5]
        segments: dict[str, SegmentCalibration] = {}
        if first:
            method, confidence = "standing", 1.0
            start_s, end_s = first[0]
            for n, s in streams.items():
                up = self._mean_up(s, start_s, end_s)
                anchors = [Anchor(start_s, end_s, up, "standing")]
                for w_start, w_end in windows[1:]:
                    candidate = self._mean_up(s, w_start, w_end)
                    if _angle_deg(candidate, anchors[-1].up_s) <= self.reanchor_max_deg:
                        anchors.append(Anchor(w_start, w_end, candidate, "standing"))
                segments[n] = self._segment(n, s, orientations[n], tuple(anchors), quiet[n])
            sway = [self._sway_deg(streams[n], start_s, end_s) for n in streams]
            confidence = float(np.clip(1.0 - max(sway) / 5.0, 0.5, 1.0))
        else:
            method = "estimated"
            scores = []
            for n, s in streams.items():
                up, share = self._estimate_up(s, orientations[n])
                scores.append(share)
                anchor = Anchor(float(s.time_s[0]), float(s.time_s[0]), up, "estimated")
                segments[n] = self._segment(n, s, orientations[n], (anchor,), quiet[n])
            confidence = float(np.clip(min(scores), 0.0, 0.9))
        return Calibration(segments=segments, method=method, confidence=confidence)

    # --- pieces ---------------------------------------------------------------------------------------

    def _quiet(self, s: UniformStream, o: Orientation) -> np.ndarray:
        width = max(1, int(self.quiet_window_s * s.sampling_rate_hz))
        gyr = np.linalg.norm(s.gyr_radps - o.gyr_bias_radps, axis=1)
        acc_dev = np.abs(np.linalg.norm(s.acc_mps2, axis=1) - GRAVITY_MPS2)
        return (_moving_max(gyr, width) < self.quiet_gyr_radps) & (_moving_max(acc_dev, width) < self.quiet_acc_mps2)

    def _first_motion_s(self, s: UniformStream, o: Orientation) -> float:
        gyr = np.linalg.norm(s.gyr_radps - o.gyr_bias_radps, axis=1)
        width = max(1, int(0.2 * s.sampling_rate_hz))
        moving = np.flatnonzero(_moving_min(gyr, width) > self.first_motion_radps)
        return float(s.time_s[moving[0]]) if moving.size else float(s.time_s[-1])

    def _joint_quiet_windows(self, streams: dict[str, UniformStream], quiet: dict[str, np.ndarray]) -> list[tuple[float, float]]:
        """Windows (start_s, end_s) where every sensor is quiet for >= min_standing_s."""
        grid = np.arange(max(s.time_s[0] for s in streams.values()), min(s.time_s[-1] for s in streams.values()), 0.02)
        if grid.size == 0:
            raise AnalysisError("the back and hip sensors do not overlap in time")
        both = np.ones(grid.size, dtype=bool)
        for n, s in streams.items():
            both &= np.interp(grid, s.time_s, quiet[n].astype(float)) > 0.5
        edges = np.flatnonzero(np.diff(np.concatenate([[0], both.astype(int), [0]])))
        return [(float(grid[a]), float(grid[b - 1])) for a, b in zip(edges[::2], edges[1::2])
                if grid[b - 1] - grid[a] >= self.min_standing_s]

    @staticmethod
    def _mean_up(s: UniformStream, start_s: float, end_s: float) -> np.ndarray:
        mean = s.acc_mps2[_window(s.time_s, start_s, end_s)].mean(axis=0)
        return mean / np.linalg.norm(mean)

    @staticmethod
    def _sway_deg(s: UniformStream, start_s: float, end_s: float) -> float:
        acc = s.acc_mps2[_window(s.time_s, start_s, end_s)]
        unit = acc / np.linalg.norm(acc, axis=1, keepdims=True)
        mean = unit.mean(axis=0)
        return float(np.degrees(np.arccos(np.clip(unit @ (mean / np.linalg.norm(mean)), -1, 1))).std())

    def _estimate_up(self, s: UniformStream, o: Orientation) -> tuple[np.ndarray, float]:
        """The most frequent quasi-static gravity direction (the upright posture) and the share of time in it."""
        vertical = o.vertical_in_sensor()
        gyr = np.linalg.norm(s.gyr_radps - o.gyr_bias_radps, axis=1)
        slow = vertical[_moving_max(gyr, max(1, int(0.2 * s.sampling_rate_hz))) < 0.6]
        if slow.shape[0] < 10:
            raise AnalysisError(f"sensor {s.name} never holds still; cannot find the upright posture")
        sample = slow[np.linspace(0, slow.shape[0] - 1, min(1500, slow.shape[0])).astype(int)]
        cos_limit = np.cos(np.radians(8.0))
        counts = (sample @ sample.T > cos_limit).sum(axis=1)
        best = sample[np.argmax(counts)]
        for _ in range(3):  # refine: mean of the neighbours
            near = sample[sample @ best > cos_limit]
            best = near.mean(axis=0) / np.linalg.norm(near.mean(axis=0))
        return best, float(counts.max() / sample.shape[0])

    def _segment(self, name: str, s: UniformStream, o: Orientation, anchors: tuple[Anchor, ...],
                 quiet: np.ndarray) -> SegmentCalibration:
        vertical = o.vertical_in_sensor()
        gyr = s.gyr_radps - o.gyr_bias_radps
        perp = gyr - np.einsum("ij,ij->i", gyr, vertical)[:, None] * vertical
        moving = np.linalg.norm(perp, axis=1) > self.moving_gyr_radps
        up0 = anchors[0].up_s
        if moving.sum() < 10:
            raise AnalysisError(f"sensor {name} shows no hinging movement (no rotation about a horizontal axis)")
        cov = perp[moving].T @ perp[moving]
        axis = np.linalg.eigh(cov)[1][:, -1]
        axis = axis - (axis @ up0) * up0
        axis /= np.linalg.norm(axis)
        calibration = SegmentCalibration(name, anchors, axis, self._gravity(s, quiet))
        angle = sagittal_angle_deg(vertical, calibration.up_at(s.time_s), axis)
        large = np.abs(angle) > 15.0
        if large.any() and angle[large].sum() < 0:  # reps flex forward: flip the axis
            calibration = SegmentCalibration(name, anchors, -axis, calibration.gravity_mps2)
        return calibration

    @staticmethod
    def _gravity(s: UniformStream, quiet: np.ndarray) -> float:
        if quiet.sum() < 10:
            return GRAVITY_MPS2
        return float(np.median(np.linalg.norm(s.acc_mps2[quiet], axis=1)))


def sagittal_angle_deg(vertical_s: np.ndarray, up_s: np.ndarray, hinge_s: np.ndarray) -> np.ndarray:
    """Signed sagittal inclination (deg, forward positive) of a segment, (n,).

    ``vertical_s``: (n, 3) world up in sensor axes; ``up_s``: (3,) or (n, 3) the standing upright;
    ``hinge_s``: (3,) the left-pointing hinge axis. Equals ``atan2(u·f, u·z)`` with ``u = R up_s``,
    ``f = normalize((R hinge_s) × z)`` (``conventions.md``), computed in sensor axes.
    """
    forward_s = np.cross(up_s, hinge_s)  # (u_s × m_s)·v_s = u·f · |m × z|
    m_z = vertical_s @ hinge_s
    horizontal = np.sqrt(np.clip(1.0 - m_z**2, 1e-9, None))
    along = np.einsum("ij,ij->i", vertical_s, np.broadcast_to(forward_s, vertical_s.shape)) / horizontal
    up = np.einsum("ij,ij->i", vertical_s, np.broadcast_to(up_s, vertical_s.shape))
    return np.degrees(np.arctan2(along, up))


def _window(time_s: np.ndarray, start_s: float, end_s: float) -> slice:
    """Index slice of the (sorted) ``time_s`` inside [start_s, end_s]."""
    return slice(int(np.searchsorted(time_s, start_s, side="left")), int(np.searchsorted(time_s, end_s, side="right")))


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip(a @ b, -1.0, 1.0))))


def _moving_max(x: np.ndarray, width: int) -> np.ndarray:
    from scipy.ndimage import maximum_filter1d

    return maximum_filter1d(x, size=width, mode="nearest")


def _moving_min(x: np.ndarray, width: int) -> np.ndarray:
    from scipy.ndimage import minimum_filter1d

    return minimum_filter1d(x, size=width, mode="nearest")
