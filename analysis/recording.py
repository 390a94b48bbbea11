"""The hand-off object every source produces and the whole pipeline consumes.

A :class:`Recording` holds, per sensor (``"back"`` = upper back / thoracic, ``"hip"`` = sacrum, belt or
back pocket), the raw samples exactly as recorded: time on the shared time base, specific force and angular
rate in the sensor's own right-handed axes. No resampling happens here (see :mod:`analysis.resample`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from .errors import RecordingError
from .limits import check_span_s, check_stream_timing

SENSOR_NAMES: tuple[str, ...] = ("back", "hip")
FORMAT_NAME = "hinge-recording/1"


@dataclass(frozen=True)
class SensorStream:
    """Raw samples of one sensor.

    Attributes
    ----------
    time_s : (n,) float64, non-decreasing, seconds on the recording's shared time base.
    acc_mps2 : (n, 3) float64, specific force in sensor axes, m/s² (+9.81 on the up axis at rest).
    gyr_radps : (n, 3) float64, angular rate in the same axes, rad/s.
    """

    time_s: np.ndarray
    acc_mps2: np.ndarray
    gyr_radps: np.ndarray

    def __post_init__(self) -> None:
        n = self.time_s.shape[0]
        if self.time_s.ndim != 1 or self.acc_mps2.shape != (n, 3) or self.gyr_radps.shape != (n, 3):
            raise RecordingError(
                f"sensor arrays disagree in shape: time {self.time_s.shape}, acc {self.acc_mps2.shape}, "
                f"gyr {self.gyr_radps.shape}"
            )
        for array in (self.time_s, self.acc_mps2, self.gyr_radps):
            array.setflags(write=False)

    @property
    def sample_count(self) -> int:
        return int(self.time_s.shape[0])

    @property
    def duration_s(self) -> float:
        return float(self.time_s[-1] - self.time_s[0]) if self.sample_count else 0.0


@dataclass(frozen=True)
class Recording:
    """One or two sensors' raw streams plus free-form ``key: value`` metadata."""

    sensors: Mapping[str, SensorStream]
    metadata: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.sensors) - set(SENSOR_NAMES)
        if unknown:
            raise RecordingError(f"unknown sensor name(s) {sorted(unknown)}; expected 'back' and/or 'hip'")
        if not self.sensors:
            raise RecordingError("the recording holds no samples")
        ordered = {name: self.sensors[name] for name in SENSOR_NAMES if name in self.sensors}
        for name, stream in ordered.items():  # implausible timing is refused before anything is sized by it
            check_stream_timing(name, stream.time_s)
        timed = [s.time_s for s in ordered.values() if s.sample_count]
        if timed:
            check_span_s(min(float(t[0]) for t in timed), max(float(t[-1]) for t in timed))
        object.__setattr__(self, "sensors", MappingProxyType(ordered))
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))

    @property
    def sensor_names(self) -> tuple[str, ...]:
        return tuple(self.sensors)

    @property
    def start_time_s(self) -> float:
        return min(float(s.time_s[0]) for s in self.sensors.values())
