"""Unit detection and conversion at the edge of the pipeline.

The canonical units are m/s² and rad/s. Files in g or deg/s are common; what can be recognised safely is
converted (and the report says so), anything ambiguous is an error naming the option that decides.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .errors import RecordingError
from .filters import butter, sosfiltfilt  # SciPy's, without its import time
from .recording import Recording

ACC_UNITS = {"m/s2": 1.0, "g": 9.80665}
GYR_UNITS = {"rad/s": 1.0, "deg/s": np.pi / 180.0}
# a hinge, a swing or a walk never turns a body segment faster than this; deg/s values of ordinary
# movement exceed it
MAX_PLAUSIBLE_RADPS = 15.0
UNIT_SAMPLES = 100_000
CONSISTENCY_RATE_HZ = 25.0


@dataclass(frozen=True)
class UnitDecision:
    acc_unit: str
    gyr_unit: str
    notes: tuple[str, ...]  # what was detected automatically (for the report's warnings)


def decide_units(recording: Recording, *, acc_unit: str, gyr_unit: str) -> UnitDecision:
    """Resolve ``auto`` units from the data; raise :class:`RecordingError` when they cannot be told safely."""
    if acc_unit not in ("auto", *ACC_UNITS) or gyr_unit not in ("auto", *GYR_UNITS):
        raise RecordingError(f"unknown unit: acc {acc_unit!r} (use auto, m/s2 or g), gyr {gyr_unit!r} "
                             "(use auto, rad/s or deg/s)")
    notes = []
    # a statistic, not a per-sample result: an evenly spaced subsample of at most UNIT_SAMPLES rows is enough
    acc = np.concatenate([s.acc_mps2[::max(1, s.sample_count // UNIT_SAMPLES)] for s in recording.sensors.values()])
    gyr = np.concatenate([s.gyr_radps[::max(1, s.sample_count // UNIT_SAMPLES)] for s in recording.sensors.values()])
    if acc_unit == "auto":
        median = float(np.median(np.linalg.norm(acc, axis=1)))
        if 7.0 <= median <= 13.0:
            acc_unit = "m/s2"
        elif 0.7 <= median <= 1.35:
            acc_unit = "g"
            notes.append(f"accelerations looked like g (median magnitude {median:.2f}); converted to m/s² "
                         "(use --acc-unit m/s2 to override)")
        else:
            raise RecordingError(f"accelerations have a median magnitude of {median:.2f}, which is neither m/s² "
                                 "(about 9.8) nor g (about 1); pass --acc-unit m/s2 or --acc-unit g")
    else:
        median = float(np.median(np.linalg.norm(acc, axis=1))) * ACC_UNITS[acc_unit]
        if not 7.0 <= median <= 13.0:
            raise RecordingError(f"read as {acc_unit}, accelerations have a median magnitude of {median:.1f} m/s² "
                                 "instead of about 9.8; check --acc-unit")
    if gyr_unit == "auto":
        fast = float(np.percentile(np.linalg.norm(gyr, axis=1), 99.5))
        if fast > MAX_PLAUSIBLE_RADPS:
            gyr_unit = "deg/s"
            notes.append(f"angular rates looked like deg/s (99.5th percentile {fast:.0f}); converted to rad/s "
                         "(use --gyr-unit rad/s to override)")
        else:
            gyr_unit = "rad/s"
    return UnitDecision(acc_unit, gyr_unit, tuple(notes))


def to_canonical(recording: Recording, decision: UnitDecision) -> Recording:
    """The recording in m/s² and rad/s."""
    acc_scale, gyr_scale = ACC_UNITS[decision.acc_unit], GYR_UNITS[decision.gyr_unit]
    if acc_scale == 1.0 and gyr_scale == 1.0:
        return recording
    sensors = {n: replace(s, acc_mps2=s.acc_mps2 * acc_scale, gyr_radps=s.gyr_radps * gyr_scale)
               for n, s in recording.sensors.items()}
    return Recording(sensors=sensors, metadata=recording.metadata)


def rotation_consistency(acc_mps2: np.ndarray, gyr_radps: np.ndarray, *, sampling_rate_hz: float) -> float:
    """Correlation (-1..1) between how the gravity direction turns in sensor axes and how the gyroscope says it
    should turn (``dv/dt = -ω × v``), over moving samples. Near +1 for a consistent right-handed sensor, near -1
    when one axis was flipped on export (a left-handed frame); near 0 when there is too little motion to tell.
    Shapes (n, 3) on a uniform grid."""
    step = max(1, int(sampling_rate_hz // CONSISTENCY_RATE_HZ))  # 2 Hz of motion needs no more than ~25 Hz
    acc_mps2, gyr_radps, sampling_rate_hz = acc_mps2[::step], gyr_radps[::step], sampling_rate_hz / step
    if acc_mps2.shape[0] < 50:
        return 0.0
    sos = butter(2, min(2.0, 0.4 * sampling_rate_hz), fs=sampling_rate_hz, output="sos")
    v = sosfiltfilt(sos, acc_mps2 / np.linalg.norm(acc_mps2, axis=1, keepdims=True), axis=0)
    measured = np.gradient(v, axis=0) * sampling_rate_hz
    predicted = -np.cross(sosfiltfilt(sos, gyr_radps, axis=0), v)
    moving = np.linalg.norm(predicted, axis=1) > 0.2
    if moving.sum() < 20:
        return 0.0
    a, b = measured[moving].ravel(), predicted[moving].ravel()
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))
