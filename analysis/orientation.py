"""Orientation of one sensor from its uniform-grid gyro and accelerometer.

We use VQF's offline variant (Laidig & Seel 2023): forward-backward 6D fusion with rest detection and gyro
bias estimation over the whole recording. ``bench/orientation.py`` compares it on the accuracy corpus with a
hand-written complementary filter and with imufusion (the README gives the figures); VQF won.

Output frame: the quaternion rotates sensor axes into a world frame with z up and an arbitrary, slowly
drifting heading (no magnetometer). Quaternions are ``[w, x, y, z]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Orientation:
    """quat_wxyz : (n, 4) sensor → world; gyr_bias_radps : (n, 3) estimated gyro bias; rest : (n,) bool."""

    quat_wxyz: np.ndarray
    gyr_bias_radps: np.ndarray
    rest: np.ndarray

    def vertical_in_sensor(self) -> np.ndarray:
        """World up (+z) expressed in sensor axes, (n, 3) unit vectors."""
        return vertical_in_sensor(self.quat_wxyz)

    def rotate_to_world(self, vectors: np.ndarray) -> np.ndarray:
        """Rotate (n, 3) sensor-axis vectors (or one (3,) vector at every sample) into the world frame, (n, 3)."""
        return rotate_to_world(self.quat_wxyz, vectors)


def vertical_in_sensor(quat_wxyz: np.ndarray) -> np.ndarray:
    """World up (+z) in sensor axes for (n, 4) sensor → world quaternions: the third row of R(q), (n, 3)."""
    w, x, y, z = quat_wxyz.T
    return np.column_stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)])


def rotate_to_world(quat_wxyz: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Rotate (n, 3) sensor-axis vectors, or one (3,) vector, by (n, 4) sensor → world quaternions, (n, 3)."""
    w, x, y, z = quat_wxyz.T
    vx, vy, vz = vectors.T
    # v + 2 w (q × v) + 2 q × (q × v), with q the vector part
    cx, cy, cz = y * vz - z * vy, z * vx - x * vz, x * vy - y * vx
    return np.column_stack([
        vx + 2 * (w * cx + y * cz - z * cy),
        vy + 2 * (w * cy + z * cx - x * cz),
        vz + 2 * (w * cz + x * cy - y * cx),
    ])


def row_dot(vectors: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Dot product of each row of ``vectors`` (n, 3) with ``other``: one (3,) vector or a row each (n, 3); (n,)."""
    return vectors @ other if np.ndim(other) == 1 else np.einsum("ij,ij->i", vectors, other)


def row_norm(vectors: np.ndarray) -> np.ndarray:
    """Length of each row of ``vectors`` (n, 3), (n,); equal to ``np.linalg.norm(vectors, axis=1)``, faster."""
    return np.sqrt(vectors[:, 0] ** 2 + vectors[:, 1] ** 2 + vectors[:, 2] ** 2)


OrientationMethod = Callable[[np.ndarray, np.ndarray, float], Orientation]


def vqf_offline(gyr_radps: np.ndarray, acc_mps2: np.ndarray, sampling_rate_hz: float) -> Orientation:
    """VQF offline 6D orientation. ``gyr_radps``, ``acc_mps2``: (n, 3) on a uniform grid at ``sampling_rate_hz``."""
    import vqf

    out = vqf.offlineVQF(
        np.ascontiguousarray(gyr_radps, dtype=np.float64),
        np.ascontiguousarray(acc_mps2, dtype=np.float64),
        None,
        1.0 / sampling_rate_hz,
    )
    return Orientation(quat_wxyz=out["quat6D"], gyr_bias_radps=out["bias"], rest=out["restDetected"].astype(bool))
