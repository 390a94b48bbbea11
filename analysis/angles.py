"""Segment angles (``conventions.md``) per sensor, then on one common analysis timeline.

Orientation runs at each sensor's own rate; only the resulting *angles* are brought onto the common grid,
as ``ANALYSIS-NOTES.md`` suggests. Samples farther than ``max_gap_s`` from a real sample are NaN.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .calibration import SegmentCalibration, sagittal_angle_deg
from .orientation import Orientation, rotate_to_world, vertical_in_sensor
from .recording import Chunk
from .resample import UniformStream
from .segmentation import lowpass_deg


@dataclass(frozen=True)
class SegmentAngles:
    """One segment on its sensor's grid: all (n,), degrees."""

    time_s: np.ndarray
    sagittal_deg: np.ndarray
    hike_deg: np.ndarray
    hinge_heading_deg: np.ndarray  # heading of the hinge axis in the world, unwrapped
    measured: np.ndarray


@dataclass(frozen=True)
class AngleSeries:
    """Both segments on the common grid at ``rate_hz``; a missing sensor's arrays are None.

    trunk_deg, pelvis_deg : sagittal angles relative to standing, forward positive
    pelvis_hike_deg, pelvis_heading_deg : frontal tilt and hinge-axis heading of the pelvis
    """

    rate_hz: float
    time_s: np.ndarray
    trunk_deg: np.ndarray | None
    pelvis_deg: np.ndarray | None
    pelvis_hike_deg: np.ndarray | None
    pelvis_heading_deg: np.ndarray | None

    @property
    def spinal_flexion_deg(self) -> np.ndarray | None:
        if self.trunk_deg is None or self.pelvis_deg is None:
            return None
        return self.trunk_deg - self.pelvis_deg

    @property
    def primary_deg(self) -> np.ndarray:
        """The angle reps are segmented on: trunk, or pelvis where there is no back sensor (or it dropped out)."""
        if self.trunk_deg is None:
            assert self.pelvis_deg is not None, "an AngleSeries holds at least one segment"
            return self.pelvis_deg
        if self.pelvis_deg is None:
            return self.trunk_deg
        return np.where(np.isnan(self.trunk_deg), self.pelvis_deg, self.trunk_deg)


def segment_angles(stream: UniformStream, orientation: Orientation, calibration: SegmentCalibration) -> SegmentAngles:
    """Sagittal angle, hike and hinge heading of the segment carrying ``stream``'s sensor."""
    vertical = orientation.vertical_in_sensor()
    sagittal, hike, heading = np.empty(vertical.shape[0]), np.empty(vertical.shape[0]), np.empty(vertical.shape[0])
    for part, anchor in calibration.runs(stream.time_s):  # one upright and hinge axis per run: (3,) vectors
        sagittal[part] = sagittal_angle_deg(vertical[part], anchor.up_s, anchor.hinge_s)
        # the hinge axis is level while standing (it is made perpendicular to the upright), so no offset
        hike[part] = np.degrees(np.arcsin(np.clip(vertical[part] @ anchor.hinge_s, -1.0, 1.0)))
        hinge_world = rotate_to_world(orientation.quat_wxyz[part], anchor.hinge_s)
        heading[part] = np.arctan2(hinge_world[:, 1], hinge_world[:, 0])
    heading = np.degrees(np.unwrap(heading))
    for anchor in calibration.anchors:  # while the sensor was being re-clipped it measured the hand, not the body
        if anchor.handled_from_s is not None:
            off = (stream.time_s >= anchor.handled_from_s) & (stream.time_s <= anchor.from_s)
            sagittal[off] = hike[off] = heading[off] = np.nan
    return SegmentAngles(stream.time_s + ORIENTATION_LEAD_PERIODS / stream.sampling_rate_hz, sagittal, hike, heading,
                         stream.measured)


class StreamingAngles:
    """Causal mode of :func:`segment_angles` for a display: one sensor's sagittal angle as its chunks arrive,
    from VQF's online filter (the offline one looks ahead) and the calibration in force, by the same
    :func:`~analysis.calibration.sagittal_angle_deg`.

    Parameters
    ----------
    sampling_rate_hz : the sensor's rate.
    gyr_sign : -1 for a sensor whose gyroscope the analysis reversed (a left-handed frame), else 1.
    """

    def __init__(self, sampling_rate_hz: float, *, gyr_sign: float = 1.0) -> None:
        import vqf

        self._filter = vqf.VQF(1.0 / sampling_rate_hz)
        self.gyr_sign = gyr_sign

    def update(self, chunk: Chunk, calibration: SegmentCalibration) -> np.ndarray:
        """Sagittal angle (deg, forward positive) at each of the chunk's samples, (n,)."""
        out = self._filter.updateBatch(np.ascontiguousarray(self.gyr_sign * chunk.gyr_radps, dtype=float),
                                       np.ascontiguousarray(chunk.acc_mps2, dtype=float))
        vertical = vertical_in_sensor(out["quat6D"])
        return sagittal_angle_deg(vertical, calibration.up_at(chunk.time_s), calibration.hinge_at(chunk.time_s))


