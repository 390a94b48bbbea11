"""Rigid-body kinematics: channels → segment orientations → ideal sensor signals and true angles.

World frame: z up, gravity ``-G_MPS2 * z``. Segment frames (pelvis, thorax): x forward, y left, z up along
the segment when standing upright. A segment's orientation is ``Rz(heading + yaw) · Rx(hike) · Ry(pitch)``
(pitch positive = forward flexion, see ``docs/conventions.md``). A sensor is rigidly mounted with rotation
``mount`` (sensor → segment) at a lever arm given in the segment frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

G_MPS2 = 9.80665


@dataclass(frozen=True)
class BodyGeometry:
    """Standing posture and lever arms of one simulated lifter (m and deg)."""

    pelvis_standing_pitch_deg: float
    trunk_standing_pitch_deg: float
    hip_height_m: float
    lumbar_offset_m: float           # hip joint → lumbosacral joint, along the pelvis z axis
    back_sensor_lever_m: np.ndarray  # (3,) thorax frame, lumbosacral joint → back sensor
    hip_sensor_lever_m: np.ndarray   # (3,) pelvis frame, hip joint → hip sensor


@dataclass(frozen=True)
class SegmentMotion:
    """True motion of a sensor's segment and point on the fine grid.

    rotation : segment → world orientation, n rotations
    position_m : (n, 3) world position of the sensor point
    """

    rotation: Rotation
    position_m: np.ndarray


def _segment_rotation(heading_deg, yaw_deg, hike_deg, pitch_deg) -> Rotation:
    return Rotation.from_euler(
        "ZXY", np.column_stack([heading_deg + yaw_deg, hike_deg, pitch_deg]), degrees=True
    )


def body_motion(ch: dict[str, np.ndarray], geometry: BodyGeometry) -> dict[str, SegmentMotion]:
    """Segment orientations and sensor-point positions for ``pelvis`` (hip sensor) and ``thorax`` (back)."""
    pelvis_pitch = geometry.pelvis_standing_pitch_deg + ch["pelvis_pitch_deg"]
    trunk_pitch = geometry.trunk_standing_pitch_deg + ch["pelvis_pitch_deg"] + ch["spine_flex_deg"]
    pelvis = _segment_rotation(ch["heading_deg"], ch["pelvis_yaw_deg"], ch["hike_deg"], pelvis_pitch)
    # the thorax follows half the pelvic rotation and none of the hike (the spine compensates)
    thorax = _segment_rotation(ch["heading_deg"], 0.5 * ch["pelvis_yaw_deg"], np.zeros_like(pelvis_pitch), trunk_pitch)
    heading = np.radians(ch["heading_deg"])
    hip_joint = np.column_stack([
        ch["pos_x_m"] - ch["hip_back_m"] * np.cos(heading),
        ch["pos_y_m"] - ch["hip_back_m"] * np.sin(heading),
        geometry.hip_height_m - ch["drop_m"],
    ])
    lumbosacral = hip_joint + pelvis.apply([0.0, 0.0, geometry.lumbar_offset_m])
    return {
        "pelvis": SegmentMotion(pelvis, hip_joint + pelvis.apply(geometry.hip_sensor_lever_m)),
        "thorax": SegmentMotion(thorax, lumbosacral + thorax.apply(geometry.back_sensor_lever_m)),
    }


def ideal_imu(motion: SegmentMotion, mount: Rotation, *, truth_rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Error-free specific force (m/s², (n,3)) and angular rate (rad/s, (n,3)) in sensor axes.

    Angular rate from the relative rotation between neighbouring grid samples (central), linear
    acceleration from second differences of the position.
    """
    dt = 1.0 / truth_rate_hz
    sensor = motion.rotation * mount  # sensor → world
    step = (sensor[:-1].inv() * sensor[1:]).as_rotvec() / dt  # body rate at midpoints, sensor axes
    gyr = np.empty((len(sensor), 3))
    gyr[1:-1] = 0.5 * (step[:-1] + step[1:])
    gyr[0], gyr[-1] = step[0], step[-1]
    acc_world = np.gradient(np.gradient(motion.position_m, dt, axis=0), dt, axis=0)
    acc_world[:, 2] += G_MPS2
    return sensor.inv().apply(acc_world), gyr


def sagittal_angles_deg(rotation: Rotation, standing_pitch_deg: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True (sagittal, frontal, m-heading) angles of a segment, by the definitions of ``docs/conventions.md``.

    ``u`` is the segment direction that is vertical while standing, ``m`` the segment's y (left) axis.
    Returns (sagittal angle, hike = asin(m·z), heading of m), each (n,) in degrees.
    """
    standing_up = Rotation.from_euler("Y", standing_pitch_deg, degrees=True).inv().apply([0.0, 0.0, 1.0])
    u = rotation.apply(standing_up)
    m = rotation.apply([0.0, 1.0, 0.0])
    f = np.cross(m, [0.0, 0.0, 1.0])
    f /= np.linalg.norm(f, axis=1, keepdims=True)
    sagittal = np.degrees(np.arctan2(np.einsum("ij,ij->i", u, f), u[:, 2]))
    hike = np.degrees(np.arcsin(np.clip(m[:, 2], -1.0, 1.0)))
    m_heading = np.degrees(np.unwrap(np.arctan2(m[:, 1], m[:, 0])))
    return sagittal, hike, m_heading
