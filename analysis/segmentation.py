"""Rep segmentation on the primary sagittal angle (trunk, or pelvis without a back sensor).

A rep is an excursion of the zero-phase low-passed angle away from the tops on both sides of it, with a
prominence scaled to the recording's own reps (``min_prominence_fraction`` of its deepest excursions, never
below ``min_excursion_deg``): a rep need not return to standing (a lumbar sensor may stay 10–35° forward
between back-to-back reps), and a wrong upright shifts the angles without changing the count. Walking,
turning, fidgeting and sway are a few degrees and never qualify; pauses and bumps inside a rep do not make a
second peak because prominence acts as hysteresis. With the sensor's height (``height_m``, the same grid),
one height dip is one rep: tilt humps inside one dip (a "butt wink") merge. Boundaries, on the common grid
(indices, half-open where ranges are used):

* ``start``: the trunk leaves its top: the last moment before the descent crosses ``top + tolerance``,
  walked back to where the angular speed falls below ``still_fraction`` of the rep's own peak speed (and
  below ``still_speed_deg_s``), so slow descents start where they start;
* ``bottom``: the peak, or the middle of the plateau around it;
* ``end``: first moment back at the top (the same rule forwards); after a lean-back past standing, the moment
  the trunk comes back up through standing.

Causal mode (:meth:`RepSegmenter.final_count`, used by ``live.py``): the same rules on the samples seen so
far; a rep is final, never to be revised, ``final_after_s`` after its end once the next descent is certain
(:meth:`RepSegmenter.descent_start`, which stands for the next rep's start until it is one, so an incomplete
lockout is known) or the trunk held a complete lockout meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

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
    final_after_s: float = 2.0             # causal mode: a rep is final no sooner than this after its end
    min_excursion_deg: float = 7.0        # no rep is shallower than this against its neighbouring tops
    confirm_excursion_deg: float = 15.0   # a rep shallower than this needs a height dip to count ...
    max_shallow_rep_s: float = 8.0         # ... and, like a rep found by its height dip alone, to last at most
                                          # this long (a car's braking and turning tilt for longer)
    max_stepping_share: float = 0.25      # ... and no more than this share of it spent stepping:
    step_band_hz: tuple[float, float] = (1.3, 3.0)  # step impacts of walking and stair climbing ...
    step_acc_mps2: float = 1.0            # ... above this RMS ...
    step_dominance: float = 1.5           # ... and this many times the slower motion's RMS
    step_rate_hz: float = 25.0            # stepping is judged on block means at about this rate
    min_prominence_fraction: float = 0.35  # ... nor shallower than this share of the recording's deep reps
    deep_percentile: float = 90.0          # "deep reps": this percentile of the candidates' prominences
    min_height_dip_m: float = 0.08         # the height channel is used when the reps' dips are at least this deep
    min_rep_height_dip_m: float = 0.15     # ... and counts reps on its own when its deep dips are this deep
    min_rep_s: float = 0.6                 # height dips closer than this are one; no rep is shorter
    dip_only_fraction: float = 0.6        # a dip without a tilt peak is a rep when this deep (share of deep dips)
    merge_rise_fraction: float = 0.3       # a tilt peak joins a dip unless the height rises this share of it between
    max_hump_s: float = 2.0                # ... and is at most this far from its lowest point
    wink_deg: float = 3.0                 # a tilt this far below its peak at the height's lowest point is a wink
    top_zone_fraction: float = 0.25        # a tilt peak this close to its height top (share of the dip) is no rep
    edge_partial_fraction: float = 0.25   # a rep whose series starts/ends this far down its excursion is partial
    top_tolerance_deg: float = 2.0
    still_speed_deg_s: float = 4.0
    still_fraction: float = 0.05
    lean_back_min_deg: float = 3.0
    lean_back_window_s: float = 2.0
    plateau_tolerance_deg: float = 1.5
    plateau_speed_fraction: float = 0.03

    def smooth(self, angle_deg: np.ndarray, *, rate_hz: float) -> np.ndarray:
        """Zero-phase low-pass of an angle series at ``cutoff_hz`` (see :func:`lowpass_deg`), (n,)."""
        return lowpass_deg(angle_deg, rate_hz=rate_hz, cutoff_hz=self.cutoff_hz)

    def rep_peaks(self, smooth: np.ndarray, *, rate_hz: float, height_m: np.ndarray | None = None,
                  height_valid: np.ndarray | None = None,
                  ) -> tuple[list[np.ndarray], list[tuple[int, int, int]], np.ndarray]:
        """Each rep's tilt peaks (indices into ``smooth``; several when humps merged), in time order.

        Tilt peaks qualify by their prominence (module docstring). With an informative height
        (:meth:`height_dips`) one height dip is one rep: the tilt peaks in its bottom zone (below
        ``1 - top_zone_fraction`` of the way up to its tops) merge into it; a dip without one is still a rep
        when the tilt moves at least as much as a rep's excursion across it (its bottom is then the height's
        lowest point); a tilt peak where the sensor is at the top of its height cycle is not a rep.
        ``height_valid`` (bool) marks where the height was measured (elsewhere it is bridged and judges
        nothing). Also returns the height-only reps as (top, dip, next top) index triples, and the height dips."""
        candidates, props = find_peaks(smooth, prominence=self.min_excursion_deg)
        if candidates.size == 0:
            return [], [], np.zeros(0, dtype=int)
        deep = float(np.percentile(props["prominences"], self.deep_percentile))
        min_excursion = max(self.min_excursion_deg, self.min_prominence_fraction * deep)
        kept = candidates[props["prominences"] >= min_excursion]
        if height_m is None:
            return [np.array([k]) for k in kept], [], np.zeros(0, dtype=int)
        valid = np.ones(height_m.size, dtype=bool) if height_valid is None else height_valid
        dips, tops = self.height_dips(height_m, rate_hz=rate_hz, valid=valid)
        if dips.size == 0:
            return [np.array([k]) for k in kept], [], dips
        depths = np.minimum(height_m[tops[:-1]], height_m[tops[1:]]) - height_m[dips]
        deep_dip = float(np.percentile(depths, self.deep_percentile))
        groups, claimed = [], np.zeros(kept.size, dtype=bool)
        height_only: list[tuple[int, int, int]] = []
        for d, dip in enumerate(dips):
            a, b = tops[d], tops[d + 1]
            level = height_m[dip] + (1.0 - self.top_zone_fraction) * (min(height_m[a], height_m[b]) - height_m[dip])
            in_window = (kept > a) & (kept < b) & valid[kept]
            claimed |= in_window & (height_m[kept] >= level)  # at the top of the height cycle: no rep
            depth = min(height_m[a], height_m[b]) - height_m[dip]
            same_dip = in_window & (height_m[kept] < level) & (np.abs(kept - dip) <= self.max_hump_s * rate_hz)
            for i in np.flatnonzero(same_dip):
                same_dip[i] = self._rise_m(height_m, int(kept[i]), int(dip)) < self.merge_rise_fraction * depth
            claimed |= same_dip
            inside = kept[same_dip]
            if inside.size:
                groups.append(inside)
            elif not (in_window & (height_m[kept] < level)).any() and depth >= self.dip_only_fraction * deep_dip \
                    and a > 0 and b < height_m.size - 1 and valid[a:b + 1].all() \
                    and np.ptp(smooth[_zone(height_m, dip, level)]) >= min_excursion:  # a whole cycle, measured
                groups.append(np.array([dip]))
                height_only.append((int(a), int(dip), int(b)))
        groups += [np.array([k]) for k in kept[~claimed]]  # outside every height cycle (before, after)
        return sorted(groups, key=lambda g: int(g[0])), height_only, dips

    @staticmethod
    def _rise_m(height_m: np.ndarray, i: int, j: int) -> float:
        """How far the height rises between samples ``i`` and ``j`` above the higher of the two, m."""
        a, b = min(i, j), max(i, j)
        return float(height_m[a:b + 1].max() - max(height_m[a], height_m[b]))

    def height_dips(self, height_m: np.ndarray, *, rate_hz: float,
                    valid: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Deep dips of the sensor's height (indices) and the tops around them (one more than the dips: the
        highest point before, between and after them); empty when the height is not informative (its deep
        dips shallower than ``min_rep_height_dip_m``)."""
        none = np.zeros(0, dtype=int), np.zeros(0, dtype=int)
        dips, props = find_peaks(-height_m, prominence=self.min_height_dip_m,
                                 distance=max(1, int(self.min_rep_s * rate_hz)))
        if dips.size == 0:
            return none
        deep = float(np.percentile(props["prominences"], self.deep_percentile))
        if deep < self.min_rep_height_dip_m:
            return none
        dips = dips[props["prominences"] >= max(self.min_height_dip_m, self.min_prominence_fraction * deep)]
        if valid is not None:  # a dip where the height was bridged is no evidence
            dips = dips[valid[dips]]
        if dips.size == 0:
            return none
        edges = np.concatenate([[0], dips, [height_m.size - 1]])
        tops = np.array([a + int(np.argmax(height_m[a:b + 1])) for a, b in zip(edges[:-1], edges[1:])])
        return dips, tops

    def segment(self, angle_deg: np.ndarray, *, rate_hz: float, height_m: np.ndarray | None = None,
                stepping: np.ndarray | None = None) -> list[RepBounds]:
        """Reps in a sagittal angle series (deg, forward positive, sampled at ``rate_hz``); ``height_m`` is the
        segmenting sensor's height and ``stepping`` (bool) where the lifter walks, on the same grid, when
        known."""
        smooth = self.smooth(angle_deg, rate_hz=rate_hz)
        speed = np.gradient(smooth) * rate_hz
        valid = None
        if height_m is not None:  # NaN where the sensor did not record: bridged, and marked
            valid = ~np.isnan(height_m)
            if not valid.any():
                height_m, valid = None, None
            elif not valid.all():
                index = np.arange(height_m.size)
                height_m = np.interp(index, index[valid], height_m[valid])
        groups, height_only, dips = self.rep_peaks(smooth, rate_hz=rate_hz, height_m=height_m, height_valid=valid)
        by_dip = {dip: (top, next_top) for top, dip, next_top in height_only}
        reps = []
        for i, group in enumerate(groups):
            if height_m is not None and group.size == 1 and int(group[0]) in by_dip:
                top, next_top = by_dip[int(group[0])]
                rep = self._height_rep(height_m, top, int(group[0]), next_top)
                brief = rep.end - rep.start <= self.max_shallow_rep_s * rate_hz
                if brief and (stepping is None or stepping[rep.start:rep.end + 1].mean() <= self.max_stepping_share):
                    reps.append(rep)
                continue
            peak = int(group[np.argmax(smooth[group])])
            left_limit = int(groups[i - 1][-1]) if i else 0
            right_limit = int(groups[i + 1][0]) if i + 1 < len(groups) else smooth.size - 1
            left_top = left_limit + int(np.argmin(smooth[left_limit:group[0] + 1]))
            right_top = int(group[-1]) + int(np.argmin(smooth[group[-1]:right_limit + 1]))
            start = self._start(smooth, speed, left_top, int(group[0]))
            end = self._end(smooth, speed, int(group[-1]), right_top, right_limit, rate_hz=rate_hz)
            plateau = self.plateau(smooth, speed, peak, start, end)
            inside = dips[(dips >= start) & (dips <= end)]
            if group.size > 1:  # merged humps: the bottom is the tuck between them (the tilt's low)
                lowest = int(group[0]) + int(np.argmin(smooth[group[0]:group[-1] + 1]))
                plateau = (lowest, lowest)
            elif inside.size == 1 and smooth[inside[0]] < smooth[peak] - self.wink_deg:
                # the tilt dips where the sensor is lowest (a wink whose second hump is small): the tuck's low
                a, b = max(start, inside[0] - int(0.5 * rate_hz)), min(end, inside[0] + int(0.5 * rate_hz))
                lowest = a + int(np.argmin(smooth[a:b + 1]))
                top = max(smooth[start], smooth[end])
                if smooth[lowest] - top >= 0.5 * (smooth[peak] - top):  # a tuck deep in the rep, not its start
                    plateau = (lowest, lowest)
            # cut off by the recording's edge: it starts (ends) well on the way down (up)
            inside = (1.0 - self.edge_partial_fraction) * (smooth[peak] - min(smooth[left_top], smooth[right_top]))
            partial = (left_top == left_limit == 0 and smooth[peak] - smooth[0] < inside) or (
                right_top == right_limit == smooth.size - 1 and smooth[peak] - smooth[-1] < inside)
            long_enough = end - start >= self.min_rep_s * rate_hz
            measured = height_m if valid is None or valid[start:end + 1].all() else None
            if long_enough and self._confirmed(smooth, measured, stepping, start, peak, end, rate_hz=rate_hz):
                reps.append(RepBounds(start, (plateau[0] + plateau[1]) // 2, end, plateau, bool(partial)))
        return _apart(reps, smooth)

    def descent_start(self, smooth: np.ndarray, *, after: int, rate_hz: float) -> int | None:
        """Causal mode's view of a next rep before it is one: the start of a descent under way after sample
        ``after`` (the last rep's end), by the rule of a rep's start, once the angle has risen
        ``confirm_excursion_deg`` above its lowest point since (the descent is certain); None before."""
        top = after + int(np.argmin(smooth[after:]))
        if smooth[top:].max() - smooth[top] < self.confirm_excursion_deg:
            return None
        return self._start(smooth, np.gradient(smooth) * rate_hz, top, smooth.size - 1)

    def final_count(self, bounds: list[RepBounds], smooth: np.ndarray, *, descent: int | None, rate_hz: float,
                    lockout_deg: float) -> int:
        """Causal mode: how many of ``bounds``, segmented on the samples seen so far (``smooth``: the low-passed
        angle they were found on), are final: each rep followed by ``final_after_s`` of samples (the offline
        orientation filter settles; at least the lean-back window, ``metrics.LEAN_WINDOW_S``) and by what
        bounds its metrics: another rep, a certain descent (``descent``: :meth:`descent_start` after the last
        of ``bounds`` on the same samples, None without one; an incomplete lockout is judged against it), or a
        lockout held over those ``final_after_s``: within ``lockout_deg`` of standing (a sensor knocked askew
        is not a lockout) and within ``min_excursion_deg`` of itself. A pause inside the rep waits."""
        count = 0
        hold = int(self.final_after_s * rate_hz)
        for i, b in enumerate(bounds):
            after = smooth[b.end:]
            held = after[:hold + 1]
            if after.size > hold and (i + 1 < len(bounds) or descent is not None or (
                    np.abs(held).max() <= lockout_deg and np.ptp(held) < self.min_excursion_deg)):
                count = i + 1
        return count

    def stepping(self, acc_z_mps2: np.ndarray, *, sampling_rate_hz: float) -> np.ndarray:
        """Where the lifter walks or climbs stairs, on the sensor's grid (bool): its vertical acceleration carries
        step impacts (``step_band_hz``, RMS over about a second above ``step_acc_mps2``) that outweigh the slow
        motion of a lift below the band by ``step_dominance`` (a squat's reversal has some step-band energy
        too, but once per rep). Judged on block means at about ``step_rate_hz`` (the band is a few Hz)."""
        n = acc_z_mps2.size
        block = max(1, int(sampling_rate_hz // self.step_rate_hz))
        rate = sampling_rate_hz / block
        high = min(self.step_band_hz[1], 0.45 * rate)
        if high <= self.step_band_hz[0] or n // block <= 30:
            return np.zeros(n, dtype=bool)
        x = acc_z_mps2[:n // block * block].reshape(-1, block).mean(axis=1)
        x = x - x.mean()

        def rms(y: np.ndarray) -> np.ndarray:
            return np.sqrt(np.clip(sosfiltfilt(butter(2, 1.0, fs=rate, output="sos"), y**2), 0.0, None))

        slow_part = sosfiltfilt(butter(2, self.step_band_hz[0], fs=rate, output="sos"), x)
        band = sosfiltfilt(butter(2, high, fs=rate, output="sos"), x - slow_part)  # x − low-pass: a high-pass
        steps, slow = rms(band), rms(slow_part)
        walking = (steps > self.step_acc_mps2) & (steps > self.step_dominance * slow)
        return np.repeat(walking, block)[np.minimum(np.arange(n), walking.size * block - 1)]

    def _confirmed(self, smooth: np.ndarray, height_m: np.ndarray | None, stepping: np.ndarray | None, start: int,
                   peak: int, end: int, *, rate_hz: float) -> bool:
        """A shallow tilt (under ``confirm_excursion_deg`` against its tops: a sway, a fidget, a car braking)
        is a rep only when the sensor's height dips with it as in a squat (``min_rep_height_dip_m``), not while
        the lifter is stepping (walking or climbing stairs moves the height too), and when it lasts at most
        ``max_shallow_rep_s`` (a car's braking and turning tilt the accelerometer's gravity for longer)."""
        if smooth[peak] - max(smooth[start], smooth[end]) >= self.confirm_excursion_deg:
            return True
        if height_m is None or (stepping is not None and stepping[start:end + 1].mean() > self.max_stepping_share):
            return False
        if end - start > self.max_shallow_rep_s * rate_hz:
            return False
        reach = (end - start) // 2 + 1  # the tops may lie a little outside the tilt's own bounds
        lowest = start + int(np.argmin(height_m[start:end + 1]))
        tops = min(height_m[max(0, start - reach):lowest + 1].max(), height_m[lowest:end + reach + 1].max())
        return tops - height_m[lowest] >= self.min_rep_height_dip_m

    def _height_rep(self, height_m: np.ndarray, top: int, dip: int, next_top: int) -> RepBounds:
        """A rep seen only in the height: from where the sensor leaves its top (``1 - top_zone_fraction`` of
        the way up) to where it is back; the bottom is the lowest point."""
        level_before = height_m[dip] + (1.0 - self.top_zone_fraction) * (height_m[top] - height_m[dip])
        level_after = height_m[dip] + (1.0 - self.top_zone_fraction) * (height_m[next_top] - height_m[dip])
        start = top + int(np.flatnonzero(height_m[top:dip + 1] >= level_before)[-1])
        end = dip + int(np.flatnonzero(height_m[dip:next_top + 1] >= level_after)[0])
        return RepBounds(start, dip, end, (dip, dip), False)

    def _still_level(self, speed_part: np.ndarray) -> float:
        """Below this angular speed the trunk counts as still: relative to the rep's own speed."""
        return min(self.still_speed_deg_s, self.still_fraction * float(np.abs(speed_part).max(initial=0.0)))

    def _start(self, smooth, speed, top: int, peak: int) -> int:
        level = max(smooth[top], 0.0) + self.top_tolerance_deg  # a lean-back or walking dip is not the top
        above = np.flatnonzero(smooth[top:peak + 1] <= level)
        crossing = top + int(above[-1]) if above.size else top
        still = np.flatnonzero(np.abs(speed[top:crossing + 1]) < self._still_level(speed[top:peak + 1]))
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
        still = np.flatnonzero(np.abs(speed[crossing:top + 1]) < self._still_level(speed[peak:top + 1]))
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


def _zone(height_m: np.ndarray, dip: int, level: float) -> slice:
    """The samples around ``dip`` where the height stays below ``level``."""
    above = height_m >= level
    before = np.flatnonzero(above[:dip])
    after = np.flatnonzero(above[dip:])
    return slice(int(before[-1]) + 1 if before.size else 0, dip + int(after[0]) if after.size else height_m.size)


def _apart(reps: list[RepBounds], smooth: np.ndarray) -> list[RepBounds]:
    """Reps in time order that do not overlap: where one starts before the previous one ends, both are cut at
    the lowest angle between their bottoms; a rep whose bottom lies inside the previous one is dropped."""
    out: list[RepBounds] = []
    for rep in sorted(reps, key=lambda r: r.bottom):
        if out and rep.start < out[-1].end:
            prev = out[-1]
            if rep.plateau[0] <= prev.plateau[1]:
                continue
            cut = prev.plateau[1] + int(np.argmin(smooth[prev.plateau[1]:rep.plateau[0] + 1]))
            out[-1] = replace(prev, end=min(prev.end, cut))
            rep = replace(rep, start=max(rep.start, cut))
        out.append(rep)
    return out


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
