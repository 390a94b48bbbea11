"""Rep segmentation on the primary sagittal angle (trunk, or pelvis without a back sensor).

A rep is a peak of the zero-phase low-passed angle that is deep (``min_peak_deg``) and prominent
(``min_prominence_deg``) against the tops on both sides: walking, turning, fidgeting and sway are a few
degrees and never qualify; pauses and bumps inside a rep do not make a second peak because prominence acts
as hysteresis. Boundaries, on the common grid (indices, half-open where ranges are used):

* ``start``: the trunk leaves its top: the last moment before the descent crosses ``top + tolerance``,
  walked back to where the angular speed falls below ``still_speed_deg_s``;
* ``bottom``: the peak, or the middle of the plateau around it;
* ``end``: first moment back at the top (the same rule forwards); after a lean-back past standing, the moment
  the trunk comes back up through standing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .filters import butter, find_peaks, sosfiltfilt  # SciPy's, without its import time


@dataclass(frozen=True)
class RepBounds:
    """Sample indices on the common grid; ``plateau`` is the inclusive index range of the bottom plateau."""

    start: int
    bottom: int
    end: int
    plateau: tuple[int, int]
    partial: bool


@dataclass(frozen=True)
class RepSegmenter:
    """Tuned parameters of rep segmentation (module docstring)."""

    cutoff_hz: float = 3.0
    min_peak_deg: float = 20.0
    min_prominence_deg: float = 15.0
    top_tolerance_deg: float = 2.0
    still_speed_deg_s: float = 4.0
    lean_back_min_deg: float = 3.0
    lean_back_window_s: float = 2.0
    plateau_tolerance_deg: float = 1.5
    plateau_speed_fraction: float = 0.03

    def smooth(self, angle_deg: np.ndarray, *, rate_hz: float) -> np.ndarray:
        """Zero-phase low-pass of an angle series at ``cutoff_hz`` (see :func:`lowpass_deg`), (n,)."""
        return lowpass_deg(angle_deg, rate_hz=rate_hz, cutoff_hz=self.cutoff_hz)

    def segment(self, angle_deg: np.ndarray, *, rate_hz: float) -> list[RepBounds]:
        """Reps in a sagittal angle series (deg, forward positive, sampled at ``rate_hz``)."""
        smooth = self.smooth(angle_deg, rate_hz=rate_hz)
        speed = np.gradient(smooth) * rate_hz
        peaks, _ = find_peaks(smooth, height=self.min_peak_deg, prominence=self.min_prominence_deg)
        reps = []
        for i, peak in enumerate(peaks):
            left_limit = peaks[i - 1] if i else 0
            right_limit = peaks[i + 1] if i + 1 < peaks.size else smooth.size - 1
            left_top = left_limit + int(np.argmin(smooth[left_limit:peak + 1]))
            right_top = peak + int(np.argmin(smooth[peak:right_limit + 1]))
            start = self._start(smooth, speed, left_top, peak)
            end = self._end(smooth, speed, peak, right_top, right_limit, rate_hz=rate_hz)
            plateau = self.plateau(smooth, speed, peak, start, end)
            partial = (smooth[left_top] > self.min_peak_deg / 2 and left_top == left_limit == 0) or (
                smooth[right_top] > self.min_peak_deg / 2 and right_top == right_limit == smooth.size - 1)
            reps.append(RepBounds(start, (plateau[0] + plateau[1]) // 2, end, plateau, bool(partial)))
        return reps

    def _start(self, smooth, speed, top: int, peak: int) -> int:
        level = max(smooth[top], 0.0) + self.top_tolerance_deg  # a lean-back or walking dip is not the top
        above = np.flatnonzero(smooth[top:peak + 1] <= level)
        crossing = top + int(above[-1]) if above.size else top
        still = np.flatnonzero(np.abs(speed[top:crossing + 1]) < self.still_speed_deg_s)
        return top + int(still[-1]) if still.size else crossing

    def _end(self, smooth, speed, peak: int, top: int, limit: int, *, rate_hz: float) -> int:
        """``top``: lowest point before the next peak; ``limit``: the next peak (or the series' end)."""
        level = max(smooth[top], 0.0) + self.top_tolerance_deg
        below = np.flatnonzero(smooth[peak:top + 1] <= level)
        crossing = peak + int(below[0]) if below.size else top
        # a lean-back is the dip right after the lockout, not a later one (walking, sitting down)
        dip_end = min(limit, crossing + int(self.lean_back_window_s * rate_hz))
        dip = crossing + int(np.argmin(smooth[crossing:dip_end + 1]))
        if smooth[dip] < -self.lean_back_min_deg:  # back up through standing after the dip
            after = np.flatnonzero(smooth[dip:limit + 1] >= -self.top_tolerance_deg / 4)
            return dip + int(after[0]) if after.size else dip
        still = np.flatnonzero(np.abs(speed[crossing:top + 1]) < self.still_speed_deg_s)
        return crossing + int(still[0]) if still.size else crossing

    def plateau(self, smooth, speed, peak: int, start: int, end: int) -> tuple[int, int]:
        """Inclusive range around ``peak`` within ``plateau_tolerance_deg`` of it and slower than
        ``plateau_speed_fraction`` of that side's peak speed (so a slow approach is not taken for a pause)."""
        level = smooth[peak] - self.plateau_tolerance_deg  # compared within this rep only: linear in its length
        down_limit = self.plateau_speed_fraction * max(float(speed[start:peak + 1].max()), 1e-6)
        up_limit = self.plateau_speed_fraction * max(float(-speed[peak:end + 1].min()), 1e-6)
        before = ~((smooth[start:peak + 1] >= level) & (speed[start:peak + 1] < down_limit))
        after = ~((smooth[peak:end + 1] >= level) & (-speed[peak:end + 1] < up_limit))
        lo = start + int(np.flatnonzero(before)[-1]) + 1 if before.any() else start
        hi = peak + int(np.flatnonzero(after)[0]) - 1 if after.any() else end
        return min(lo, peak), max(hi, peak)


def lowpass_deg(angle_deg: np.ndarray, *, rate_hz: float, cutoff_hz: float) -> np.ndarray:
    """Zero-phase 2nd-order Butterworth low-pass of an angle series sampled at ``rate_hz``, (n,). NaNs are
    bridged by linear interpolation first (an all-NaN series becomes zeros); a series too short to filter, or a
    cutoff at or above Nyquist, is returned bridged but unfiltered."""
    bad = np.isnan(angle_deg)
    if bad.all():
        filled = np.zeros_like(angle_deg)
    elif bad.any():
        idx = np.arange(angle_deg.size)
        filled = np.interp(idx, idx[~bad], angle_deg[~bad])
    else:
        filled = angle_deg
    if filled.size <= 15 or cutoff_hz >= rate_hz / 2:
        return filled
    return sosfiltfilt(butter(2, cutoff_hz, fs=rate_hz, output="sos"), filled)
