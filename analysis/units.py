"""Unit detection and conversion at the edge of the pipeline.

The canonical units are m/s² and rad/s. Files in g or deg/s are common; what can be recognised safely is
converted (and the report says so), anything ambiguous is an error naming the option that decides.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .errors import RecordingError
from .recording import Recording

ACC_UNITS = {"m/s2": 1.0, "g": 9.80665}
GYR_UNITS = {"rad/s": 1.0, "deg/s": np.pi / 180.0}
# a hinge, a swing or a walk never turns a body segment faster than this; deg/s values of ordinary
# movement exceed it
MAX_PLAUSIBLE_RADPS = 15.0


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
    acc = np.concatenate([s.acc_mps2 for s in recording.sensors.values()])
    gyr = np.concatenate([s.gyr_radps for s in recording.sensors.values()])
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
