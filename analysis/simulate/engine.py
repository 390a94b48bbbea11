"""Run a :class:`SessionPlan`: build the motion, sample the sensors, and compute the ground truth.

Ground-truth rep fields use the report's names and definitions (``docs/report-format.md``); times are on the
recording's time base (``plan.time_origin_s`` + true time), i.e. what a perfect clock would stamp.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..recording import Recording, SensorStream
from .kinematics import body_motion, ideal_imu, sagittal_angles_deg
from .plan import Fidget, RepPlan, SessionPlan, SetPlan, Stand, Walk
from .sensor_model import SampledSensor, sample_sensor
from .timeline import Timeline, smooth_noise

SEGMENT_OF_SENSOR = {"back": "thorax", "hip": "pelvis"}
LAST_REP_LEAN_WINDOW_S = 2.0
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


def build_motion(plan: SessionPlan, rng: np.random.Generator) -> tuple[dict[str, np.ndarray], list[_RepMarks], int]:
    """Channels on the truth grid, the reps' sample marks, and the number of sets."""
    tl = Timeline(plan.truth_rate_hz)
    marks: list[_RepMarks] = []
    set_index = 0
    sway_spans: list[tuple[int, int, float]] = []
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
                       for c, a in (("pelvis_pitch_deg", block.amplitude_deg), ("spine_flex_deg", block.amplitude_deg / 2),
                                    ("hike_deg", block.amplitude_deg / 2), ("pelvis_yaw_deg", block.amplitude_deg))}
            tl.add(block.duration_s, offsets)
        elif isinstance(block, SetPlan):
            set_index += 1
            set_marks = [_add_rep(tl, rep, set_index) for rep in block.reps]
            for a, b in zip(set_marks, set_marks[1:]):
                a.next_start = b.start
            set_marks[-1].block_end = tl.sample_count
            marks.extend(set_marks)
    channels = tl.channels()
    for begin, end, sway in sway_spans:  # postural sway while standing, faded in and out (no steps)
        n = end - begin
        fade = np.clip(np.minimum(np.arange(n), np.arange(n)[::-1]) / (0.5 * plan.truth_rate_hz), 0.0, 1.0)
        taper = np.sin(0.5 * np.pi * fade) ** 2
        for channel, amplitude in (("pelvis_pitch_deg", sway), ("spine_flex_deg", sway / 2)):
            channels[channel][begin:end] += taper * smooth_noise(rng, n, rate_hz=plan.truth_rate_hz, cutoff_hz=0.4,
                                                                 amplitude=amplitude)
    return channels, marks, set_index


def simulate(plan: SessionPlan, *, seed: int) -> Simulation:
    """Simulate ``plan`` deterministically; returns the recording and its ground truth."""
    rng = np.random.default_rng(seed)
    channels, marks, set_count = build_motion(plan, rng)
    rate = plan.truth_rate_hz
    grid_t = np.arange(channels["heading_deg"].size) / rate
    motion = body_motion(channels, plan.geometry)
    trunk, _, _ = sagittal_angles_deg(motion["thorax"].rotation, plan.geometry.trunk_standing_pitch_deg)
    pelvis, hike, m_heading = sagittal_angles_deg(motion["pelvis"].rotation, plan.geometry.pelvis_standing_pitch_deg)

    sensors: dict[str, SensorStream] = {}
    sampled: dict[str, SampledSensor] = {}
    for name, sensor_plan in plan.sensors.items():
        seg = motion[SEGMENT_OF_SENSOR[name]]
        acc, gyr = ideal_imu(seg, sensor_plan.mount, truth_rate_hz=rate)
        s = sample_sensor(rng, grid_t, acc, gyr, sensor_plan.errors, start_s=0.01 * rng.uniform(), end_s=grid_t[-1] - 0.01)
        sampled[name] = s
        sensors[name] = SensorStream(time_s=s.stamp_s + plan.time_origin_s, acc_mps2=s.acc_mps2, gyr_radps=s.gyr_radps)

    hip_z = motion["pelvis"].position_m[:, 2]
    reps = [_rep_truth(i + 1, mk, grid_t, trunk, pelvis, hike, m_heading, hip_z, plan) for i, mk in enumerate(marks)]
    recording = Recording(sensors=sensors, metadata={
        "synthetic": "true", "source": "hinge simulate", "family": plan.family, "seed": str(seed),
    })
    truth = GroundTruth(reps=reps, time_s=grid_t + plan.time_origin_s, trunk_angle_deg=trunk, pelvis_angle_deg=pelvis,
                        spinal_flexion_deg=trunk - pelvis, set_count=set_count, sensors=sampled)
    return Simulation(plan=plan, recording=recording, truth=truth)


def _rep_truth(index, mk: _RepMarks, t, trunk, pelvis, hike, m_heading, hip_z, plan: SessionPlan) -> dict:
    rate = plan.truth_rate_hz
    span = slice(mk.start, mk.end + 1)
    if mk.next_start is not None:
        lean_end = mk.next_start
    else:
        lean_end = min(mk.block_end, mk.end + int(LAST_REP_LEAN_WINDOW_S * rate))
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
