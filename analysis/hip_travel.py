"""Vertical travel of a sensor over a rep: rotate its specific force into the world, subtract gravity,
double-integrate with zero velocity at the rep's quiet start and end, removing the linear drift of velocity
and of position between them (the lifter stands at the same height before and after a rep)."""

from __future__ import annotations

import numpy as np

from .filters import butter, sosfiltfilt  # SciPy's, without its import time
from .orientation import Orientation, row_dot
from .resample import UniformStream


def vertical_acceleration_mps2(stream: UniformStream, orientation: Orientation, *, gravity_mps2: float) -> np.ndarray:
    """World-vertical linear acceleration of the sensor, (n,) m/s², up positive."""
    return np.einsum("ij,ij->i", orientation.vertical_in_sensor(), stream.acc_mps2) - gravity_mps2


def forward_acceleration_mps2(stream: UniformStream, orientation: Orientation, hinge_s: np.ndarray) -> np.ndarray:
    """Linear acceleration of the sensor along the lifter's forward direction (m/s², (n,)): the horizontal
    ``normalize(m × z)`` of the world hinge axis ``m`` (``hinge_s``: (n, 3) or (3,) left-pointing, sensor axes).

    Computed in sensor axes: with ``v`` the world up in sensor axes, ``R a · (R h × z) = a · (h × v)`` and
    ``|m × z| = sqrt(1 - (h · v)²)``."""
    vertical = orientation.vertical_in_sensor()
    horizontal = np.sqrt(np.clip(1.0 - row_dot(vertical, hinge_s) ** 2, 1e-18, None))
    return np.einsum("ij,ij->i", stream.acc_mps2, np.cross(hinge_s, vertical)) / horizontal


def height_change_m(acc_z_mps2: np.ndarray, *, sampling_rate_hz: float, start: int, end: int) -> np.ndarray:
    """Height relative to sample ``start`` over [start, end] (m, up positive), with zero velocity at both
    ends (quiet moments); shape (end - start + 1,)."""
    if end - start < 3:
        return np.zeros(max(1, end - start + 1))
    dt = 1.0 / sampling_rate_hz
    a = acc_z_mps2[start:end + 1]
    v = np.concatenate([[0.0], np.cumsum(0.5 * (a[1:] + a[:-1]) * dt)])
    v -= np.linspace(0.0, v[-1], v.size)  # zero velocity at both ends
    return np.concatenate([[0.0], np.cumsum(0.5 * (v[1:] + v[:-1]) * dt)])


def vertical_drop_m(acc_z_mps2: np.ndarray, *, sampling_rate_hz: float, start: int, end: int) -> float:
    """Largest drop below the starting height between sample ``start`` and ``end`` (inclusive), m (>= 0),
    assuming the sensor ends at the height it started from (a rep)."""
    z = height_change_m(acc_z_mps2, sampling_rate_hz=sampling_rate_hz, start=start, end=end)
    z = z - np.linspace(0.0, z[-1], z.size)  # same height at both ends
    return float(max(0.0, -z.min()))


HEIGHT_HIGHPASS_HZ = 0.1  # drift removal of the integrated height (a lift's cycles of 1–10 s pass)


def height_m(acc_z_mps2: np.ndarray, *, sampling_rate_hz: float, highpass_hz: float = HEIGHT_HIGHPASS_HZ) -> np.ndarray:
    """The sensor's height over a whole recording (m, up positive, about zero mean), (n,): vertical
    acceleration integrated twice, the integration drift removed by a zero-phase high-pass at ``highpass_hz``
    after each integration (a lift's cycles, 1–10 s, pass; the drift of minutes does not)."""
    if acc_z_mps2.size <= 30:
        return np.zeros(acc_z_mps2.size)
    sos = butter(2, highpass_hz, fs=sampling_rate_hz, output="sos")
    dt = 1.0 / sampling_rate_hz
    velocity = np.cumsum(acc_z_mps2 - acc_z_mps2.mean()) * dt
    velocity = velocity - sosfiltfilt(sos, velocity)  # zero-phase Butterworth high-pass: 1 − |low-pass|²
    position = np.cumsum(velocity) * dt
    return position - sosfiltfilt(sos, position)
