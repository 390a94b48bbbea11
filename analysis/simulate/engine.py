"""Run a :class:`SessionPlan`: build the motion, sample the sensors, and compute the ground truth.

Ground-truth rep fields use the report's names and definitions (``docs/report-format.md``); times are on the
recording's time base (``plan.time_origin_s`` + true time), i.e. what a perfect clock would stamp.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from ..recording import Recording, SensorStream
from .kinematics import body_motion, ideal_imu, sagittal_angles_deg
from .plan import Fidget, Remount, RepPlan, SessionPlan, SetPlan, Sit, Stand, Walk
from .sensor_model import SampledSensor, sample_sensor
from .timeline import Timeline, min_jerk, smooth_noise

SEGMENT_OF_SENSOR = {"back": "thorax", "hip": "pelvis"}
LEAN_WINDOW_S = 2.0
TRUTH_THRESHOLDS = {"back_rounding_deg": 20.0, "lean_back_deg": 8.0, "incomplete_lockout_deg": 12.0}


@dataclass(frozen=True)
class GroundTruth:
    """Known answers for a simulated session.

    reps : list of dicts with the report's rep fields (times on the recording time base)
    time_s : (n,) truth grid on the recording time base
    trunk_angle_deg, pelvis_angle_deg, spinal_flexion_deg : (n,) true sagittal angles
    """

    reps: list[dict]
    time_s: np.ndarray
    trunk_angle_deg: np.ndarray
    pelvis_angle_deg: np.ndarray
    spinal_flexion_deg: np.ndarray
    set_count: int
    sensors: dict[str, SampledSensor]


@dataclass(frozen=True)
class Simulation:
    plan: SessionPlan
    recording: Recording
    truth: GroundTruth


@dataclass
class _RepMarks:
    plan: RepPlan
    set_index: int
    start: int
    bottom: int
    plateau: tuple[int, int]
    end: int
    next_start: int | None = None
    block_end: int | None = None


def _add_rep(tl: Timeline, rep: RepPlan, set_index: int) -> _RepMarks:
    start = tl.sample_count
    bottom_targets = dict(pelvis_pitch_deg=rep.pelvis_peak_deg, spine_flex_deg=rep.spine_peak_deg,
                          drop_m=rep.drop_peak_m, hip_back_m=rep.hip_back_peak_m,
                          hike_deg=rep.hike_peak_deg, pelvis_yaw_deg=rep.yaw_peak_deg)
    if rep.mid_descent_pause_s > 0:
        tl.move(rep.descent_s / 2, **{k: v * 0.5 for k, v in bottom_targets.items()})
        tl.hold(rep.mid_descent_pause_s)
        tl.move(rep.descent_s / 2, **bottom_targets)
    else:
        tl.move(rep.descent_s, **bottom_targets)
    plateau_start = tl.sample_count - 1
    if rep.bottom_pause_s > 0:
        tl.hold(rep.bottom_pause_s)
    plateau_end = tl.sample_count - 1
    trunk_peak = rep.pelvis_peak_deg + rep.spine_peak_deg
    if rep.lean_back_deg > 0:
        half = -0.5 * rep.lean_back_deg
        tl.move(rep.ascent_s * 1.15, pelvis_pitch_deg=half, spine_flex_deg=half, drop_m=0.0, hip_back_m=0.0,
                hike_deg=0.0, pelvis_yaw_deg=0.0)
        tl.hold(0.25)
        tl.move(0.7, pelvis_pitch_deg=0.0, spine_flex_deg=0.0)
    else:
        frac = rep.lockout_top_deg / trunk_peak
        tl.move(rep.ascent_s, pelvis_pitch_deg=rep.lockout_top_deg * 0.8, spine_flex_deg=rep.lockout_top_deg * 0.2,
                drop_m=rep.drop_peak_m * frac, hip_back_m=rep.hip_back_peak_m * frac, hike_deg=0.0, pelvis_yaw_deg=0.0)
    end = tl.sample_count - 1
    tl.hold(rep.top_pause_s)
    return _RepMarks(rep, set_index, start, (plateau_start + plateau_end) // 2, (plateau_start, plateau_end), end)


@dataclass
class _Events:
    """Sensor-side events on the truth grid: re-mounts (sensor, start, end, new mount) and outages."""

    remounts: list[tuple[str, int, int, Rotation]]
    outages: dict[str, list[tuple[int, int]]]


def build_motion(plan: SessionPlan,
                 rng: np.random.Generator) -> tuple[dict[str, np.ndarray], list[_RepMarks], int, _Events]:
    """Channels on the truth grid, the reps' sample marks, the number of sets and the sensor events."""
    tl = Timeline(plan.truth_rate_hz)
    marks: list[_RepMarks] = []
    set_index = 0
    sway_spans: list[tuple[int, int, float]] = []
    events = _Events([], {})
    for block in plan.blocks:
        begin = tl.sample_count
        if isinstance(block, Stand):
            tl.hold(block.duration_s)
            sway_spans.append((begin, tl.sample_count, block.sway_deg))
        elif isinstance(block, Walk):
            tl.walk(block.duration_s, turn_deg=block.turn_deg, speed_mps=block.speed_mps, step_hz=block.step_hz)
        elif isinstance(block, Fidget):
            n = int(round(block.duration_s * plan.truth_rate_hz))
            window = np.sin(np.pi * np.arange(n) / n) ** 2
            offsets = {c: window * smooth_noise(rng, n, rate_hz=plan.truth_rate_hz, cutoff_hz=0.8, amplitude=a)
                       for c, a in (("pelvis_pitch_deg", block.amplitude_deg),
                                    ("spine_flex_deg", block.amplitude_deg / 2),
                                    ("hike_deg", block.amplitude_deg / 2), ("pelvis_yaw_deg", block.amplitude_deg))}
            tl.add(block.duration_s, offsets)
        elif isinstance(block, SetPlan):
            set_index += 1
            set_marks = [_add_rep(tl, rep, set_index) for rep in block.reps]
            for a, b in zip(set_marks, set_marks[1:]):
                a.next_start = b.start
            set_marks[-1].block_end = tl.sample_count
            marks.extend(set_marks)
            if block.missing_sensor:
                margin = int(2.0 * plan.truth_rate_hz)
                events.outages.setdefault(block.missing_sensor, []).append((begin - margin, tl.sample_count + margin))
        elif isinstance(block, Remount):
            tl.hold(block.duration_s)
            events.remounts.append((block.sensor, begin, tl.sample_count, block.new_mount))
        elif isinstance(block, Sit):
            tl.move(1.0, pelvis_pitch_deg=25.0, spine_flex_deg=10.0, drop_m=0.25, hip_back_m=0.2)
            tl.move(0.9, pelvis_pitch_deg=-15.0, spine_flex_deg=20.0, drop_m=0.45, hip_back_m=0.25)
            tl.hold(block.duration_s)
            tl.move(0.9, pelvis_pitch_deg=30.0, spine_flex_deg=8.0, drop_m=0.35, hip_back_m=0.2)
            tl.move(1.2, pelvis_pitch_deg=0.0, spine_flex_deg=0.0, drop_m=0.0, hip_back_m=0.0)
    channels = tl.channels()
    for begin, end, sway in sway_spans:  # postural sway while standing, faded in and out (no steps)
        n = end - begin
        fade = np.clip(np.minimum(np.arange(n), np.arange(n)[::-1]) / (0.5 * plan.truth_rate_hz), 0.0, 1.0)
        taper = np.sin(0.5 * np.pi * fade) ** 2
        for channel, amplitude in (("pelvis_pitch_deg", sway), ("spine_flex_deg", sway / 2)):
            channels[channel][begin:end] += taper * smooth_noise(rng, n, rate_hz=plan.truth_rate_hz, cutoff_hz=0.4,
                                                                 amplitude=amplitude)
    return channels, marks, set_index, events


