"""Segment angles (``conventions.md``) per sensor, then on one common analysis timeline.

Orientation runs at each sensor's own rate; only the resulting *angles* are brought onto the common grid,
as ``ANALYSIS-NOTES.md`` suggests. Samples farther than ``max_gap_s`` from a real sample are NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .calibration import SegmentCalibration, sagittal_angle_deg
from .orientation import Orientation
from .resample import UniformStream


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
    up = calibration.up_at(stream.time_s)
    hinge = calibration.hinge_at(stream.time_s)
    sagittal = sagittal_angle_deg(vertical, up, hinge)
    # the hinge axis is level while standing (it is made perpendicular to the upright), so no offset
    hike = np.degrees(np.arcsin(np.clip(np.einsum("ij,ij->i", vertical, hinge), -1.0, 1.0)))
    hinge_world = orientation.rotate_to_world(hinge)
    heading = np.degrees(np.unwrap(np.arctan2(hinge_world[:, 1], hinge_world[:, 0])))
    for anchor in calibration.anchors:  # while the sensor was being re-clipped it measured the hand, not the body
        if anchor.handled_from_s is not None:
            off = (stream.time_s >= anchor.handled_from_s) & (stream.time_s <= anchor.from_s)
            sagittal[off] = hike[off] = heading[off] = np.nan
    return SegmentAngles(stream.time_s, sagittal, hike, heading, stream.measured)


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
