"""Physics checks of the simulator and of the numeric building blocks against independent formulas."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from scipy.spatial.transform import Rotation

from hinge.analysis.angles import segment_angles
from hinge.analysis.calibration import Anchor, SegmentCalibration, sagittal_angle_deg
from hinge.analysis.hip_travel import forward_acceleration_mps2
from hinge.analysis.orientation import Orientation, vqf_offline
from hinge.analysis.simulate.kinematics import G_MPS2, BodyGeometry, body_motion, ideal_imu, sagittal_angles_deg
from hinge.analysis.simulate.timeline import CHANNELS, Timeline, min_jerk

RATE_HZ = 1000.0


def _geometry() -> BodyGeometry:
    return BodyGeometry(pelvis_standing_pitch_deg=8.0, trunk_standing_pitch_deg=-3.0, hip_height_m=0.9,
                        lumbar_offset_m=0.1, back_sensor_lever_m=np.array([-0.1, 0.0, 0.4]),
                        hip_sensor_lever_m=np.array([-0.12, 0.0, 0.08]))


def _channels(n: int, **overrides) -> dict[str, np.ndarray]:
    ch = {c: np.zeros(n) for c in CHANNELS}
    ch.update(overrides)
    return ch


def test_constant_rate_integrates_to_the_known_angle():
    n = 3000
    t = np.arange(n) / RATE_HZ
    pitch = 20.0 * t  # 20 deg/s for 3 s
    motion = body_motion(_channels(n, pelvis_pitch_deg=pitch), _geometry())
    mount = Rotation.from_euler("xyz", [30, -110, 45], degrees=True)
    _, gyr = ideal_imu(motion["pelvis"], mount, truth_rate_hz=RATE_HZ)
    integrated_deg = np.degrees(np.linalg.norm(gyr[1:-1].sum(axis=0) / RATE_HZ))
    assert abs(integrated_deg - (pitch[-2] - pitch[1])) < 0.05
    np.testing.assert_allclose(np.linalg.norm(gyr[10:-10], axis=1), np.radians(20.0), rtol=1e-6)


def test_at_rest_specific_force_is_gravity_in_any_mounting():
    n = 200
    motion = body_motion(_channels(n), _geometry())
    for seed in range(5):
        mount = Rotation.random(random_state=seed)
        acc, gyr = ideal_imu(motion["thorax"], mount, truth_rate_hz=RATE_HZ)
        np.testing.assert_allclose(np.linalg.norm(acc, axis=1), G_MPS2, atol=1e-9)
        np.testing.assert_allclose(gyr, 0.0, atol=1e-12)
        # the up axis of the sensor reads +g: acc equals the mount's view of world z (segment upright-ish)
        sensor_to_world = motion["thorax"].rotation * mount
        np.testing.assert_allclose(sensor_to_world[0].apply(acc[0]), [0, 0, G_MPS2], atol=1e-9)


def test_true_sagittal_angle_of_a_pure_pitch_is_the_pitch():
    n = 500
    pitch = np.linspace(-15.0, 80.0, n)
    motion = body_motion(_channels(n, pelvis_pitch_deg=pitch, heading_deg=np.full(n, 137.0)), _geometry())
    sagittal, hike, _ = sagittal_angles_deg(motion["pelvis"].rotation, 8.0)
    np.testing.assert_allclose(sagittal, pitch, atol=1e-9)
    np.testing.assert_allclose(hike, 0.0, atol=1e-9)


def test_sensor_axis_angle_formula_matches_world_formula_for_random_frames():
    rng = np.random.default_rng(3)
    up_s = Rotation.random(random_state=1).apply([0, 0, 1.0])
    hinge_s = np.cross(up_s, rng.normal(size=3))
    hinge_s /= np.linalg.norm(hinge_s)
    rotations = Rotation.random(200, random_state=2)
    vertical_s = rotations.inv().apply([0, 0, 1.0])
    ours = sagittal_angle_deg(vertical_s, up_s, hinge_s)
    u, m = rotations.apply(up_s), rotations.apply(hinge_s)
    f = np.cross(m, [0, 0, 1.0])
    f /= np.linalg.norm(f, axis=1, keepdims=True)
    independent = np.degrees(np.arctan2(np.einsum("ij,ij->i", u, f), u[:, 2]))
    np.testing.assert_allclose(ours, independent, atol=1e-9)


def test_segment_angles_per_anchor_equal_the_per_sample_formula():
    """Three anchors (a re-anchor and a re-mount): the angles computed anchor by anchor with (3,) axes equal the
    formulas applied with each sample's own (n, 3) axes, and the heading equals SciPy's rotation of the axis."""
    n = 600
    rotations = Rotation.random(n, random_state=8)
    o = Orientation(quat_wxyz=rotations.as_quat(scalar_first=True), gyr_bias_radps=np.zeros((n, 3)),
                    rest=np.zeros(n, dtype=bool))
    time_s = np.arange(n) / 100.0
    frames = Rotation.random(3, random_state=7).as_matrix()
    anchors = tuple(Anchor(from_s, from_s, from_s, frames[i][:, 2], frames[i][:, 1], "standing")
                    for i, from_s in enumerate([0.0, 1.7, 4.25]))
    calibration = SegmentCalibration("hip", anchors, 9.81)
    stream = SimpleNamespace(time_s=time_s, sampling_rate_hz=100.0, measured=np.ones(n, dtype=bool))
    angles = segment_angles(stream, o, calibration)
    up, hinge = calibration.up_at(time_s), calibration.hinge_at(time_s)
    vertical = o.vertical_in_sensor()
    np.testing.assert_allclose(angles.sagittal_deg, sagittal_angle_deg(vertical, up, hinge), atol=1e-9)
    np.testing.assert_allclose(angles.hike_deg, np.degrees(np.arcsin(np.einsum("ij,ij->i", vertical, hinge))),
                               atol=1e-9)
    m = rotations.apply(hinge)
    np.testing.assert_allclose(angles.hinge_heading_deg, np.degrees(np.unwrap(np.arctan2(m[:, 1], m[:, 0]))),
                               atol=1e-9)


def test_forward_acceleration_matches_the_world_formula():
    """a · (h × v) / |h × v| in sensor axes equals the world acceleration along normalize((R h) × z)."""
    n = 400
    rotations = Rotation.random(n, random_state=9)
    rng = np.random.default_rng(10)
    o = Orientation(quat_wxyz=rotations.as_quat(scalar_first=True), gyr_bias_radps=np.zeros((n, 3)),
                    rest=np.zeros(n, dtype=bool))
    acc = rng.normal(scale=5.0, size=(n, 3))
    stream = SimpleNamespace(acc_mps2=acc)
    for hinge_s in (Rotation.random(n, random_state=11).apply([0, 1.0, 0]), np.array([0.6, 0.0, 0.8])):
        m = rotations.apply(np.tile(hinge_s, (n, 1)) if hinge_s.ndim == 1 else hinge_s)
        forward = np.cross(m, [0, 0, 1.0])
        forward /= np.linalg.norm(forward, axis=1, keepdims=True)
        independent = np.einsum("ij,ij->i", rotations.apply(acc), forward)
        np.testing.assert_allclose(forward_acceleration_mps2(stream, o, hinge_s), independent, atol=1e-9)


def test_quaternion_helpers_match_scipy():
    rotations = Rotation.random(50, random_state=4)
    o = Orientation(quat_wxyz=rotations.as_quat(scalar_first=True), gyr_bias_radps=np.zeros((50, 3)),
                    rest=np.zeros(50, dtype=bool))
    np.testing.assert_allclose(o.vertical_in_sensor(), rotations.inv().apply([0, 0, 1.0]), atol=1e-12)
    v = np.random.default_rng(0).normal(size=(50, 3))
    np.testing.assert_allclose(o.rotate_to_world(v), rotations.apply(v), atol=1e-12)


def test_vqf_tracks_a_known_tilt_with_gyro_bias():
    rate = 100.0
    tl = Timeline(rate)
    tl.hold(3.0)
    for _ in range(3):
        tl.move(1.5, pelvis_pitch_deg=60.0)
        tl.move(1.5, pelvis_pitch_deg=0.0)
    tl.hold(2.0)
    ch = tl.channels()
    motion = body_motion(ch, _geometry())
    mount = Rotation.from_euler("xyz", [170, 20, -60], degrees=True)
    acc, gyr = ideal_imu(motion["pelvis"], mount, truth_rate_hz=rate)
    gyr = gyr + [0.02, -0.015, 0.01]  # constant bias, about 1.5 deg/s
    o = vqf_offline(gyr, acc, rate)
    up_s = mount.inv().apply(Rotation.from_euler("Y", -8.0, degrees=True).apply([0, 0, 1.0]))
    tilt = np.degrees(np.arccos(np.clip(o.vertical_in_sensor() @ up_s, -1, 1)))
    truth, _, _ = sagittal_angles_deg(motion["pelvis"].rotation, 8.0)
    assert np.max(np.abs(tilt - np.abs(truth))) < 2.0


def test_min_jerk_has_zero_velocity_at_both_ends():
    tau = np.linspace(0, 1, 1001)
    s = min_jerk(tau)
    assert s[0] == 0 and s[-1] == 1
    v = np.gradient(s, tau)
    assert abs(v[0]) < 1e-3 and abs(v[-1]) < 1e-3