def _mounts(base: Rotation, sensor: str, events: _Events, n: int, rng: np.random.Generator) -> Rotation:
    """Per-sample mount of ``sensor``: ``base`` until a re-mount, a handled transition, then the new one."""
    mine = [e for e in events.remounts if e[0] == sensor]
    if not mine:
        return base
    quats = np.tile(base.as_quat(), (n, 1))
    current = base
    for _, start, end, new in mine:
        length = end - start
        wobble = Rotation.from_rotvec(
            np.radians(25.0) * np.sin(np.pi * np.arange(length) / length)[:, None] * rng.normal(size=3)
            / np.sqrt(3))
        path = Slerp([0.0, 1.0], Rotation.concatenate([current, new]))(min_jerk(np.arange(length) / max(1, length - 1)))
        quats[start:end] = (path * wobble).as_quat()
        quats[end:] = new.as_quat()
        current = new
    return Rotation.from_quat(quats)


def simulate(plan: SessionPlan, *, seed: int) -> Simulation:
    """Simulate ``plan`` deterministically; returns the recording and its ground truth."""
    rng = np.random.default_rng(seed)
    channels, marks, set_count, events = build_motion(plan, rng)
    rate = plan.truth_rate_hz
    grid_t = np.arange(channels["heading_deg"].size) / rate
    first_sample_s, last_sample_s = 0.01 * rng.uniform(), grid_t[-1] - 0.01
    if plan.truncate:  # start inside the first rep's descent, stop inside the last rep's ascent
        first, last = marks[0], marks[-1]
        first_sample_s = grid_t[(first.start + first.plateau[0]) // 2]
        last_sample_s = grid_t[(last.plateau[1] + last.end) // 2]
    motion = body_motion(channels, plan.geometry)
    trunk, _, _ = sagittal_angles_deg(motion["thorax"].rotation, plan.geometry.trunk_standing_pitch_deg)
    pelvis, hike, m_heading = sagittal_angles_deg(motion["pelvis"].rotation, plan.geometry.pelvis_standing_pitch_deg)

    sensors: dict[str, SensorStream] = {}
    sampled: dict[str, SampledSensor] = {}
    for name, sensor_plan in plan.sensors.items():
        seg = motion[SEGMENT_OF_SENSOR[name]]
        mount = _mounts(sensor_plan.mount, name, events, grid_t.size, rng)
        acc, gyr = ideal_imu(seg, mount, truth_rate_hz=rate)
        outages = [(grid_t[max(0, a)], grid_t[min(grid_t.size - 1, b)]) for a, b in events.outages.get(name, [])]
        s = sample_sensor(rng, grid_t, acc, gyr, sensor_plan.errors, start_s=first_sample_s, end_s=last_sample_s,
                          outages_s=outages)
        sampled[name] = s
        acc_out, gyr_out = s.acc_mps2 * plan.acc_scale, s.gyr_radps * plan.gyr_scale
        if plan.mirror_axis is not None:
            acc_out[:, plan.mirror_axis] *= -1
            gyr_out[:, plan.mirror_axis] *= -1
        sensors[name] = SensorStream(time_s=s.stamp_s + plan.time_origin_s, acc_mps2=acc_out, gyr_radps=gyr_out)

    hip_z = motion["pelvis"].position_m[:, 2]
    reps: list[dict] = []
    for mk in marks:
        rep = _rep_truth(len(reps) + 1, mk, grid_t, trunk, pelvis, hike, m_heading, hip_z, plan)
        if grid_t[mk.end] < first_sample_s or grid_t[mk.start] > last_sample_s:
            continue  # not recorded at all
        rep["partial"] = bool(grid_t[mk.start] < first_sample_s or grid_t[mk.end] > last_sample_s)
        for sensor, fields in (("hip", ("pelvis_angle_deg", "back_rounding_deg", "hip_drop_m", "hip_hike_deg",
                                        "pelvis_rotation_deg")),
                               ("back", ("trunk_angle_deg", "back_rounding_deg", "lockout_lean_back_deg"))):
            absent = sensor not in plan.sensors or any(a <= mk.end and b >= mk.start
                                                       for a, b in events.outages.get(sensor, []))
            if absent:
                rep.update({f: None for f in fields})
                if sensor == "hip":
                    rep["flags"] = [f for f in rep["flags"] if f != "back_rounding"]
                else:
                    rep["flags"] = [f for f in rep["flags"] if f not in ("back_rounding", "lean_back")]
        reps.append(rep)
    recording = Recording(sensors=sensors, metadata={
        "synthetic": "true", "source": "hinge simulate", "family": plan.family, "seed": str(seed),
    })
    truth = GroundTruth(reps=reps, time_s=grid_t + plan.time_origin_s, trunk_angle_deg=trunk, pelvis_angle_deg=pelvis,
                        spinal_flexion_deg=trunk - pelvis, set_count=set_count, sensors=sampled)
    return Simulation(plan=plan, recording=recording, truth=truth)


def _rep_truth(index, mk: _RepMarks, t, trunk, pelvis, hike, m_heading, hip_z, plan: SessionPlan) -> dict:
    rate = plan.truth_rate_hz
    span = slice(mk.start, mk.end + 1)
    stop = mk.next_start if mk.next_start is not None else mk.block_end
    assert stop is not None  # each rep is followed by another in its set or ends its block
    lean_end = min(stop, mk.end + int(LEAN_WINDOW_S * rate))
    lean = max(0.0, -float(trunk[mk.bottom:lean_end].min()))
    rounding = float((trunk - pelvis)[span].max())
    rep = mk.plan
    top_angle = float(trunk[mk.bottom:lean_end].min())
    flags = []
    if rounding >= TRUTH_THRESHOLDS["back_rounding_deg"]:
        flags.append("back_rounding")
    if lean >= TRUTH_THRESHOLDS["lean_back_deg"]:
        flags.append("lean_back")
    if mk.next_start is not None and top_angle > TRUTH_THRESHOLDS["incomplete_lockout_deg"]:
        flags.append("incomplete_lockout")
    origin = plan.time_origin_s
    return {
        "index": index,
        "set_index": mk.set_index,
        "movement": rep.category,
        "movement_detail": rep.movement,
        "start_s": origin + t[mk.start],
        "bottom_s": origin + t[mk.bottom],
        "end_s": origin + t[mk.end],
        "trunk_angle_deg": float(trunk[span].max()),
        "pelvis_angle_deg": float(pelvis[span].max()),
        "back_rounding_deg": rounding,
        "lockout_lean_back_deg": lean,
        "descent_s": t[mk.plateau[0]] - t[mk.start],
        "bottom_pause_s": t[mk.plateau[1]] - t[mk.plateau[0]],
        "ascent_s": t[mk.end] - t[mk.plateau[1]],
        "top_pause_s": (t[mk.next_start] - t[mk.end]) if mk.next_start is not None else None,
        "hip_drop_m": float(hip_z[mk.start] - hip_z[span].min()),
        "hip_hike_deg": float(hike[mk.bottom]),
        "pelvis_rotation_deg": float(m_heading[mk.bottom] - m_heading[mk.start]),
        "flags": flags,
        "partial": False,
    }
