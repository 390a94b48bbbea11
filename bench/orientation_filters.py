"""Orientation methods compared by ``bench/accuracy.py --orientation``: VQF offline (the one the product
uses), a hand-written complementary filter (Mahony-style with gyro-bias integral), and imufusion's AHRS
(x-io Fusion) with its gyroscope bias estimator. Each maps (gyr rad/s, acc m/s², rate Hz) → Orientation."""

from __future__ import annotations

import math

import numpy as np

from hinge.analysis.orientation import Orientation, vqf_offline


def complementary(gyr_radps: np.ndarray, acc_mps2: np.ndarray, sampling_rate_hz: float, *,
                  kp: float = 1.0, ki: float = 0.02) -> Orientation:
    """Mahony complementary filter: gyro integration corrected towards gravity (``kp``), bias by ``ki``."""
    dt = 1.0 / sampling_rate_hz
    n = gyr_radps.shape[0]
    a0 = acc_mps2[: max(1, int(sampling_rate_hz))].mean(axis=0)
    # initial attitude: rotate measured up onto world z
    a0 = a0 / np.linalg.norm(a0)
    axis = np.cross(a0, [0.0, 0.0, 1.0])
    s, c = np.linalg.norm(axis), a0[2]
    half = math.atan2(s, c) / 2
    x, y, z = (float(v) for v in (axis / s * math.sin(half) if s > 1e-9 else np.zeros(3)))
    w = math.cos(half)
    quats = np.empty((n, 4))
    bias = np.zeros((n, 3))
    bx = by = bz = 0.0
    for i in range(n):
        gx, gy, gz = gyr_radps[i]
        ax, ay, az = acc_mps2[i]
        norm = math.sqrt(ax * ax + ay * ay + az * az)
        ex = ey = ez = 0.0
        if 0.8 * 9.81 < norm < 1.2 * 9.81:
            ax, ay, az = ax / norm, ay / norm, az / norm
            # estimated up in sensor axes (third row of R)
            vx, vy, vz = 2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)
            ex, ey, ez = ay * vz - az * vy, az * vx - ax * vz, ax * vy - ay * vx
            bx -= ki * ex * dt
            by -= ki * ey * dt
            bz -= ki * ez * dt
        gx, gy, gz = gx - bx + kp * ex, gy - by + kp * ey, gz - bz + kp * ez
        dw = 0.5 * (-x * gx - y * gy - z * gz) * dt
        dx = 0.5 * (w * gx + y * gz - z * gy) * dt
        dy = 0.5 * (w * gy - x * gz + z * gx) * dt
        dz = 0.5 * (w * gz + x * gy - y * gx) * dt
        w, x, y, z = w + dw, x + dx, y + dy, z + dz
        qn = math.sqrt(w * w + x * x + y * y + z * z)
        w, x, y, z = w / qn, x / qn, y / qn, z / qn
        quats[i] = (w, x, y, z)
        bias[i] = (bx, by, bz)
    return Orientation(quat_wxyz=quats, gyr_bias_radps=bias, rest=np.zeros(n, dtype=bool))


def imufusion_ahrs(gyr_radps: np.ndarray, acc_mps2: np.ndarray, sampling_rate_hz: float) -> Orientation:
    """x-io Fusion AHRS (``imufusion``), z-up convention, with its gyroscope bias estimator."""
    import imufusion

    ahrs = imufusion.Ahrs()
    settings = imufusion.AhrsSettings()
    settings.convention = imufusion.CONVENTION_NWU
    settings.gain = 0.5
    settings.gyroscope_range = 2000.0
    settings.acceleration_rejection = 10.0
    settings.sample_rate = int(round(sampling_rate_hz))
    ahrs.set_settings(settings)
    ahrs.set_sample_period(1.0 / sampling_rate_hz)
    bias = imufusion.Bias()
    bias_settings = imufusion.BiasSettings()
    bias_settings.sample_rate = int(round(sampling_rate_hz))
    bias.set_settings(bias_settings)
    gyr_dps = np.degrees(gyr_radps)
    acc_g = acc_mps2 / 9.80665
    n = gyr_radps.shape[0]
    quats = np.empty((n, 4))
    offsets = np.empty((n, 3))
    for i in range(n):
        corrected = bias.update(np.ascontiguousarray(gyr_dps[i]))
        ahrs.update_no_magnetometer(corrected, np.ascontiguousarray(acc_g[i]))
        quats[i] = ahrs.get_quaternion()
        offsets[i] = bias.get_offset()
    return Orientation(quat_wxyz=quats, gyr_bias_radps=np.radians(offsets), rest=np.zeros(n, dtype=bool))


ORIENTATION_METHODS = {"vqf": vqf_offline, "complementary": complementary, "imufusion": imufusion_ahrs}
