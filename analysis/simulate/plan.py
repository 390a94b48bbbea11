"""What a simulated session consists of: lifter geometry, sensors, and blocks (standing, walking, sets)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation

from .kinematics import BodyGeometry
from .sensor_model import SensorErrors

HINGE_MOVEMENTS = ("rdl", "deadlift", "good_morning", "swing", "staggered_rdl")
MOVEMENTS = HINGE_MOVEMENTS + ("squat",)


@dataclass(frozen=True)
class RepPlan:
    """One rep: peak channel values, tempo and faults. Angles in degrees relative to standing."""

    movement: str
    pelvis_peak_deg: float
    spine_peak_deg: float
    drop_peak_m: float
    hip_back_peak_m: float
    descent_s: float
    ascent_s: float
    bottom_pause_s: float = 0.0
    top_pause_s: float = 1.0
    mid_descent_pause_s: float = 0.0
    hike_peak_deg: float = 0.0
    yaw_peak_deg: float = 0.0
    lean_back_deg: float = 0.0       # trunk overshoot past standing at lockout (positive number)
    lockout_top_deg: float = 0.0     # trunk angle left at the top (incomplete lockout)
    wink_deg: float = 0.0            # "butt wink": the pelvis tucks under by this much at the bottom

    @property
    def category(self) -> str:
        return "squat" if self.movement == "squat" else "hinge"


@dataclass(frozen=True)
class Stand:
    duration_s: float
    sway_deg: float = 0.3


@dataclass(frozen=True)
class Walk:
    duration_s: float
    turn_deg: float
    speed_mps: float = 1.1
    step_hz: float = 1.8
    climb_m_per_step: float = 0.0  # > 0: up a staircase


@dataclass(frozen=True)
class Fidget:
    """Small posture shifts (a few degrees), like adjusting the grip or shaking out the arms."""

    duration_s: float
    amplitude_deg: float = 4.0


@dataclass(frozen=True)
class SetPlan:
    reps: tuple[RepPlan, ...]
    missing_sensor: str | None = None  # this sensor records nothing during the set (link lost)


@dataclass(frozen=True)
class Remount:
    """The lifter stands while re-clipping one sensor: it is handled, then sits in a new orientation."""

    sensor: str
    new_mount: Rotation
    duration_s: float = 3.0


@dataclass(frozen=True)
class Sit:
    """Sit down on a bench, rest, stand up (the trunk leans forward on the way down and up)."""

    duration_s: float


Block = Stand | Walk | Fidget | SetPlan | Remount | Sit


@dataclass(frozen=True)
class SensorPlan:
    errors: SensorErrors
    mount: Rotation  # sensor → segment


@dataclass(frozen=True)
class SessionPlan:
    """Everything needed to simulate a session deterministically from a seed."""

    family: str
    geometry: BodyGeometry
    blocks: tuple[Block, ...]
    sensors: dict[str, SensorPlan] = field(default_factory=dict)
    time_origin_s: float = 0.0
    truth_rate_hz: float = 1000.0
    truncate: bool = False          # the recording starts inside the first rep and stops inside the last
    acc_scale: float = 1.0          # written acc = scale x m/s² (1/9.80665 for g)
    gyr_scale: float = 1.0          # written gyr = scale x rad/s (180/pi for deg/s)
    mirror_axis: int | None = None  # an exporter that flips one axis of both acc and gyr (left-handed)


# ------------------------------------------------------------------------------------------------ sampling


def sample_rep(rng: np.random.Generator, movement: str, *, rounding: bool = False, lean_back: bool = False,
               incomplete: bool = False, slow: bool = False, pause: bool = False, partial: bool = False,
               stance_side: int = 1) -> RepPlan:
    """Draw one rep of ``movement`` with the requested faults from realistic ranges. A staggered stance hikes
    and turns the pelvis the same way in every rep of a set: ``stance_side`` +1 raises the left hip and turns
    the pelvis counter-clockwise, -1 the mirror."""
    u = rng.uniform
    if movement in ("rdl", "staggered_rdl"):
        pelvis, spine, drop, back = u(45, 62), u(4, 11), u(0.05, 0.12), u(0.15, 0.25)
        descent, ascent, bottom, top = u(1.5, 2.5), u(1.2, 2.0), u(0.0, 0.4), u(0.6, 1.5)
    elif movement == "deadlift":
        pelvis, spine, drop, back = u(35, 48), u(5, 11), u(0.18, 0.28), u(0.10, 0.18)
        descent, ascent, bottom, top = u(1.2, 2.0), u(1.0, 1.6), u(0.2, 0.6), u(0.8, 1.5)
    elif movement == "good_morning":
        pelvis, spine, drop, back = u(55, 72), u(5, 11), u(0.03, 0.07), u(0.15, 0.22)
        descent, ascent, bottom, top = u(1.8, 2.5), u(1.5, 2.0), u(0.0, 0.3), u(0.6, 1.2)
    elif movement == "swing":
        pelvis, spine, drop, back = u(35, 48), u(5, 10), u(0.12, 0.20), u(0.15, 0.22)
        cycle = 60.0 / u(45, 55)
        descent, ascent, bottom = 0.40 * cycle, 0.38 * cycle, 0.0
        top = cycle - descent - ascent
    elif movement == "squat":
        pelvis, spine, drop, back = u(22, 35), u(5, 11), u(0.36, 0.55), u(0.08, 0.14)
        descent, ascent, bottom, top = u(1.5, 2.2), u(1.2, 1.8), u(0.0, 0.5), u(0.8, 1.5)
    else:
        raise ValueError(f"unknown movement {movement!r}")
    hike = yaw = 0.0
    if movement == "staggered_rdl":
        hike, yaw = stance_side * u(3, 6), stance_side * u(5, 10)
    if rounding:
        spine = u(26, 40)
    if partial:
        scale = u(32, 38) / (pelvis + spine)
        pelvis, spine, drop = pelvis * scale, spine * scale, drop * scale
    mid_pause = 0.0
    if slow:
        descent = u(5.5, 6.5)
    if pause:
        bottom = u(1.0, 2.0)
        mid_pause = u(0.8, 1.5) if rng.uniform() < 0.5 else 0.0
    return RepPlan(
        movement=movement, pelvis_peak_deg=pelvis, spine_peak_deg=spine, drop_peak_m=drop,
        hip_back_peak_m=back, descent_s=descent, ascent_s=ascent, bottom_pause_s=bottom, top_pause_s=top,
        mid_descent_pause_s=mid_pause, hike_peak_deg=hike, yaw_peak_deg=yaw,
        lean_back_deg=u(11, 18) if lean_back else 0.0,
        lockout_top_deg=u(18, 28) if incomplete else 0.0,
    )


def random_geometry(rng: np.random.Generator, *, pocket: bool) -> BodyGeometry:
    hip_lever = np.array([-0.12, rng.choice([-1, 1]) * 0.08, -0.05]) if pocket else np.array([-0.12, 0.0, 0.08])
    return BodyGeometry(
        pelvis_standing_pitch_deg=rng.uniform(5, 15),
        trunk_standing_pitch_deg=rng.uniform(-5, 5),
        hip_height_m=rng.uniform(0.85, 1.0),
        lumbar_offset_m=rng.uniform(0.08, 0.12),
        back_sensor_lever_m=np.array([-0.10, 0.0, rng.uniform(0.35, 0.45)]),
        hip_sensor_lever_m=hip_lever,
    )


def random_errors(rng: np.random.Generator, sampling_rate_hz: float, *, quality: str) -> SensorErrors:
    """Sensor errors of a ``clean``, ``typical`` or ``rough`` device/link."""
    if quality == "clean":
        return SensorErrors(sampling_rate_hz=sampling_rate_hz, acc_noise_mps2=0.01, gyr_noise_radps=0.001)
    rough = quality == "rough"
    u = rng.uniform
    return SensorErrors(
        sampling_rate_hz=sampling_rate_hz,
        clock_drift_ppm=u(-60, 60),
        clock_offset_s=u(-0.004, 0.004),
        acc_noise_mps2=u(0.02, 0.10 if rough else 0.05),
        gyr_noise_radps=u(0.003, 0.012 if rough else 0.006),
        acc_bias_mps2=u(0.0, 0.15),
        gyr_bias_radps=u(0.0, 0.03),
        gyr_bias_walk_radps=u(0.0, 0.003),
        scale_error=u(0.0, 0.01),
        misalignment_deg=u(0.0, 0.5),
        jitter_s=u(0.0, 0.25 if rough else 0.1) / sampling_rate_hz,
        batch_size=int(rng.choice([1, 1, 2, 3])) if rough else 1,
        dropout_count=int(rng.integers(1, 4)) if rough else 0,
        dropout_max_s=0.3,
    )


def random_mount(rng: np.random.Generator) -> Rotation:
    """Any orientation at all (uniform over rotations)."""
    return Rotation.random(random_state=int(rng.integers(2**31)))
