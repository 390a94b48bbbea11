"""Streaming analysis for the live view: the offline pipeline's calibration, angles and rep rules, run
causally on samples as they arrive, in bounded memory.

Differences from the offline pipeline (``pipeline.py``), all forced by causality:

* orientation is VQF's online filter (the offline one looks ahead);
* calibration waits for ``Calibrator.min_standing_s`` of joint quiet standing; samples that arrive before it
  (up to ``BUFFER_S``) are replayed once it is found; re-mounts are not detected live;
* the forward direction is learned from where the vertical tilts during deep excursions (before the first
  one, the angle is the unsigned tilt);
* reps come from a state machine on a causal low-pass of the primary angle (trunk, else pelvis), emitted at
  lockout: when the trunk is still again near its top, after a lean-back when it comes back through
  standing, or, for an incomplete lockout, when the next rep rises ``min_prominence_deg`` above the valley.

Rep dicts use the ``hinge-report/1`` rep fields; times are seconds since the session's first sample.
``top_pause_s`` is unknown at emission and is ``None``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.signal import butter, sosfilt, sosfilt_zi

from .calibration import GRAVITY_MPS2, Calibrator
from .coaching import cue_for
from .hip_travel import height_change_m, vertical_drop_m
from .metrics import MovementClassifier, Thresholds
from .orientation import rotate_to_world, vertical_in_sensor
from .segmentation import RepSegmenter

BUFFER_S = 30.0
RATE_SAMPLES = 50          # samples needed to estimate a sensor's rate
TILT_FOR_FORWARD_DEG = 15.0
LOCKOUT_HOLD_S = 0.25      # at most this long near the top before a rep is confirmed
POSTURE_TILT_DEG = 8.0
REPLAY_WINDOW_S = 0.1
GAP_PERIODS = 4.5         # longer spacing than this between stamps is lost samples
POSTURE_HEIGHT_M = 0.1


@dataclass
class _Sensor:
    """One sensor's live state."""

    name: str
    rate_hz: float | None = None
    filter: Any = None  # a vqf.VQF (untyped) once the rate is known
    waiting: list = field(default_factory=list)          # raw batches before the rate is known
    buffer: deque = field(default_factory=deque)          # (time, acc(3), vertical(3), quat(4)) per sample
    last_loud_s: float = -np.inf                          # last time the sensor was not quiet
    quiet_acc_sum: np.ndarray = field(default_factory=lambda: np.zeros(3))
    up_s: np.ndarray | None = None
    forward_sum: np.ndarray = field(default_factory=lambda: np.zeros(3))
    angle_deg: float = float("nan")
    hike_deg: float = float("nan")
    heading_deg: float = float("nan")
    time_s: float = float("nan")
    last_sample: tuple | None = None                      # (time, acc, gyr) of the last sample filtered


@dataclass
class _Rep:
    """The rep being tracked (times in session seconds)."""

    top_deg: float
    start_s: float
    peak_deg: float = -np.inf
    peak_s: float = 0.0
    history: list = field(default_factory=list)  # (time, smoothed angle, speed) since the start
    valley_deg: float = np.inf
    valley_s: float = 0.0
    trunk_max: float = -np.inf
    pelvis_max: float = -np.inf
    rounding_max: float = -np.inf
    trunk_min_after_peak: float = np.inf
    ascent_speed_max: float = 0.0
    hike_at_bottom: float = float("nan")
    heading_at_start: float = float("nan")
    heading_at_bottom: float = float("nan")
    lockout_s: float | None = None
    leaning_back: bool = False
    lean_min_deg: float = np.inf


