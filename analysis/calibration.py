"""Sensor-to-segment calibration with no user effort: which sensor direction is the segment's upright, and
which is its hinge (medio-lateral) axis.

* Upright ``up_s``: the gravity direction in sensor axes during quiet standing (both sensors quiet for
  >= ``min_standing_s``), re-anchored on each later quiet standing close to the current reference. When the
  recording has no such standing before the first rep (real sets start within a fraction of a second of
  "record"), the upright is estimated (:meth:`Calibrator.estimate_upright`): the quiet posture the file starts
  with, checked against the tops of the rep cycles, where the sensor is highest. The most frequent still
  posture, used before, is the *bottom* of a continuous set (the sensor dwells there) and is now only the
  provisional reference that finds the hinge axis.
* Hinge axis ``hinge_s``: the principal axis of the angular rate perpendicular to the vertical while moving
  (turning about the vertical does not disturb it), made perpendicular to ``up_s``, signed so that the reps
  flex forward. Left-pointing by construction (``conventions.md``).

All vectors are unit vectors in sensor axes. Times are on the recording base.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import AnalysisError
from .filters import find_peaks, maximum_filter1d, minimum_filter1d  # SciPy's, without its import time
from .hip_travel import HEIGHT_HIGHPASS_HZ, height_m
from .orientation import Orientation, row_dot, row_norm
from .resample import UniformStream
from .segmentation import lowpass_deg

GRAVITY_MPS2 = 9.80665


@dataclass(frozen=True)
class Anchor:
    """The sensor-to-segment relation in force from ``from_s`` until the next anchor.

    ``start_s``..``end_s`` is the quiet standing that fixed ``up_s`` (equal for an estimated anchor);
    ``kind`` is ``standing``, ``estimated`` or ``remount`` (the sensor was re-clipped before it).
    """

    from_s: float
    start_s: float
    end_s: float
    up_s: np.ndarray
    hinge_s: np.ndarray
    kind: str
    handled_from_s: float | None = None  # re-mount: the sensor was off the body from here until from_s


@dataclass(frozen=True)
class SegmentCalibration:
    sensor: str
    anchors: tuple[Anchor, ...]
    gravity_mps2: float  # |acc| at rest, absorbs the accelerometer's scale error

    def _which(self, time_s: np.ndarray) -> np.ndarray:
        starts = np.array([a.from_s for a in self.anchors])
        return np.clip(np.searchsorted(starts, time_s, side="right") - 1, 0, len(self.anchors) - 1)

    def up_at(self, time_s: np.ndarray) -> np.ndarray:
        """``up_s`` in force at each time (the first anchor's before it starts), (n, 3)."""
        return np.stack([a.up_s for a in self.anchors])[self._which(time_s)]

    def hinge_at(self, time_s: np.ndarray) -> np.ndarray:
        """``hinge_s`` in force at each time, (n, 3)."""
        return np.stack([a.hinge_s for a in self.anchors])[self._which(time_s)]

    def runs(self, time_s: np.ndarray) -> list[tuple[slice, Anchor]]:
        """The anchor in force over each run of consecutive times (as :meth:`up_at`), as (index slice, anchor)."""
        which = self._which(time_s)
        cuts = [0, *(np.flatnonzero(np.diff(which)) + 1), which.size]
        return [(slice(a, b), self.anchors[which[a]]) for a, b in zip(cuts[:-1], cuts[1:])]


@dataclass(frozen=True)
class Calibration:
    segments: dict[str, SegmentCalibration]
    method: str        # "standing" or "estimated"
    confidence: float  # 0..1
    basis: str = "standing"  # standing, file_start, rep_tops or most_frequent (docs/report-format.md)


@dataclass(frozen=True)
class UprightEstimate:
    """Each sensor's estimated upright (unit, sensor axes), how sure, and what it rests on (``basis``)."""

    up_s: dict[str, np.ndarray]
    confidence: float
    basis: str


@dataclass
class _Pending:
    """An anchor before its hinge axis is known; ``epoch`` counts re-mounts."""

    from_s: float
    start_s: float
    end_s: float
    up_s: np.ndarray
    kind: str
    epoch: int
    handled_from_s: float | None = None


@dataclass(frozen=True)
class Calibrator:
    """Tuned parameters of the calibration (see module docstring)."""

    min_standing_s: float = 1.5
    quiet_gyr_radps: float = 0.12
    quiet_acc_mps2: float = 0.5
    quiet_window_s: float = 0.3
    reanchor_max_deg: float = 12.0
    standing_confirm_deg: float = 6.0
    handling_radps: float = 0.3
    body_still_radps: float = 0.1
    min_handling_s: float = 0.5
    moving_gyr_radps: float = 0.3
    first_motion_radps: float = 0.8
    min_moving_gyr_radps: float = 0.05
    sign_percentile: float = 99.5      # the hinge axis sign: this percentile of the angle forward beats its mirror
    min_moving_samples: int = 50
    top_cutoff_hz: float = 1.5         # low-pass of the reference pitch before its tops are found
    height_highpass_hz: float = HEIGHT_HIGHPASS_HZ  # drift removal of the height (and of the pitch compared to it)
    top_height_prominence_m: float = 0.08  # a top is a height maximum this prominent (hip sensor: the next) ...
    hip_top_height_prominence_m: float = 0.2
    min_cycle_s: float = 0.8           # ... at least this far from the next one
    top_prominence_deg: float = 5.0    # without height evidence, a top is a pitch minimum this prominent
    start_quiet_radps: float = 0.1     # the file starts quiet while the gyro stays below this
    min_start_quiet_s: float = 0.15
    max_start_quiet_s: float = 1.0
    start_below_top_deg: float = 5.0   # a quiet start deeper than the tops by more than this is not standing
    agree_deg: float = 3.0             # start and tops agree within this

    def calibrate(self, streams: dict[str, UniformStream], orientations: dict[str, Orientation]) -> Calibration:
        """Calibrate every sensor; ``streams`` and ``orientations`` are keyed by sensor name."""
        quiet = {n: self._quiet(streams[n], orientations[n]) for n in streams}
        first_motion_s = min(self._first_motion_s(streams[n], orientations[n]) for n in streams)
        windows = self._joint_quiet_windows(streams, quiet)
        before_motion = [w for w in windows if w[1] <= first_motion_s + 0.5]
        method, confidence, basis = "standing", 1.0, "standing"
        if before_motion:
            first = before_motion[0]
        else:
            estimate = self.estimate_upright(streams, orientations)
            # real standing later on (e.g. at the end) is better than an estimate: it must look like the upright
            later = [w for w in windows if all(
                _angle_deg(self._mean_up(streams[n], *w), estimate.up_s[n]) <= self.reanchor_max_deg for n in streams)]
            if later:
                first = later[0]
            else:
                method, confidence, basis = "estimated", estimate.confidence, estimate.basis
        if method == "standing":
            pending = self._standing_anchors(streams, orientations, windows, first)
            sway = max(self._sway_deg(streams[n], *first) for n in streams)
            confidence = float(np.clip(1.0 - sway / 5.0, 0.5, 1.0))
        else:
            pending = {n: [_Pending(float(s.time_s[0]), float(s.time_s[0]), float(s.time_s[0]), estimate.up_s[n],
                                    "estimated", 0)] for n, s in streams.items()}
        segments = {n: self._segment(n, streams[n], orientations[n], pending[n], quiet[n]) for n in streams}
        return Calibration(segments=segments, method=method, confidence=confidence, basis=basis)

    # --- the upright without a standing phase ------------------------------------------------------------

    def estimate_upright(self, streams: dict[str, UniformStream],
                         orientations: dict[str, Orientation]) -> UprightEstimate:
        """The upright of every sensor when the recording has no quiet standing before the first rep.

        The reference sensor (back, else hip) gives the *tops* of the rep cycles: of the two ends of its
        oscillation about the hinge axis, the top is where the sensor is highest (its drift-corrected height,
        :func:`~analysis.hip_travel.height_m`), so the bottom, where a continuous set dwells, cannot be taken
        for the upright. A quiet posture at the file's start that is not deeper than the tops is the standing
        the lifter started from and wins; otherwise the median top is used. The confidence says how well these
        checks agree (module docstring, ``docs/report-format.md``).
        """
        ref = "back" if "back" in streams else next(iter(streams))
        s, o = streams[ref], orientations[ref]
        rate = s.sampling_rate_hz
        vertical = o.vertical_in_sensor()
        mode_up, _ = self._estimate_up(s, o)
        hinge = self._hinge_axis(s, o, mode_up)
        pitch = lowpass_deg(sagittal_angle_deg(vertical, mode_up, hinge), rate_hz=rate, cutoff_hz=self.top_cutoff_hz)
        acc_z = np.einsum("ij,ij->i", vertical, s.acc_mps2) - self._gravity(s, self._quiet(s, o))
        height = height_m(acc_z, sampling_rate_hz=rate, highpass_hz=self.height_highpass_hz)
        distance = max(1, int(self.min_cycle_s * rate))
        # a back sensor sits above the hips: every bend lowers it. A hip sensor may rise in a hinge (behind the
        # hip joint, the pelvis tilting forward lifts it): only a squat's deep dips mark its tops
        prominence = self.top_height_prominence_m if ref == "back" else self.hip_top_height_prominence_m
        highs, _ = find_peaks(height, prominence=prominence, distance=distance)
        lows, _ = find_peaks(-height, prominence=prominence, distance=distance)
        height_known = highs.size >= 2 and lows.size >= 1
        if height_known:  # the sensor's height marks the tops
            # forward is where each cycle goes farthest from its top (the bottom, or the humps of a butt wink)
            excursions = [pitch[a:b] - pitch[a] for a, b in zip(highs[:-1], highs[1:])]
            if np.median([e[np.argmax(np.abs(e))] for e in excursions]) < 0:
                pitch = -pitch
            # the height is flat near the top (a rotation lowers the sensor by r(1 - cos)): the top posture is
            # the least forward one within the half-cycle around each height maximum
            half = np.diff(highs).min() // 2 if highs.size > 1 else distance
            tops = np.array([max(0, h - half) + int(np.argmin(pitch[max(0, h - half):h + half + 1])) for h in highs])
        else:  # too little height change (a hip sensor in hinges): one side of the pitch, unconfirmed
            tops, _ = find_peaks(-pitch, prominence=self.top_prominence_deg)
        start = self._quiet_start(s, o)
        if tops.size == 0 and start is None:
            times = {n: np.array([streams[n].time_s[0]]) for n in streams}
            return UprightEstimate({n: self._up_at(streams[n], orientations[n], times[n]) for n in streams},
                                   0.3, "most_frequent")
        top_pitch = float(np.median(pitch[tops])) if tops.size else np.inf
        if start is not None:
            start_pitch = float(np.median(pitch[start]))
            if start_pitch <= top_pitch + self.start_below_top_deg or not height_known:
                agree = height_known and abs(start_pitch - top_pitch) <= self.agree_deg or tops.size == 0
                times_s = s.time_s[start]
                return UprightEstimate({n: self._mean_up(streams[n], times_s[0], times_s[-1]) for n in streams},
                                       0.9 if agree else 0.8, "file_start")
        near = tops[np.abs(pitch[tops] - top_pitch) <= self.agree_deg]
        spread = float(np.percentile(pitch[tops], 90) - np.percentile(pitch[tops], 10))
        confidence = float(np.clip(0.9 - spread / 20.0, 0.1, 0.85))
        if start is not None or not height_known:  # a quiet start deeper than the tops, or tops unconfirmed
            confidence = min(confidence, 0.4)
        times = s.time_s[near if near.size else tops]
        return UprightEstimate({n: self._up_at(streams[n], orientations[n], times) for n in streams}, confidence,
                               "rep_tops")

    def _hinge_axis(self, s: UniformStream, o: Orientation, up_s: np.ndarray) -> np.ndarray:
        """Principal axis of the angular rate perpendicular to the vertical while moving, made perpendicular to
        ``up_s`` (unsigned)."""
        vertical = o.vertical_in_sensor()
        gyr = s.gyr_radps - o.gyr_bias_radps
        perp = gyr - np.einsum("ij,ij->i", gyr, vertical)[:, None] * vertical
        use = self._moving(perp)
        if use.sum() < 10:
            raise AnalysisError(f"sensor {s.name} shows no hinging movement (no rotation about a horizontal axis)")
        axis = np.linalg.eigh(perp[use].T @ perp[use])[1][:, -1]
        axis = axis - (axis @ up_s) * up_s
        return axis / np.linalg.norm(axis)

    def _moving(self, perp_radps: np.ndarray) -> np.ndarray:
        """Samples turning about a horizontal axis: faster than ``moving_gyr_radps``, or, in slow or shallow
        movement where too few are, the fastest tenth of them (above ``min_moving_gyr_radps``)."""
        rate = row_norm(perp_radps)
        moving = rate > self.moving_gyr_radps
        if moving.sum() >= self.min_moving_samples:
            return moving
        return rate > max(self.min_moving_gyr_radps, float(np.percentile(rate, 90)))

    def _quiet_start(self, s: UniformStream, o: Orientation) -> np.ndarray | None:
        """Indices of the quiet run the recording starts with (at least ``min_start_quiet_s``, at most
        ``max_start_quiet_s``), or None when it starts moving."""
        gyr = _turn_radps(s, o)
        loud = np.flatnonzero(_moving_max(gyr, max(1, int(0.1 * s.sampling_rate_hz))) >= self.start_quiet_radps)
        length = int(loud[0]) if loud.size else gyr.size
        if length < self.min_start_quiet_s * s.sampling_rate_hz:
            return None
        # the run's last moments already lean into the first descent (the gyro rises gradually)
        return np.arange(max(1, min(int(0.7 * length), int(self.max_start_quiet_s * s.sampling_rate_hz))))

    @staticmethod
    def _up_at(s: UniformStream, o: Orientation, times_s: np.ndarray) -> np.ndarray:
        """Mean world-up direction in sensor axes at the given moments (unit)."""
        idx = np.clip(np.searchsorted(s.time_s, times_s), 0, s.time_s.size - 1)
        mean = o.vertical_in_sensor()[idx].mean(axis=0)
        return mean / np.linalg.norm(mean)

    # --- anchors --------------------------------------------------------------------------------------

    def _standing_anchors(self, streams: dict[str, UniformStream], orientations: dict[str, Orientation],
                          windows: list[tuple[float, float]], first: tuple[float, float]) -> dict[str, list[_Pending]]:
        """The first standing window, re-anchoring on later ones, and re-mounts: a later quiet window where one
        sensor's upright moved while the other sensor confirms the lifter stands as before."""
        names = list(streams)
        anchors = {n: [_Pending(float(streams[n].time_s[0]), *first, self._mean_up(streams[n], *first), "standing", 0)]
                   for n in names}
        for window in windows:
            if window[0] <= first[0]:
                continue
            candidate = {n: self._mean_up(streams[n], *window) for n in names}
            deviation = {n: _angle_deg(candidate[n], anchors[n][-1].up_s) for n in names}
            if all(d <= self.reanchor_max_deg for d in deviation.values()):
                for n in names:
                    anchors[n].append(_Pending(window[0], *window, candidate[n], "standing", anchors[n][-1].epoch))
                continue
            moved = [n for n in names if deviation[n] > self.reanchor_max_deg]
            steady = [n for n in names if deviation[n] <= self.standing_confirm_deg]
            if len(names) == 2 and len(moved) == 1 and len(steady) == 1:
                (n,), (other,) = moved, steady
                since = anchors[n][-1].end_s
                handled = self._handling_s(streams[n], orientations[n], streams[other], orientations[other],
                                           since, window[0])
                if handled is None:  # no one handled the sensor: a posture change (sitting), not a re-mount
                    continue
                anchors[n].append(_Pending(handled[1], *window, candidate[n], "remount", anchors[n][-1].epoch + 1,
                                           handled[0]))
                anchors[other].append(_Pending(window[0], *window, candidate[other], "standing",
                                               anchors[other][-1].epoch))
            # otherwise both moved: not standing (sitting, lying, a bottom pause): no anchor
        return anchors

    def _handling_s(self, s: UniformStream, o: Orientation, other: UniformStream, other_o: Orientation,
                    since_s: float, until_s: float) -> tuple[float, float] | None:
        """When the re-clipping happened: first and last moment between ``since_s`` and ``until_s`` where this
        sensor turned while the other one was still (the lifter handled the sensor, not the body); None when
        that happened for less than ``min_handling_s``."""
        grid = np.arange(since_s, until_s, 0.02)
        if grid.size < 3:
            return None
        def rate(stream, orient):
            gyr = _turn_radps(stream, orient)
            return np.interp(grid, stream.time_s, _moving_max(gyr, max(1, int(0.25 * stream.sampling_rate_hz))))
        this_rate = rate(s, o)
        handled = (this_rate > self.handling_radps) & (rate(other, other_o) < self.body_still_radps)
        moments = np.flatnonzero(handled)
        if moments.size == 0:
            return None
        breaks = np.flatnonzero(np.diff(moments) > 25)  # the last burst, pauses under 0.5 s bridged
        first = moments[breaks[-1] + 1] if breaks.size else moments[0]
        if grid[moments[-1]] - grid[first] < self.min_handling_s:
            return None
        still = np.flatnonzero(this_rate[:first] < self.quiet_gyr_radps)  # back to when the sensor was last still
        begin = still[-1] if still.size else 0
        return float(grid[begin]), float(grid[moments[-1]])

    # --- pieces ---------------------------------------------------------------------------------------

    def _quiet(self, s: UniformStream, o: Orientation) -> np.ndarray:
        width = max(1, int(self.quiet_window_s * s.sampling_rate_hz))
        gyr = _turn_radps(s, o)
        acc_dev = np.abs(row_norm(s.acc_mps2) - GRAVITY_MPS2)
        return (_moving_max(gyr, width) < self.quiet_gyr_radps) & (_moving_max(acc_dev, width) < self.quiet_acc_mps2)

    def _first_motion_s(self, s: UniformStream, o: Orientation) -> float:
        gyr = _turn_radps(s, o)
        width = max(1, int(0.2 * s.sampling_rate_hz))
        moving = np.flatnonzero(_moving_min(gyr, width) > self.first_motion_radps)
        return float(s.time_s[moving[0]]) if moving.size else float(s.time_s[-1])

    def _joint_quiet_windows(self, streams: dict[str, UniformStream],
                             quiet: dict[str, np.ndarray]) -> list[tuple[float, float]]:
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
        gyr = _turn_radps(s, o)
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

    def _segment(self, name: str, s: UniformStream, o: Orientation, pending: list[_Pending],
                 quiet: np.ndarray) -> SegmentCalibration:
        """Hinge axis per epoch (between re-mounts) from that epoch's movement; anchors completed."""
        vertical = o.vertical_in_sensor()
        gyr = s.gyr_radps - o.gyr_bias_radps
        perp = gyr - np.einsum("ij,ij->i", gyr, vertical)[:, None] * vertical
        moving = self._moving(perp)
        epoch_starts = [p.from_s for i, p in enumerate(pending) if i == 0 or p.epoch != pending[i - 1].epoch]
        hinges: list[np.ndarray] = []
        for k, begin in enumerate(epoch_starts):
            end = epoch_starts[k + 1] if k + 1 < len(epoch_starts) else np.inf
            # the epoch's samples (times are sorted): a slice, so no copy of the whole recording's arrays
            in_epoch = slice(int(np.searchsorted(s.time_s, begin)) if k else 0, int(np.searchsorted(s.time_s, end)))
            up0 = next(p.up_s for p in pending if p.epoch == k)
            used = perp[in_epoch][moving[in_epoch]]
            if used.shape[0] >= 10:
                axis = np.linalg.eigh(used.T @ used)[1][:, -1]
            elif hinges:  # too little movement after a re-mount: carry the previous axis over
                axis = hinges[-1]
            else:
                raise AnalysisError(f"sensor {name} shows no hinging movement (no rotation about a horizontal axis)")
            axis = axis - (axis @ up0) * up0
            axis /= np.linalg.norm(axis)
            angle = sagittal_angle_deg(vertical[in_epoch], up0, axis)
            # reps flex forward, farther than anything goes back (a lean-back, sitting tilts the pelvis back)
            if -np.percentile(angle, 100 - self.sign_percentile) > np.percentile(angle, self.sign_percentile):
                axis = -axis
            hinges.append(axis)
        anchors = tuple(Anchor(p.from_s, p.start_s, p.end_s, p.up_s, hinges[p.epoch], p.kind, p.handled_from_s)
                        for p in pending)
        return SegmentCalibration(name, anchors, self._gravity(s, quiet))

    @staticmethod
    def _gravity(s: UniformStream, quiet: np.ndarray) -> float:
        if quiet.sum() < 10:
            return GRAVITY_MPS2
        return float(np.median(row_norm(s.acc_mps2[quiet])))


def sagittal_angle_deg(vertical_s: np.ndarray, up_s: np.ndarray, hinge_s: np.ndarray) -> np.ndarray:
    """Signed sagittal inclination (deg, forward positive) of a segment, (n,).

    ``vertical_s``: (n, 3) world up in sensor axes; ``up_s``: (3,) or (n, 3) the standing upright;
    ``hinge_s``: (3,) or (n, 3) the left-pointing hinge axis. Equals ``atan2(u·f, u·z)`` with ``u = R up_s``,
    ``f = normalize((R hinge_s) × z)`` (``conventions.md``), computed in sensor axes.
    """
    forward_s = np.cross(up_s, hinge_s)  # (u_s × m_s)·v_s = u·f · |m × z|
    m_z = row_dot(vertical_s, hinge_s)
    horizontal = np.sqrt(np.clip(1.0 - m_z**2, 1e-9, None))
    return np.degrees(np.arctan2(row_dot(vertical_s, forward_s) / horizontal, row_dot(vertical_s, up_s)))


def _window(time_s: np.ndarray, start_s: float, end_s: float) -> slice:
    """Index slice of the (sorted) ``time_s`` inside [start_s, end_s]."""
    return slice(int(np.searchsorted(time_s, start_s, side="left")), int(np.searchsorted(time_s, end_s, side="right")))


def _turn_radps(s: UniformStream, o: Orientation) -> np.ndarray:
    """Angular speed with the estimated gyro bias removed, (n,) rad/s."""
    return row_norm(s.gyr_radps - o.gyr_bias_radps)


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip(a @ b, -1.0, 1.0))))


def _moving_max(x: np.ndarray, width: int) -> np.ndarray:
    return maximum_filter1d(x, size=width, mode="nearest")


def _moving_min(x: np.ndarray, width: int) -> np.ndarray:
    return minimum_filter1d(x, size=width, mode="nearest")