# VQF's orientation at sample k already holds the rotation integrated over [k, k + 1]: it belongs half a sample
# period later (measured: 20 ms at 25 Hz, 5 ms at 100 Hz, ~1.7° on a 0.3 Hz swing of ±46° at 25 Hz)
ORIENTATION_LEAD_PERIODS = 0.5


@dataclass(frozen=True)
class ClockOffset:
    """How much later the hip sensor's stamps run than the back sensor's for the same motion (s), and how well
    the two sensors' hinge rates correlate at that lag (0..1)."""

    hip_minus_back_s: float
    correlation: float


OFFSET_GRID_HZ = 100.0
OFFSET_CUTOFF_HZ = 6.0
MAX_OFFSET_S = 1.0
MIN_OFFSET_CORRELATION = 0.5


def clock_offset(back: SegmentAngles, hip: SegmentAngles) -> ClockOffset | None:
    """The back–hip time offset from the cross-correlation of the two segments' sagittal angular rates (the
    pelvis and the trunk turn together about the hinge axis in every rep), searched within ±``MAX_OFFSET_S``
    and refined to a fraction of the ``OFFSET_GRID_HZ`` grid by a parabola through the peak. None when the
    sensors do not overlap or the rates do not correlate (``MIN_OFFSET_CORRELATION``)."""
    start, end = max(back.time_s[0], hip.time_s[0]), min(back.time_s[-1], hip.time_s[-1])
    if end - start < 4 * MAX_OFFSET_S:
        return None
    grid = np.arange(start, end, 1.0 / OFFSET_GRID_HZ)
    rates = []
    for a in (back, hip):
        angle = lowpass_deg(np.interp(grid, a.time_s, a.sagittal_deg), rate_hz=OFFSET_GRID_HZ,
                            cutoff_hz=OFFSET_CUTOFF_HZ)
        rate = np.gradient(angle) * OFFSET_GRID_HZ
        rates.append(rate - rate.mean())
    n = grid.size
    size = 1 << int(np.ceil(np.log2(2 * n)))
    corr = np.fft.irfft(np.fft.rfft(rates[1], size) * np.conj(np.fft.rfft(rates[0], size)), size)
    max_lag = int(MAX_OFFSET_S * OFFSET_GRID_HZ)
    lags = np.arange(-max_lag, max_lag + 1)
    values = corr[lags % size]
    k = int(np.argmax(values))
    norm = float(np.sqrt((rates[0] ** 2).sum() * (rates[1] ** 2).sum()))
    if norm == 0.0 or values[k] / norm < MIN_OFFSET_CORRELATION:
        return None
    shift = 0.0
    if 0 < k < lags.size - 1:
        y0, y1, y2 = values[k - 1:k + 2]
        shift = 0.5 * (y0 - y2) / (y0 - 2 * y1 + y2) if y0 - 2 * y1 + y2 != 0 else 0.0
    return ClockOffset(float((lags[k] + shift) / OFFSET_GRID_HZ), float(values[k] / norm))


def shifted(a: SegmentAngles, offset_s: float) -> SegmentAngles:
    """The same angles stamped ``offset_s`` earlier (a sensor whose clock ran late by ``offset_s``)."""
    return replace(a, time_s=a.time_s - offset_s)


def common_series(angles: dict[str, SegmentAngles], *, rate_hz: float, max_gap_s: float) -> AngleSeries:
    """Interpolate each segment's angles onto one grid spanning the union of the sensors' time."""
    start = min(a.time_s[0] for a in angles.values())
    end = max(a.time_s[-1] for a in angles.values())
    grid = start + np.arange(int(np.floor((end - start) * rate_hz)) + 1) / rate_hz

    def onto(a: SegmentAngles | None, values_name: str) -> np.ndarray | None:
        if a is None:
            return None
        values = np.interp(grid, a.time_s, getattr(a, values_name))
        real_t = a.time_s[a.measured]
        idx = np.clip(np.searchsorted(real_t, grid), 1, real_t.size - 1)
        distance = np.minimum(np.abs(grid - real_t[idx - 1]), np.abs(real_t[idx] - grid))
        values[(distance > max_gap_s) | (grid < a.time_s[0]) | (grid > a.time_s[-1])] = np.nan
        return values

    back, hip = angles.get("back"), angles.get("hip")
    return AngleSeries(
        rate_hz=rate_hz, time_s=grid,
        trunk_deg=onto(back, "sagittal_deg"), pelvis_deg=onto(hip, "sagittal_deg"),
        pelvis_hike_deg=onto(hip, "hike_deg"), pelvis_heading_deg=onto(hip, "hinge_heading_deg"),
    )
