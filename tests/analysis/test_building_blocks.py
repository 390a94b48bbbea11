"""Blocks tested in isolation: timestamp recovery, unit detection, segmentation on known angle signals,
metrics given the true rep boundaries."""

from __future__ import annotations

import numpy as np
import pytest

from hinge.analysis.errors import RecordingError
from hinge.analysis.recording import Recording, SensorStream
from hinge.analysis.resample import regularize
from hinge.analysis.segmentation import RepSegmenter
from hinge.analysis.simulate import simulate_family
from hinge.analysis.simulate.timeline import Timeline
from hinge.analysis.units import decide_units, to_canonical


@pytest.mark.parametrize("family, seed", [("rounding", 1), ("lean_back", 1), ("walking_sets", 2), ("swing", 4)])
def test_timestamp_recovery_within_half_a_sample(family, seed):
    sim = simulate_family(family, seed=seed)
    for name, stream in sim.recording.sensors.items():
        u = regularize(name, stream)
        true_t = sim.truth.sensors[name].true_time_s + sim.plan.time_origin_s
        error = u.time_s[u.measured] - true_t
        assert u.measured.sum() == stream.sample_count
        assert np.max(np.abs(error - error.mean())) * u.sampling_rate_hz <= 0.6
        assert u.sampling_rate_hz == pytest.approx(sim.plan.sensors[name].errors.sampling_rate_hz, rel=2e-3)


def test_dropouts_become_gaps_not_samples():
    t = np.concatenate([np.arange(0, 5, 0.01), np.arange(5.3, 10, 0.01)])
    stream = SensorStream(t, np.tile([0, 0, 9.81], (t.size, 1)), np.zeros((t.size, 3)))
    u = regularize("hip", stream)
    assert u.quality.missing_samples == pytest.approx(29, abs=1)
    assert len(u.quality.gaps_s) == 1 and u.quality.gaps_s[0][1] == pytest.approx(0.29, abs=0.011)
    assert u.measured.sum() == t.size


@pytest.mark.parametrize("lost, burst, fast_ppm", [
    (0, (2, 4), 300.0), (1, (2, 4), 300.0), (3, (2, 4), 300.0),
    (40, (1, 2), 0.0), (40, (1, 3), 300.0),
])
def test_every_sample_finds_its_index_through_jitter_drift_and_losses(lost, burst, fast_ppm):
    """Stamps jittered by up to 0.2 periods on a clock ``fast_ppm`` fast: each kept sample is placed on its true
    index (the lost ones, in bursts of ``burst`` samples, become filled gaps), and the rate is the least-squares
    one."""
    rng = np.random.default_rng(lost)
    n, rate_hz = 30_000, 200.0
    true_k = np.arange(n)
    keep = np.ones(n, dtype=bool)
    for start in rng.choice(np.arange(100, n - 100, 10), size=lost, replace=False):
        keep[start:start + rng.integers(*burst)] = False
    t = 1_763_700_000.0 + true_k / (rate_hz * (1 + 1e-6 * fast_ppm)) + rng.uniform(-0.2, 0.2, n) / rate_hz
    acc = rng.normal(size=(n, 3))
    u = regularize("back", SensorStream(t[keep], acc[keep], np.zeros((keep.sum(), 3))))
    assert u.time_s.size == n
    np.testing.assert_array_equal(u.measured, keep)
    np.testing.assert_array_equal(u.acc_mps2[keep], acc[keep])
    slope = np.polyfit(true_k[keep].astype(float), t[keep] - t[0], 1)[0]
    assert u.sampling_rate_hz == pytest.approx(1.0 / slope, rel=1e-9)
    assert u.quality.missing_samples == n - keep.sum()


def _recording(acc_scale: float, gyr_scale: float) -> Recording:
    rng = np.random.default_rng(0)
    n = 2000
    acc = np.tile([0.0, 0.0, 9.80665], (n, 1)) + rng.normal(0, 0.3, (n, 3))
    gyr = np.column_stack([2.0 * np.sin(np.arange(n) / 50.0), np.zeros(n), np.zeros(n)])
    return Recording({"back": SensorStream(np.arange(n) / 100.0, acc * acc_scale, gyr * gyr_scale)})