class LiveAnalyzer:
    """Incremental analysis of one live session (see module docstring).

    Parameters
    ----------
    sensors : the sensors feeding this session, ``("back", "hip")`` or one of them.
    thresholds : flag thresholds, as offline.
    """

    def __init__(self, *, sensors: tuple[str, ...], thresholds: Thresholds | None = None,
                 calibrator: Calibrator | None = None, segmenter: RepSegmenter | None = None,
                 classifier: MovementClassifier | None = None) -> None:
        self.thresholds = thresholds or Thresholds()
        self.calibrator = calibrator or Calibrator()
        self.segmenter = segmenter or RepSegmenter()
        self.classifier = classifier or MovementClassifier()
        self._sensors = {n: _Sensor(n) for n in sensors}
        self._primary = "back" if "back" in sensors else sensors[0]
        self._origin_s: float | None = None
        self._calibrated = False
        self._sos = None
        self._zi = None
        self._smooth_prev: float | None = None
        self._top_level = 0.0
        self._leave_s = 0.0
        self._still_leave_s = 0.0
        self._rep: _Rep | None = None
        self._reps: list[dict] = []
        self._pelvis_history: deque = deque()  # (time, pelvis angle) for posture checks

    # --- public -----------------------------------------------------------------------------------------

    def push(self, sensor: str, time_s: np.ndarray, acc_mps2: np.ndarray, gyr_radps: np.ndarray) -> list[dict]:
        """Feed samples of one sensor, (n,), (n, 3) m/s², (n, 3) rad/s; returns the reps they completed."""
        s = self._sensors[sensor]
        time_s = np.asarray(time_s, dtype=float)
        if time_s.size == 0:
            return []
        if self._origin_s is None:
            self._origin_s = float(time_s[0])
        t = time_s - self._origin_s
        if s.rate_hz is None:
            s.waiting.append((t, np.asarray(acc_mps2, float), np.asarray(gyr_radps, float)))
            times = np.concatenate([w[0] for w in s.waiting])
            if times.size < RATE_SAMPLES:
                return []
            import vqf

            # samples per second over the span: robust to samples stamped together in batches
            s.rate_hz = (times.size - 1) / float(times[-1] - times[0])
            s.filter = vqf.VQF(1.0 / s.rate_hz)
            t, acc, gyr = (np.concatenate([w[i] for w in s.waiting]) for i in range(3))
            s.waiting.clear()
        else:
            acc, gyr = np.asarray(acc_mps2, float), np.asarray(gyr_radps, float)
        quat, bias = self._orientation(s, t, acc, gyr)
        vertical = vertical_in_sensor(quat)
        loud = (np.linalg.norm(gyr - bias, axis=1) >= self.calibrator.quiet_gyr_radps) | (
            np.abs(np.linalg.norm(acc, axis=1) - GRAVITY_MPS2) >= self.calibrator.quiet_acc_mps2)
        completed: list[dict] = []
        start = 0
        while not self._calibrated and start < t.size:  # sample by sample until the standing is found
            self._quiet_batch(s, t[start:start + 1], acc[start:start + 1], loud[start:start + 1])
            self._buffer(s, t[start:start + 1], acc[start:start + 1], vertical[start:start + 1], quat[start:start + 1])
            start += 1
            if self._try_calibrate():
                completed += self._replay()
                break
        if self._calibrated and start < t.size:
            rest = slice(start, None)
            self._quiet_batch(s, t[rest], acc[rest], loud[rest])
            self._buffer(s, t[rest], acc[rest], vertical[rest], quat[rest])
            completed += self._process(s, t[rest], vertical[rest], quat[rest])
        return completed

    @staticmethod
    def _buffer(s: _Sensor, t, acc, vertical, quat) -> None:
        s.buffer.extend(zip(t.tolist(), acc, vertical, quat))
        while s.buffer and s.buffer[0][0] < t[-1] - BUFFER_S:
            s.buffer.popleft()

    @staticmethod
    def _orientation(s: _Sensor, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Online VQF over the new samples; samples lost in transit (gaps of whole periods in the stamps) are
        linearly interpolated for the filter only, so it integrates the rotation that happened meanwhile."""
        previous = s.last_sample
        times = np.concatenate([[previous[0]], t]) if previous else t
        periods = np.diff(times) * s.rate_hz
        # a few periods between stamps is batching (samples stamped together), not loss
        missing = (np.where(periods > GAP_PERIODS, np.round(periods).astype(int) - 1, 0) if previous
                   else np.zeros(0, int))
        if previous is None or not missing.any():
            out = s.filter.updateBatch(np.ascontiguousarray(gyr), np.ascontiguousarray(acc))
        else:
            acc_all = np.concatenate([[previous[1]], acc])
            gyr_all = np.concatenate([[previous[2]], gyr])
            position = np.concatenate([[0], np.cumsum(missing + 1)])  # index of each real sample, filled grid
            grid = np.arange(position[-1] + 1)
            filled_acc = np.column_stack([np.interp(grid, position, acc_all[:, k]) for k in range(3)])[1:]
            filled_gyr = np.column_stack([np.interp(grid, position, gyr_all[:, k]) for k in range(3)])[1:]
            full = s.filter.updateBatch(np.ascontiguousarray(filled_gyr), np.ascontiguousarray(filled_acc))
            real = position[1:] - 1
            out = {"quat6D": full["quat6D"][real], "bias": full["bias"][real]}
        s.last_sample = (float(t[-1]), acc[-1], gyr[-1])
        return out["quat6D"], out["bias"]

    def state(self) -> dict:
        """Current angles, rep count and last rep for the live view."""
        back, hip = self._sensors.get("back"), self._sensors.get("hip")
        status = "live" if self._calibrated else "stand still for 2 s to calibrate"
        return {
            "time_s": max((s.time_s for s in self._sensors.values() if np.isfinite(s.time_s)), default=0.0),
            "calibrated": self._calibrated,
            "status": status,
            "trunk_angle_deg": _finite(back.angle_deg) if back else None,
            "pelvis_angle_deg": _finite(hip.angle_deg) if hip else None,
            "rep_count": len(self._reps),
            "last_rep": self._reps[-1] if self._reps else None,
        }

    # --- calibration ------------------------------------------------------------------------------------

    @staticmethod
    def _quiet_batch(s: _Sensor, t: np.ndarray, acc: np.ndarray, loud: np.ndarray) -> None:
        """Track how long the sensor has been quiet and the sum of its accelerations since then."""
        if loud.any():
            last = int(np.flatnonzero(loud)[-1])
            s.last_loud_s = float(t[last])
            s.quiet_acc_sum = acc[last + 1:].sum(axis=0)
        else:
            s.quiet_acc_sum = s.quiet_acc_sum + acc.sum(axis=0)
        s.time_s = float(t[-1])

    def _standing_for_s(self) -> float:
        now = min(s.time_s for s in self._sensors.values())
        return min(now - s.last_loud_s for s in self._sensors.values())

    def _try_calibrate(self) -> bool:
        if any(s.rate_hz is None or not np.isfinite(s.time_s) for s in self._sensors.values()):
            return False
        if self._standing_for_s() < self.calibrator.min_standing_s:
            return False
        for s in self._sensors.values():
            s.up_s = s.quiet_acc_sum / np.linalg.norm(s.quiet_acc_sum)
        self._calibrated = True
        primary = self._sensors[self._primary]
        self._sos = butter(2, self.segmenter.cutoff_hz, fs=primary.rate_hz, output="sos")
        return True

    def _reanchor(self) -> None:
        """A later quiet standing close to the reference refreshes it (as offline)."""
        if self._rep is not None or self._standing_for_s() < self.calibrator.min_standing_s:
            return
        for s in self._sensors.values():
            candidate = s.quiet_acc_sum / np.linalg.norm(s.quiet_acc_sum)
            if np.degrees(np.arccos(np.clip(candidate @ s.up_s, -1, 1))) > self.calibrator.reanchor_max_deg:
                return
        for s in self._sensors.values():
            s.up_s = s.quiet_acc_sum / np.linalg.norm(s.quiet_acc_sum)

    def _replay(self) -> list[dict]:
        """Run the buffered samples through the angle stage, window by window in time across sensors."""
        items = {name: list(s.buffer) for name, s in self._sensors.items()}
        first = min(i[0][0] for i in items.values() if i)
        last = max(i[-1][0] for i in items.values() if i)
        done: list[dict] = []
        edges = np.arange(first, last + REPLAY_WINDOW_S, REPLAY_WINDOW_S)
        for a, b in zip(edges, edges[1:]):
            for name, rows in items.items():
                chunk = [r for r in rows if a <= r[0] < b]
                if chunk:
                    t = np.array([r[0] for r in chunk])
                    done += self._process(self._sensors[name], t, np.array([r[2] for r in chunk]),
                                          np.array([r[3] for r in chunk]))
        return done

    # --- angles and reps --------------------------------------------------------------------------------

    def _process(self, s: _Sensor, t: np.ndarray, vertical: np.ndarray, quat: np.ndarray) -> list[dict]:
        """Angles of a batch of one sensor's samples (vectorised); the primary sensor's drive the reps."""
        up = s.up_s
        assert up is not None, "only calibrated sensors are processed"
        along_up = vertical @ up
        tilt = np.degrees(np.arccos(np.clip(along_up, -1.0, 1.0)))
        horizontal = vertical - along_up[:, None] * up
        weight = np.where(tilt > TILT_FOR_FORWARD_DEG, tilt, 0.0)
        forward_sum = s.forward_sum + np.cumsum(horizontal * weight[:, None], axis=0)  # as it grows, sample by sample
        s.forward_sum = forward_sum[-1]
        forward = forward_sum - (forward_sum @ up)[:, None] * up
        size = np.linalg.norm(forward, axis=1)
        known = size > 1e-6
        forward = forward / np.where(known, size, 1.0)[:, None]
        hinge = np.cross(forward, up)
        m_z = np.einsum("ij,ij->i", vertical, hinge)
        signed = np.degrees(np.arctan2(
            np.einsum("ij,ij->i", vertical, forward) / np.sqrt(np.clip(1 - m_z**2, 1e-9, None)), along_up))
        angle = np.where(known, signed, tilt)  # direction not known yet: the unsigned tilt
        hike = np.where(known, np.degrees(np.arcsin(np.clip(m_z, -1, 1))), np.nan)
        world = rotate_to_world(quat, hinge)
        heading = np.where(known, np.degrees(np.arctan2(world[:, 1], world[:, 0])), np.nan)
        s.angle_deg, s.hike_deg = float(angle[-1]), float(hike[-1])
        s.heading_deg, s.time_s = float(heading[-1]), float(t[-1])
        if s.name == "hip":
            self._pelvis_history.extend(zip(t.tolist(), angle.tolist()))
            while self._pelvis_history and self._pelvis_history[0][0] < t[-1] - BUFFER_S:
                self._pelvis_history.popleft()
        if s.name != self._primary:
            return []
        if self._zi is None:
            self._zi = sosfilt_zi(self._sos) * angle[0]
        smoothed, self._zi = sosfilt(self._sos, angle, zi=self._zi)
        previous = smoothed[0] if self._smooth_prev is None else self._smooth_prev
        speed = np.diff(np.concatenate([[previous], smoothed])) * s.rate_hz
        self._smooth_prev = float(smoothed[-1])
        done: list[dict] = []
        if self._rep is None:
            self._reanchor()
        for i in range(t.size):  # the rep state machine sees the primary segment's own angle per sample
            s.angle_deg, s.hike_deg, s.heading_deg = float(angle[i]), float(hike[i]), float(heading[i])
            done += self._rep_step(float(t[i]), float(smoothed[i]), float(speed[i]))
        return done

    def _rep_step(self, t: float, p: float, speed: float) -> list[dict]:
        """One step of the rep state machine on the low-passed primary angle ``p`` (deg) and its speed."""
        seg = self.segmenter
        trunk = self._sensors.get("back")
        pelvis = self._sensors.get("hip")
        rep = self._rep
        done: list[dict] = []
        if rep is None:
            self._top_level = min(self._top_level, p)
            level = max(self._top_level, 0.0) + seg.top_tolerance_deg
            if p <= level:
                self._leave_s = t
                if abs(speed) < seg.still_speed_deg_s:
                    self._still_leave_s = t
                return done
            start = self._still_leave_s if self._leave_s - self._still_leave_s < 1.0 else self._leave_s
            rep = self._rep = _Rep(top_deg=self._top_level, start_s=start,
                                   heading_at_start=pelvis.heading_deg if pelvis else float("nan"))
        # inside a rep
        rep.history.append((t, p, speed))
        if p > rep.peak_deg:
            rep.peak_deg, rep.peak_s = p, t
            rep.valley_deg, rep.valley_s = np.inf, t
            rep.trunk_min_after_peak = np.inf
            rep.hike_at_bottom = pelvis.hike_deg if pelvis else float("nan")
            rep.heading_at_bottom = pelvis.heading_deg if pelvis else float("nan")
        if p < rep.valley_deg:
            rep.valley_deg, rep.valley_s = p, t
        if trunk is not None and np.isfinite(trunk.angle_deg):
            rep.trunk_max = max(rep.trunk_max, trunk.angle_deg)
            if t >= rep.peak_s:
                rep.trunk_min_after_peak = min(rep.trunk_min_after_peak, trunk.angle_deg)
        if pelvis is not None and np.isfinite(pelvis.angle_deg):
            rep.pelvis_max = max(rep.pelvis_max, pelvis.angle_deg)
            if trunk is not None and np.isfinite(trunk.angle_deg):
                rep.rounding_max = max(rep.rounding_max, trunk.angle_deg - pelvis.angle_deg)
        if t > rep.peak_s:
            rep.ascent_speed_max = max(rep.ascent_speed_max, -speed)
        qualified = rep.peak_deg >= seg.min_peak_deg and rep.peak_deg - rep.top_deg >= seg.min_prominence_deg
        level = max(rep.top_deg, 0.0) + seg.top_tolerance_deg
        if not qualified:
            if p <= level:  # a sway, not a rep
                self._rep, self._top_level = None, p
            return done
        # incomplete lockout: the next rep rises from a valley well above the top
        if p - rep.valley_deg >= seg.min_prominence_deg and rep.valley_deg > level:
            finished = self._finish(rep, end_s=rep.valley_s, incomplete=True)
            if finished:
                done.append(finished)
            self._rep = _Rep(top_deg=rep.valley_deg, start_s=rep.valley_s,
                             heading_at_start=pelvis.heading_deg if pelvis else float("nan"),
                             history=[h for h in rep.history if h[0] >= rep.valley_s])
            self._rep.peak_deg, self._rep.peak_s = p, t
            return done
        if rep.lockout_s is None and p <= level:
            rep.lockout_s = t
        if rep.lockout_s is not None:
            if p < -seg.lean_back_min_deg:
                rep.leaning_back = True
            if rep.leaning_back:  # back up through standing, or back up and still (online angles drift a little)
                rep.lean_min_deg = min(rep.lean_min_deg, p)
                end = p >= -seg.top_tolerance_deg / 4 or (
                    abs(speed) < seg.still_speed_deg_s and p > rep.lean_min_deg + seg.lean_back_min_deg)
            else:
                end = abs(speed) < seg.still_speed_deg_s or t - rep.lockout_s >= LOCKOUT_HOLD_S
            if end:
                finished = self._finish(rep, end_s=t, incomplete=False)
                if finished:
                    done.append(finished)
                self._rep, self._top_level = None, p
                self._leave_s = self._still_leave_s = t
        return done

    def _finish(self, rep: _Rep, *, end_s: float, incomplete: bool) -> dict | None:
        """The rep's report fields, or None when it was a posture change (sitting down, standing up)."""
        hip, back = self._sensors.get("hip"), self._sensors.get("back")
        if hip is not None and abs(self._height_change(hip, rep.start_s - 0.5, end_s)) > POSTURE_HEIGHT_M:
            # as offline (pipeline._changes_posture): the seated side has the pelvis tilted back; live, the
            # side after the candidate is only its last moments
            before = [a for tt, a in self._pelvis_history if rep.start_s - 2.0 <= tt <= rep.start_s]
            after = [a for tt, a in self._pelvis_history if end_s - 0.1 <= tt <= end_s]
            if any(side and np.median(side) < -POSTURE_TILT_DEG and np.std(side) < 2.0 for side in (before, after)):
                return None
        trunk_peak = _finite(rep.trunk_max) if back else None
        pelvis_peak = _finite(rep.pelvis_max) if hip else None
        rounding = _finite(rep.rounding_max) if back and hip else None
        lean = (max(0.0, -rep.trunk_min_after_peak) if back and np.isfinite(rep.trunk_min_after_peak)
                else (0.0 if back else None))
        hip_drop = self._drop(hip, rep.start_s - 0.5, end_s) if hip else None
        back_drop = self._drop(back, rep.start_s - 0.5, end_s) if back else None
        flags = []
        if rounding is not None and rounding >= self.thresholds.back_rounding_deg:
            flags.append("back_rounding")
        if lean is not None and lean >= self.thresholds.lean_back_deg:
            flags.append("lean_back")
        if incomplete and rep.valley_deg > self.thresholds.incomplete_lockout_deg:
            flags.append("incomplete_lockout")
        plateau_from_s, plateau_to_s = self._plateau(rep, end_s)
        record = {
            "index": len(self._reps) + 1, "set_index": 1, "partial": False,
            "movement": self.classifier.classify(hip_drop_m=hip_drop, back_drop_m=back_drop,
                                                 trunk_angle_deg=trunk_peak),
            "start_s": rep.start_s, "bottom_s": (plateau_from_s + plateau_to_s) / 2, "end_s": end_s,
            "trunk_angle_deg": trunk_peak, "pelvis_angle_deg": pelvis_peak, "back_rounding_deg": rounding,
            "lockout_lean_back_deg": lean,
            "descent_s": max(0.0, plateau_from_s - rep.start_s), "bottom_pause_s": plateau_to_s - plateau_from_s,
            "ascent_s": max(0.0, end_s - plateau_to_s), "top_pause_s": None,
            "peak_ascent_speed_deg_s": rep.ascent_speed_max,
            "hip_drop_m": hip_drop,
            "hip_hike_deg": _finite(rep.hike_at_bottom) if hip else None,
            "pelvis_rotation_deg": _finite(rep.heading_at_bottom - rep.heading_at_start) if hip else None,
            "flags": flags,
            "cues": {f: cue_for(f).cue for f in flags},
        }
        self._reps.append(record)
        return record

    def _plateau(self, rep: _Rep, end_s: float) -> tuple[float, float]:
        """Start and end of the bottom plateau, by the offline rule (``RepSegmenter._plateau``)."""
        t, p, v = (np.array(c) for c in zip(*[h for h in rep.history if h[0] <= end_s]))
        peak = int(np.argmax(p))
        plateau = self.segmenter.plateau(p, v, peak, 0, t.size - 1)
        return float(t[plateau[0]]), float(t[plateau[1]])

    def _vertical_acc(self, s: _Sensor, start_s: float, end_s: float) -> np.ndarray:
        rows = [(acc, v) for tt, acc, v, _ in s.buffer if start_s <= tt <= end_s]
        if len(rows) < 4:
            return np.zeros(0)
        acc = np.array([r[0] for r in rows])
        vertical = np.array([r[1] for r in rows])
        return np.einsum("ij,ij->i", vertical, acc) - float(np.median(np.linalg.norm(acc, axis=1)[:4]))

    def _height_change(self, s: _Sensor, start_s: float, end_s: float) -> float:
        a = self._vertical_acc(s, start_s, end_s)
        if a.size < 4:
            return 0.0
        return float(height_change_m(a - a[:4].mean(), sampling_rate_hz=s.rate_hz, start=0, end=a.size - 1)[-1])  # type: ignore[arg-type]  # rate known once buffered

    def _drop(self, s: _Sensor, start_s: float, end_s: float) -> float:
        a = self._vertical_acc(s, start_s, end_s)
        return vertical_drop_m(a, sampling_rate_hz=s.rate_hz,  # type: ignore[arg-type]  # rate known once buffered
                               start=0, end=a.size - 1) if a.size >= 4 else 0.0


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None
