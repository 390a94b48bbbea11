"""The handedness check: decided from quiet moments (gravity alone) and the gyroscope between them, so body
motion cannot fake it; importers that know the frame are never overruled."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from hinge.analysis.pipeline import AnalysisOptions, analyze
from hinge.analysis.recording import Recording, SensorStream
from hinge.analysis.report import build_report
from hinge.analysis.resample import regularize
from hinge.analysis.simulate import FAMILIES, simulate
from hinge.analysis.simulate.plan import Fidget, SetPlan, Stand, Walk
from hinge.analysis.units import AxesCheck, AxesDecision, axes_may_reverse, decide_axes

RATE_HZ = 100.0
G_MPS2 = 9.80665


def _mirrored(stream: SensorStream, axis: int) -> SensorStream:
    acc, gyr = stream.acc_mps2.copy(), stream.gyr_radps.copy()
    acc[:, axis] *= -1
    gyr[:, axis] *= -1
    return SensorStream(stream.time_s, acc, gyr)


def _driven_rod(rng: np.random.Generator, *, holds: bool) -> SensorStream:
    """A sensor 0.45 m below a pivot (a phone on a swinging thigh or arm), shaken at 1.2 Hz, faster than a
    pendulum of that length swings (r·Ω² ≈ 2.6 g): the low-passed total acceleration then turns against the
    gravity direction. With ``holds`` the rod rests for 1 s at a new random tilt between bursts."""
    radius_m, burst_s, hold_s = 0.45, 2.5, 1.0 if holds else 0.0
    angles, angle = [], 0.0
    for _ in range(20):
        target = rng.uniform(-1.0, 1.0)
        tau = np.arange(int(burst_s * RATE_HZ)) / (burst_s * RATE_HZ)
        ramp = angle + (target - angle) * (10 * tau**3 - 15 * tau**4 + 6 * tau**5)
        angles += [ramp + 0.6 * np.sin(np.pi * tau) ** 2 * np.sin(2 * np.pi * 1.2 * burst_s * tau),
                   np.full(int(hold_s * RATE_HZ), target)]
        angle = target
    theta = np.concatenate(angles)
    dt = 1.0 / RATE_HZ
    rate = np.gradient(theta, dt)
    accel = np.gradient(rate, dt)
    # rotation about the world y axis by theta; position of the sensor: pivot + R (0, 0, -r) = (-r sin, 0, -r cos)
    s, c = np.sin(theta), np.cos(theta)
    world_acc = radius_m * np.column_stack([s * rate**2 - c * accel, 0 * theta, s * accel + c * rate**2])
    specific = world_acc + [0.0, 0.0, G_MPS2]
    # into sensor axes: R^T f with R = [[c, 0, s], [0, 1, 0], [-s, 0, c]]
    acc = np.column_stack([c * specific[:, 0] - s * specific[:, 2], specific[:, 1],
                           s * specific[:, 0] + c * specific[:, 2]])
    gyr = np.column_stack([0 * theta, rate, 0 * theta])
    acc += rng.normal(0, 0.05, acc.shape)
    gyr += rng.normal(0, 0.005, gyr.shape)
    return SensorStream(np.arange(theta.size) / RATE_HZ, acc, gyr)


@pytest.mark.parametrize("mirror_axis", [None, 0, 1, 2])
def test_violent_motion_with_quiet_moments_is_judged_by_the_quiet_moments(mirror_axis):
    stream = _driven_rod(np.random.default_rng(1), holds=True)
    if mirror_axis is not None:
        stream = _mirrored(stream, mirror_axis)
    evidence, windows = AxesCheck().check(stream.acc_mps2, stream.gyr_radps, sampling_rate_hz=RATE_HZ)
    assert windows >= AxesCheck().full_windows
    assert evidence > 0.8 if mirror_axis is None else evidence < -0.8


@pytest.mark.parametrize("mirror_axis", [None, 0])
def test_violent_motion_without_quiet_moments_decides_nothing(mirror_axis):
    stream = _driven_rod(np.random.default_rng(2), holds=False)
    if mirror_axis is not None:
        stream = _mirrored(stream, mirror_axis)
    decision = decide_axes({"hip": regularize("hip", stream)}, {})["hip"]
    assert (decision.check, decision.decided_by, decision.reversed) == ("unsure", "default", False)
    assert decision.confidence < 0.5


def _first_set(plan) -> SetPlan:
    return next(block for block in plan.blocks if isinstance(block, SetPlan))


def _heavy_session(seed: int, mirror_axis: int | None):
    """Running, turning, big fidgets and continuous kettlebell swings between paused RDL sets, in either frame."""
    rng = np.random.default_rng(seed)
    base = FAMILIES["walking_sets"](rng)
    swings = SetPlan(tuple(replace(r, top_pause_s=0.0) for r in _first_set(FAMILIES["swing"](rng)).reps))
    rdls = _first_set(FAMILIES["slow_pause"](rng))
    blocks = (Stand(0.5), Walk(8.0, turn_deg=170.0, speed_mps=2.8, step_hz=2.9), Fidget(6.0, amplitude_deg=25.0),
              swings, Walk(5.0, turn_deg=-120.0, speed_mps=2.5, step_hz=2.7), rdls, Fidget(4.0, amplitude_deg=20.0),
              swings, Stand(0.5))
    return simulate(replace(base, blocks=blocks, mirror_axis=mirror_axis), seed=seed)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("mirror_axis", [None, 0, 2])
def test_heavy_body_motion_in_both_frames(seed, mirror_axis):
    recording = _heavy_session(seed, mirror_axis).recording
    result = analyze(recording)
    for name, decision in result.units.axes.items():
        expected = "right-handed" if mirror_axis is None else "left-handed"
        assert decision.check == expected, (name, decision)
        assert decision.reversed == (mirror_axis is not None)
        assert decision.confidence >= 0.5


def test_a_frame_known_to_the_importer_is_never_flipped_and_a_disagreement_is_reported():
    recording = _heavy_session(3, 0).recording  # mirrored data, yet labelled right-handed by "the importer"
    labelled = Recording(recording.sensors, {**recording.metadata, "back_axes": "right-handed",
                                             "hip_axes": "right-handed"})
    result = analyze(labelled)
    report = build_report(result)
    for name in recording.sensors:
        axes = report["units"]["axes"][name]
        assert (axes["frame"], axes["decided_by"], axes["reversed"]) == ("right-handed", "importer", False)
        assert axes["check"] == "left-handed" and axes["confidence"] >= 0.5
        as_recorded = regularize(name, recording.sensors[name]).gyr_radps
        np.testing.assert_array_equal(result.streams[name].gyr_radps, as_recorded)
    codes = [(w["code"], w["sensor"]) for w in report["warnings"]]
    assert ("axes_disagreement", "back") in codes and ("axes_disagreement", "hip") in codes
    assert not any(code == "unit_conversion" for code, _ in codes)


def test_the_option_wins_over_the_importer_and_the_data():
    recording = _heavy_session(4, None).recording
    labelled = Recording(recording.sensors, {**recording.metadata, "hip_axes": "right-handed"})
    result = analyze(labelled, options=AnalysisOptions(axes="left-handed"))
    assert all(d.decided_by == "option" and d.reversed for d in result.units.axes.values())
    assert {w.code for w in result.warnings} >= {"axes_disagreement"}


def test_axes_may_reverse_only_while_an_unsure_check_leans_to_a_mirrored_frame():
    def decision(decided_by: str, evidence: float) -> AxesDecision:
        frame = "left-handed" if decided_by == "data" and evidence < 0 else "right-handed"
        return AxesDecision(frame, decided_by, "unsure", evidence, 1, abs(evidence) / 6, frame == "left-handed")

    assert axes_may_reverse({"back": decision("default", -0.9), "hip": decision("data", 0.9)})
    assert not axes_may_reverse({"back": decision("default", 0.4)})  # leans the way it is kept
    assert not axes_may_reverse({"back": decision("default", 0.0)})  # nothing seen yet: real sets often stay so
    assert not axes_may_reverse({"back": decision("data", -0.9), "hip": decision("importer", -0.9)})  # settled
