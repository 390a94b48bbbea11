"""Body motion as smooth kinematic channels on a fine, uniform truth grid.

Channels (all arrays of shape (n,) on the grid ``time_s = k / truth_rate_hz``):

=================  ====  =================================================================
pelvis_pitch_deg   deg   pelvis sagittal inclination relative to standing, forward positive
spine_flex_deg     deg   trunk − pelvis relative to standing (rounding positive)
hike_deg           deg   pelvis frontal tilt, left hip up positive
pelvis_yaw_deg     deg   pelvis transverse rotation relative to the heading, CCW positive
heading_deg        deg   direction the lifter faces, CCW from world x
pos_x_m, pos_y_m   m     horizontal position of the feet/hips on the floor
drop_m             m     hip-joint drop below standing height (down positive)
hip_back_m         m     hip joint pushed back behind the feet along the heading
=================  ====  =================================================================

A :class:`Timeline` is built phase by phase (``hold``, ``move``, ``walk``); every transition is a
minimum-jerk blend so that accelerations exist and are smooth, as in real movement.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CHANNELS: tuple[str, ...] = (
    "pelvis_pitch_deg", "spine_flex_deg", "hike_deg", "pelvis_yaw_deg", "heading_deg",
    "pos_x_m", "pos_y_m", "drop_m", "hip_back_m",
)


def min_jerk(tau: np.ndarray) -> np.ndarray:
    """Minimum-jerk blend 0 → 1 for ``tau`` in [0, 1] (zero velocity and acceleration at both ends)."""
    tau = np.clip(tau, 0.0, 1.0)
    return tau**3 * (10.0 - 15.0 * tau + 6.0 * tau**2)


@dataclass
class Timeline:
    """Append-only builder of the channel arrays at ``truth_rate_hz``."""

    truth_rate_hz: float
    state: dict[str, float] = field(default_factory=lambda: {c: 0.0 for c in CHANNELS})
    _chunks: dict[str, list[np.ndarray]] = field(default_factory=lambda: {c: [] for c in CHANNELS})
    sample_count: int = 0

    @property
    def now_s(self) -> float:
        return self.sample_count / self.truth_rate_hz

    def _append(self, arrays: dict[str, np.ndarray], n: int) -> None:
        for c in CHANNELS:
            values = arrays.get(c)
            self._chunks[c].append(np.full(n, self.state[c]) if values is None else values)
            if values is not None:
                self.state[c] = float(values[-1])
        self.sample_count += n

    def _samples(self, duration_s: float) -> int:
        return max(1, int(round(duration_s * self.truth_rate_hz)))

    def hold(self, duration_s: float) -> None:
        """Keep every channel constant."""
        self._append({}, self._samples(duration_s))

    def move(self, duration_s: float, **targets: float) -> None:
        """Blend the named channels from their current values to ``targets`` (minimum jerk)."""
        n = self._samples(duration_s)
        shape = min_jerk(np.arange(1, n + 1) / n)
        arrays = {c: self.state[c] + (v - self.state[c]) * shape for c, v in targets.items()}
        self._append(arrays, n)

    def add(self, duration_s: float, offsets: dict[str, np.ndarray]) -> None:
        """Append a phase where the given channels follow ``state + offsets[c]`` (offsets start near 0).

        Used for oscillations (walking, sway); each offsets array must have the phase's sample count and
        should end at 0 so the next phase starts where the state says.
        """
        n = self._samples(duration_s)
        arrays = {c: self.state[c] + np.resize(v, n) for c, v in offsets.items()}
        base = dict(self.state)
        self._append(arrays, n)
        for c in offsets:  # oscillations return to their base value
            self.state[c] = base[c]

    def walk(self, duration_s: float, *, turn_deg: float, speed_mps: float, step_hz: float,
             climb_m_per_step: float = 0.0) -> None:
        """Walk forward while turning by ``turn_deg``: gait oscillations of pelvis and trunk, hip bounce; with
        ``climb_m_per_step`` up a staircase (the hips rise step by step, the trunk leans 8° into the climb)."""
        n = self._samples(duration_s)
        t = np.arange(1, n + 1) / self.truth_rate_hz
        ramp = min_jerk(t / duration_s)
        envelope = np.sin(np.pi * np.clip(t / duration_s, 0, 1)) ** 0.5  # start and stop smoothly
        heading = self.state["heading_deg"] + turn_deg * ramp
        speed = speed_mps * envelope
        step_dt = 1.0 / self.truth_rate_hz
        x = self.state["pos_x_m"] + np.cumsum(speed * np.cos(np.radians(heading))) * step_dt
        y = self.state["pos_y_m"] + np.cumsum(speed * np.sin(np.radians(heading))) * step_dt
        stride = 2 * np.pi * (step_hz / 2) * t
        step = 2 * np.pi * step_hz * t
        arrays = {
            "heading_deg": heading,
            "pos_x_m": x,
            "pos_y_m": y,
            "pelvis_pitch_deg": self.state["pelvis_pitch_deg"] + 2.0 * envelope * np.sin(step),
            "spine_flex_deg": self.state["spine_flex_deg"] + 1.5 * envelope * np.sin(step + 0.8),
            "hike_deg": self.state["hike_deg"] + 4.0 * envelope * np.sin(stride),
            "pelvis_yaw_deg": self.state["pelvis_yaw_deg"] + 5.0 * envelope * np.sin(stride + 1.2),
            "drop_m": self.state["drop_m"] + 0.02 * envelope * (1 - np.cos(step)),
        }
        if climb_m_per_step:
            steps = step_hz * t
            arrays["drop_m"] -= climb_m_per_step * (np.floor(steps) + min_jerk(steps - np.floor(steps)))
            arrays["pelvis_pitch_deg"] += 8.0 * envelope
        returning = ("pelvis_pitch_deg", "spine_flex_deg", "hike_deg", "pelvis_yaw_deg")
        for c in returning + (() if climb_m_per_step else ("drop_m",)):  # stairs leave the hips higher
            arrays[c][-1] = self.state[c]
        self._append(arrays, n)

    def channels(self) -> dict[str, np.ndarray]:
        """The built channels, each (n,)."""
        return {c: np.concatenate(self._chunks[c]) if self._chunks[c] else np.zeros(0) for c in CHANNELS}


def smooth_noise(rng: np.random.Generator, n: int, *, rate_hz: float, cutoff_hz: float, amplitude: float) -> np.ndarray:
    """Band-limited Gaussian noise of RMS ``amplitude`` (zero-phase low-pass of white noise), shape (n,)."""
    from scipy.signal import butter, sosfiltfilt

    if n < 32:
        return np.zeros(n)
    white = rng.standard_normal(n)
    sos = butter(2, cutoff_hz, fs=rate_hz, output="sos")
    smooth = sosfiltfilt(sos, white)
    rms = float(np.sqrt(np.mean(smooth**2))) or 1.0
    return amplitude * smooth / rms