def test_units_in_g_and_deg_per_s_are_detected_and_converted():
    rec = _recording(1 / 9.80665, 180 / np.pi)
    decision = decide_units(rec, acc_unit="auto", gyr_unit="auto")
    assert (decision.acc_unit, decision.gyr_unit) == ("g", "deg/s") and len(decision.notes) == 2
    canonical = to_canonical(rec, decision)
    np.testing.assert_allclose(canonical.sensors["back"].acc_mps2, _recording(1, 1).sensors["back"].acc_mps2)


def test_ambiguous_units_name_the_option():
    with pytest.raises(RecordingError, match="--acc-unit"):
        decide_units(_recording(0.3, 1.0), acc_unit="auto", gyr_unit="auto")
    explicit = decide_units(_recording(1.0, 1.0), acc_unit="m/s2", gyr_unit="rad/s")
    assert explicit.notes == ()


def _angle_signal(rate_hz: float, build) -> np.ndarray:
    tl = Timeline(rate_hz)
    tl.hold(3.0)
    build(tl)
    tl.hold(3.0)
    return tl.channels()["pelvis_pitch_deg"]


@pytest.mark.parametrize("name, build, expected", [
    ("6 s descents with pauses", lambda tl: [
        (tl.move(3.0, pelvis_pitch_deg=30), tl.hold(1.0), tl.move(3.0, pelvis_pitch_deg=70), tl.hold(1.5),
         tl.move(2.0, pelvis_pitch_deg=0), tl.hold(1.0)) for _ in range(3)], 3),
    ("partial depth 35 deg", lambda tl: [(tl.move(1.5, pelvis_pitch_deg=35), tl.move(1.5, pelvis_pitch_deg=0),
                                         tl.hold(0.5)) for _ in range(4)], 4),
    ("swings at 50 per minute", lambda tl: [(tl.move(0.5, pelvis_pitch_deg=50), tl.move(0.45, pelvis_pitch_deg=0),
                                            tl.hold(0.25)) for _ in range(12)], 12),
    ("lean-back overshoot", lambda tl: [(tl.move(1.5, pelvis_pitch_deg=60), tl.move(1.7, pelvis_pitch_deg=-14),
                                        tl.hold(0.3), tl.move(0.7, pelvis_pitch_deg=0), tl.hold(0.8))
                                       for _ in range(5)], 5),
    ("bump on the way up", lambda tl: [(tl.move(1.5, pelvis_pitch_deg=60), tl.move(0.6, pelvis_pitch_deg=40),
                                       tl.move(0.3, pelvis_pitch_deg=44), tl.move(1.0, pelvis_pitch_deg=0),
                                       tl.hold(1.0)) for _ in range(3)], 3),
    ("sway and fidgeting only", lambda tl: [(tl.move(1.0, pelvis_pitch_deg=6), tl.move(1.0, pelvis_pitch_deg=-4),
                                            tl.move(1.0, pelvis_pitch_deg=0)) for _ in range(6)], 0),
])
def test_segmentation_counts_each_rep_once(name, build, expected):
    rate = 100.0
    angle = _angle_signal(rate, build)
    angle = angle + np.random.default_rng(1).normal(0, 0.2, angle.size)
    reps = RepSegmenter().segment(angle, rate_hz=rate)
    assert len(reps) == expected, name
    for r in reps:
        assert r.start < r.bottom < r.end and not r.partial


def test_lean_back_rep_ends_when_the_trunk_comes_back_through_standing():
    rate = 100.0
    tl = Timeline(rate)
    tl.hold(3.0)
    tl.move(1.5, pelvis_pitch_deg=60)
    tl.move(1.7, pelvis_pitch_deg=-14)
    tl.hold(0.3)
    back_at_standing_s = tl.now_s + 0.7
    tl.move(0.7, pelvis_pitch_deg=0)
    tl.hold(3.0)
    (rep,) = RepSegmenter().segment(tl.channels()["pelvis_pitch_deg"], rate_hz=rate)
    assert abs(rep.end / rate - back_at_standing_s) < 0.15
