"""Importers: files written in each app's documented layout from known motion, imported, compared to the truth.

The motion: a rotation about one fixed body axis with a varying rate (so the gyroscope reads ``rate(t) * n``
exactly) plus a smooth linear acceleration in the world frame; the accelerometer reads the specific force
``R(t)^T (a_world + g z)``. Each app's writer below applies that app's documented units, signs, column order
and time stamps; the importer must undo them.
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from hinge.analysis.errors import RecordingError
from hinge.analysis.recording import Recording, SensorStream
from hinge.analysis.recording_format import read_recording, write_recording
from hinge.firmware_bridge.importers import (
    MAX_GAP_S,
    STANDARD_GRAVITY_MPS2,
    SUPPORTED_FORMATS,
    combine_placements,
    load_recording,
    load_recording_files,
    merge_onto_accelerometer,
    read_sensor_logger_push,
)

G = STANDARD_GRAVITY_MPS2
AXIS = np.array([0.4, -0.7, 0.9]) / np.linalg.norm([0.4, -0.7, 0.9])
R0 = Rotation.from_euler("xyz", [20.0, -35.0, 50.0], degrees=True)
T0_S = 1_700_000_123.0  # Unix time of the motion's origin
DURATION_S = 12.0


# ----------------------------------------------------------------------------------------------- the truth


def rate_radps(t_s: np.ndarray) -> np.ndarray:
    return 0.8 + 0.5 * np.sin(2 * np.pi * 0.4 * t_s)


def angle_rad(t_s: np.ndarray) -> np.ndarray:
    return 0.8 * t_s + 0.5 / (2 * np.pi * 0.4) * (1 - np.cos(2 * np.pi * 0.4 * t_s))


def truth(time_s: np.ndarray) -> dict[str, np.ndarray]:
    """Specific force, its gravity and linear parts (m/s², sensor axes) and angular rate (rad/s) at Unix times."""
    t = time_s - T0_S
    to_sensor = (R0 * Rotation.from_rotvec(np.outer(angle_rad(t), AXIS))).inv()
    a_world = np.column_stack([0.8 * np.sin(2 * np.pi * 0.5 * t), 0.5 * np.cos(2 * np.pi * 0.3 * t),
                               0.6 * np.sin(2 * np.pi * 0.7 * t)])
    gravity = to_sensor.apply(np.tile([0.0, 0.0, G], (t.size, 1)))
    linear = to_sensor.apply(a_world)
    return {"acc": linear + gravity, "linear": linear, "gravity": gravity, "gyr": np.outer(rate_radps(t), AXIS)}


def stamps_s(rate_hz: float, *, start_s: float, end_s: float, seed: int) -> np.ndarray:
    """Jittered sample times (Unix s) between ``T0_S + start_s`` and ``T0_S + end_s``."""
    base = np.arange(start_s, end_s, 1.0 / rate_hz)
    jitter = np.random.default_rng(seed).uniform(-0.2, 0.2, base.size) / rate_hz
    return T0_S + base + jitter


ACC_TIME_S = stamps_s(100.0, start_s=0.0, end_s=DURATION_S, seed=1)
GYR_TIME_S = stamps_s(97.0, start_s=0.35, end_s=DURATION_S - 0.5, seed=2)


def expected_times(acc_time_s: np.ndarray, gyr_time_s: np.ndarray) -> np.ndarray:
    return acc_time_s[(acc_time_s >= gyr_time_s[0]) & (acc_time_s <= gyr_time_s[-1])]


def assert_matches_truth(stream: SensorStream, time_s: np.ndarray, *, acc_tol: float = 1e-4,
                         gyr_tol: float = 2e-4) -> None:
    np.testing.assert_allclose(stream.time_s, time_s, rtol=0, atol=1e-6)
    want = truth(stream.time_s)
    np.testing.assert_allclose(stream.acc_mps2, want["acc"], rtol=0, atol=acc_tol)
    np.testing.assert_allclose(stream.gyr_radps, want["gyr"], rtol=0, atol=gyr_tol)


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


# ------------------------------------------------------------------------------------ Sensor Logger writers


def to_ns(time_s: np.ndarray) -> np.ndarray:
    return np.round(time_s * 1e9).astype(np.int64)


def sensor_logger_csv(time_s: np.ndarray, xyz: np.ndarray) -> bytes:
    """``time,seconds_elapsed,z,y,x`` with integer nanoseconds, as the app writes it."""
    lines = ["time,seconds_elapsed,z,y,x"]
    for t_ns, (x, y, z) in zip(to_ns(time_s), xyz):
        lines.append(f"{t_ns},{(t_ns - to_ns(np.array([T0_S]))[0]) / 1e9:.9f},{z:.10g},{y:.10g},{x:.10g}")
    return ("\n".join(lines) + "\n").encode()


def sensor_logger_metadata(platform: str, standardisation: bool) -> bytes:
    return ("version,device name,recording epoch time,recording time,recording timezone,platform,appVersion,"
            "device id,sensors,sampleRateMs,standardisation,platform version\n"
            f"3,Test Phone,{int(T0_S * 1000)},2023-11-14_22-15-23,UTC,{platform},1.64,abc,"
            f"Accelerometer|Gyroscope,10|10,{str(standardisation).lower()},17\n").encode()


def sensor_logger_files(platform: str = "android", *, standardisation: bool = False,
                        acc_time_s: np.ndarray = ACC_TIME_S, gyr_time_s: np.ndarray = GYR_TIME_S,
                        folder: str = "2023-11-14_22-15-23/") -> dict[str, bytes]:
    """The CSVs of a Sensor Logger zip export for ``platform`` with the app's units and signs."""
    acc, gyr = truth(acc_time_s), truth(gyr_time_s)
    files = {f"{folder}Gyroscope.csv": sensor_logger_csv(gyr_time_s, gyr["gyr"]),
             f"{folder}Metadata.csv": sensor_logger_metadata(platform, standardisation)}
    if platform == "android":
        gravity_time_s = stamps_s(50.0, start_s=0.0, end_s=DURATION_S, seed=3)  # its own sensor and stamps
        files[f"{folder}TotalAcceleration.csv"] = sensor_logger_csv(acc_time_s, acc["acc"])
        files[f"{folder}Accelerometer.csv"] = sensor_logger_csv(acc_time_s, acc["linear"])
        files[f"{folder}Gravity.csv"] = sensor_logger_csv(gravity_time_s, truth(gravity_time_s)["gravity"])
    else:  # iOS: user acceleration and gravity from one device-motion update, negated unless standardised
        sign = 1.0 if standardisation else -1.0
        files[f"{folder}Accelerometer.csv"] = sensor_logger_csv(acc_time_s, sign * acc["linear"])
        files[f"{folder}Gravity.csv"] = sensor_logger_csv(acc_time_s, sign * acc["gravity"])
    return files


def push_messages(names_and_values: dict[str, tuple[np.ndarray, np.ndarray]], *, batch_s: float = 1.0) -> list:
    """Sensor Logger HTTP-push messages, one per ``batch_s`` of samples."""
    items = [(float(t), name, xyz) for name, (time_s, values) in names_and_values.items()
             for t, xyz in zip(time_s, values)]
    items.sort(key=lambda item: item[0])
    messages: list[dict] = []
    for t, name, (x, y, z) in items:
        index = int((t - T0_S) // batch_s)
        while len(messages) <= index:
            messages.append({"messageId": len(messages), "sessionId": "s-1", "deviceId": "d-1", "payload": []})
        messages[index]["payload"].append({"name": name, "time": int(round(t * 1e9)),
                                           "values": {"x": x, "y": y, "z": z}})
    return messages


# ------------------------------------------------------------------------------------------ phyphox writers


def java_number(value: float, decimal: str) -> str:
    """phyphox's ``0.000000000E0`` pattern: ``9.810000000E0``, ``-1.234000000E-3``, ``NaN``."""
    if math.isnan(value):
        return "NaN"
    mantissa, exponent = f"{value:.9E}".split("E")
    return f"{mantissa}E{int(exponent)}".replace(".", decimal)


PHYPHOX_VARIANTS = [(",", "."), ("\t", "."), (";", "."), ("\t", ","), (";", ",")]


def phyphox_csv(columns: dict[str, np.ndarray], *, separator: str, decimal: str) -> bytes:
    """One export set: quoted header, rows as long as the longest column, shorter ones padded with NaN."""
    rows = max(c.size for c in columns.values())
    lines = [separator.join(f'"{name}"' for name in columns)]
    for i in range(rows):
        lines.append(separator.join(java_number(c[i] if i < c.size else math.nan, decimal)
                                    for c in columns.values()))
    return ("\n".join(lines) + "\n").encode()


def phyphox_columns(time_s: np.ndarray, xyz: np.ndarray, kind: str, start_s: float) -> dict[str, np.ndarray]:
    label = {"acc": "Acceleration {} (m/s^2)", "gyr": "Gyroscope {} (rad/s)"}[kind]
    return {"Time (s)": time_s - start_s, **{label.format(a): xyz[:, i] for i, a in enumerate("xyz")}}


def phyphox_zip_files(*, separator: str = ",", decimal: str = ".", start_s: float = T0_S + 0.02) -> dict[str, bytes]:
    """A "simple experiment" export with Accelerometer.csv, Gyroscope.csv and meta/time.csv."""
    acc, gyr = truth(ACC_TIME_S)["acc"], truth(GYR_TIME_S)["gyr"]
    time_csv = separator.join(['"event"', '"experiment time"', '"system time"', '"system time text"']) + "\n"
    time_csv += separator.join(['"START"', java_number(0.0, decimal), f"{start_s:.3f}".replace(".", decimal),
                                '"2023-11-14 22:15:23.020 UTC+00:00"']) + "\n"
    return {
        "Accelerometer.csv": phyphox_csv(phyphox_columns(ACC_TIME_S, acc, "acc", start_s),
                                         separator=separator, decimal=decimal),
        "Gyroscope.csv": phyphox_csv(phyphox_columns(GYR_TIME_S, gyr, "gyr", start_s),
                                     separator=separator, decimal=decimal),
        "meta/device.csv": separator.join(['"property"', '"value"']).encode() + b'\n"deviceModel"'
        + separator.encode() + b'"Pixel 7"\n',
        "meta/time.csv": time_csv.encode(),
    }


# ------------------------------------------------------------------------------------------------ Sensor Logger


def test_sensor_logger_android_zip_matches_truth():
    recording = load_recording(zip_bytes(sensor_logger_files("android")), "2023-11-14_22-15-23.zip")
    assert recording.sensor_names == ("hip",)
    assert recording.metadata["hip_device"] == "Test Phone"
    assert_matches_truth(recording.sensors["hip"], expected_times(ACC_TIME_S, GYR_TIME_S))


@pytest.mark.parametrize("standardisation", [False, True])
def test_sensor_logger_ios_accelerometer_plus_gravity_matches_truth(standardisation):
    files = sensor_logger_files("iOS", standardisation=standardisation)
    recording = load_recording(zip_bytes(files), "ios.zip", sensor="back")
    assert recording.sensor_names == ("back",)
    assert_matches_truth(recording.sensors["back"], expected_times(ACC_TIME_S, GYR_TIME_S))
    assert recording.sensors["back"].acc_mps2.mean(axis=0) @ truth(ACC_TIME_S)["gravity"].mean(axis=0) > 0


def test_sensor_logger_android_accelerometer_plus_gravity_on_their_own_stamps():
    files = {k: v for k, v in sensor_logger_files("android").items() if "TotalAcceleration" not in k}
    recording = load_recording_files(files)
    gravity_time_s = stamps_s(50.0, start_s=0.0, end_s=DURATION_S, seed=3)
    want = expected_times(expected_times(ACC_TIME_S, GYR_TIME_S), gravity_time_s)
    assert_matches_truth(recording.sensors["hip"], want, acc_tol=2e-2)  # gravity interpolated from 50 Hz


def test_sensor_logger_ios_uncalibrated_accelerometer_in_g():
    acc = truth(ACC_TIME_S)["acc"]
    files = {"Gyroscope.csv": sensor_logger_csv(GYR_TIME_S, truth(GYR_TIME_S)["gyr"]),
             "AccelerometerUncalibrated.csv": sensor_logger_csv(ACC_TIME_S, -acc / G),
             "Metadata.csv": sensor_logger_metadata("iOS", False)}
    recording = load_recording(zip_bytes(files), "raw.zip")
    assert_matches_truth(recording.sensors["hip"], expected_times(ACC_TIME_S, GYR_TIME_S))


def test_sensor_logger_loose_csvs_from_a_folder_equal_the_zip():
    files = sensor_logger_files("android", folder="")
    from_folder = load_recording_files(files)
    from_zip = load_recording(zip_bytes(files), "x.zip")
    np.testing.assert_array_equal(from_folder.sensors["hip"].acc_mps2, from_zip.sensors["hip"].acc_mps2)


def test_sensor_logger_json_export_with_string_numbers():
    acc, gyr = truth(ACC_TIME_S)["acc"], truth(GYR_TIME_S)["gyr"]
    records = [{"sensor": "Metadata", "platform": "android"}]
    for name, time_s, values in (("TotalAcceleration", ACC_TIME_S, acc), ("Gyroscope", GYR_TIME_S, gyr)):
        records += [{"sensor": name, "time": str(t), "seconds_elapsed": "0", "z": str(float(z)), "y": str(float(y)),
                     "x": str(float(x))} for t, (x, y, z) in zip(to_ns(time_s), values)]
    recording = load_recording(json.dumps(records).encode(), "export.json")
    assert_matches_truth(recording.sensors["hip"], expected_times(ACC_TIME_S, GYR_TIME_S))


def test_sensor_logger_push_android_in_any_order_with_a_repeated_message():
    messages = push_messages({"totalacceleration": (ACC_TIME_S, truth(ACC_TIME_S)["acc"]),
                              "gyroscope": (GYR_TIME_S, truth(GYR_TIME_S)["gyr"]),
                              "location": (ACC_TIME_S[:3], np.zeros((3, 3)))})
    shuffled = messages[::-1] + [messages[4]]
    recording = read_sensor_logger_push([json.dumps(m) for m in shuffled])
    assert recording.metadata["session"] == "s-1"
    assert_matches_truth(recording.sensors["hip"], expected_times(ACC_TIME_S, GYR_TIME_S))
    saved = load_recording(json.dumps(messages).encode(), "push.json")  # a saved list of messages
    np.testing.assert_array_equal(saved.sensors["hip"].acc_mps2, recording.sensors["hip"].acc_mps2)


def test_sensor_logger_push_ios_needs_the_platform():
    t = truth(ACC_TIME_S)
    messages = push_messages({"accelerometer": (ACC_TIME_S, -t["linear"]), "gravity": (ACC_TIME_S, -t["gravity"]),
                              "gyroscope": (GYR_TIME_S, truth(GYR_TIME_S)["gyr"])})
    with pytest.raises(RecordingError, match="platform is unknown"):
        read_sensor_logger_push(messages)
    with pytest.raises(RecordingError, match="platform is unknown"):
        load_recording(json.dumps(messages).encode(), "push.json")  # a saved list of messages
    recording = read_sensor_logger_push(messages, platform="ios", sensor="back")
    assert_matches_truth(recording.sensors["back"], expected_times(ACC_TIME_S, GYR_TIME_S))


# ------------------------------------------------------------------------------------------------------ phyphox


@pytest.mark.parametrize(("separator", "decimal"), PHYPHOX_VARIANTS)
def test_phyphox_zip_variants_match_truth_on_unix_time(separator, decimal):
    files = phyphox_zip_files(separator=separator, decimal=decimal)
    recording = load_recording(zip_bytes(files), "Acceleration 2023-11-14.zip")
    assert recording.metadata["source"] == "phyphox"
    assert recording.metadata["hip_device"] == "Pixel 7"
    # phyphox writes 10 significant digits: time (s) ~ 1e1 → 1e-8 s; values ~ 1e1 → 1e-8
    assert_matches_truth(recording.sensors["hip"], expected_times(ACC_TIME_S, GYR_TIME_S))


def test_phyphox_time_mapping_honours_a_pause():
    """After a pause the experiment clock continues where it stopped; system time jumps (meta/time.csv)."""
    files = phyphox_zip_files()
    pause_exp_s, resume_unix_s = 6.0, T0_S + 0.02 + 6.0 + 30.0
    files["meta/time.csv"] += (f'"PAUSE",{java_number(pause_exp_s, ".")},{T0_S + 6.02:.3f},"x"\n'
                               f'"START",{java_number(pause_exp_s, ".")},{resume_unix_s:.3f},"x"\n').encode()
    stream = load_recording(zip_bytes(files), "p.zip").sensors["hip"]
    after = stream.time_s > T0_S + 20
    assert after.any() and (stream.time_s[~after] < T0_S + 6.03).all()
    # the gap: 30 s of pause plus the accelerometer samples with no gyroscope sample on both sides
    assert np.diff(stream.time_s).max() == pytest.approx(30.0, abs=0.05)


def test_phyphox_other_sets_in_the_zip_are_not_read():
    files = {**phyphox_zip_files(), "Location.csv": b'"Time (s)","Latitude (\xc2\xb0)"\n0.0E0,n/a\n'}
    recording = load_recording(zip_bytes(files), "p.zip")
    assert_matches_truth(recording.sensors["hip"], expected_times(ACC_TIME_S, GYR_TIME_S))


def test_phyphox_single_set_with_two_time_columns_and_nan_padding():
    """One custom set holding both sensors (each after its own Time column), exported alone as one CSV."""
    columns = {**phyphox_columns(ACC_TIME_S, truth(ACC_TIME_S)["acc"], "acc", T0_S),
               "Absolute acceleration (m/s^2)": np.linalg.norm(truth(ACC_TIME_S)["acc"], axis=1)}
    gyro = phyphox_columns(GYR_TIME_S, truth(GYR_TIME_S)["gyr"], "gyr", T0_S)
    data = phyphox_csv({**columns, "Time (s) ": gyro["Time (s)"],
                        **{k: v for k, v in gyro.items() if k != "Time (s)"}}, separator=";", decimal=",")
    recording = load_recording(data, "Raw Data.csv", sensor="back")
    assert "experiment time" in recording.metadata["time_base"]
    stream = recording.sensors["back"]
    np.testing.assert_allclose(stream.time_s + T0_S, expected_times(ACC_TIME_S, GYR_TIME_S), atol=1e-6)
    np.testing.assert_allclose(stream.acc_mps2, truth(stream.time_s + T0_S)["acc"], atol=1e-4)
    np.testing.assert_allclose(stream.gyr_radps, truth(stream.time_s + T0_S)["gyr"], atol=2e-4)


# ---------------------------------------------------------------------------------------- merging and gaps


def test_merge_never_bridges_a_gyroscope_gap_and_keeps_accelerometer_gaps():
    acc_time_s = np.delete(np.arange(0.0, 4.0, 0.01), np.s_[250:300])  # 0.51 s accelerometer gap at 2.5 s
    gyr_time_s = np.delete(np.arange(0.003, 3.9, 0.01), np.s_[100:130])  # 0.31 s gyroscope gap at ~1.0 s
    gyr = np.column_stack([gyr_time_s, -gyr_time_s, 2 * gyr_time_s])
    stream = merge_onto_accelerometer(acc_time_s, np.ones((acc_time_s.size, 3)), gyr_time_s, gyr)
    gap_lo, gap_hi = gyr_time_s[99], gyr_time_s[100]
    assert not ((stream.time_s > gap_lo) & (stream.time_s < gap_hi)).any()
    assert not ((stream.time_s > 2.495) & (stream.time_s < 2.995)).any()
    assert stream.time_s[0] >= gyr_time_s[0] and stream.time_s[-1] <= gyr_time_s[-1]
    np.testing.assert_allclose(stream.gyr_radps[:, 0], stream.time_s, atol=1e-12)  # linear: exact
    kept = np.isin(acc_time_s, stream.time_s)
    assert (~kept).sum() == 31 + 1 + 10  # 31 in the gyro gap, 1 before its first sample, 10 after its last


def test_merge_interpolates_across_gaps_up_to_the_limit_only():
    gyr_time_s = np.array([0.0, MAX_GAP_S, 2 * MAX_GAP_S + 1e-6])
    acc_time_s = np.array([0.05, 0.15])
    stream = merge_onto_accelerometer(acc_time_s, np.zeros((2, 3)), gyr_time_s, np.zeros((3, 3)))
    np.testing.assert_array_equal(stream.time_s, [0.05])


def test_two_phones_pair_as_back_and_hip_on_unix_time(tmp_path):
    back = load_recording(zip_bytes(phyphox_zip_files()), "back.zip", sensor="back")
    hip_times = stamps_s(100.0, start_s=3.0, end_s=20.0, seed=5)
    hip = load_recording(zip_bytes(sensor_logger_files("android", acc_time_s=hip_times,
                                                       gyr_time_s=hip_times + 0.004)), "hip.zip")
    both = combine_placements(back=back, hip=hip)
    assert both.sensor_names == ("back", "hip")
    assert both.metadata["source"].startswith("back: phyphox; hip: Sensor Logger")
    write_recording(both, tmp_path / "both.csv")
    again = read_recording(tmp_path / "both.csv")
    for name in ("back", "hip"):
        np.testing.assert_allclose(again.sensors[name].time_s, both.sensors[name].time_s, atol=1e-6)
        np.testing.assert_allclose(again.sensors[name].acc_mps2, truth(again.sensors[name].time_s)["acc"],
                                   atol=2e-4)
    late = load_recording(zip_bytes(sensor_logger_files("android", acc_time_s=hip_times + 60,
                                                        gyr_time_s=hip_times + 60)), "late.zip")
    with pytest.raises(RecordingError, match="do not overlap in time"):
        combine_placements(back=back, hip=late)


def test_canonical_csv_is_delegated(tmp_path):
    stream = SensorStream(time_s=np.array([0.0, 0.01]), acc_mps2=np.array([[0, 0, 9.81], [0, 0.1, 9.8]]),
                          gyr_radps=np.zeros((2, 3)))
    write_recording(Recording(sensors={"back": stream}, metadata={"synthetic": "true"}), tmp_path / "r.csv")
    recording = load_recording((tmp_path / "r.csv").read_bytes(), "r.csv", sensor="hip")
    assert recording.sensor_names == ("back",) and recording.metadata["synthetic"] == "true"


# ---------------------------------------------------------------------------------------------- malformed


def _without(files: dict[str, bytes], word: str) -> dict[str, bytes]:
    return {k: v for k, v in files.items() if word not in k}


def _replace_cell(files: dict[str, bytes], name: str, line_no: int, column: int, text: str) -> dict[str, bytes]:
    lines = files[name].decode().split("\n")
    cells = lines[line_no - 1].split(",")
    cells[column] = text
    lines[line_no - 1] = ",".join(cells)
    return {**files, name: "\n".join(lines).encode()}


SL = sensor_logger_files("android", folder="")
PX = phyphox_zip_files()
MALFORMED = {
    "sensor logger without gyroscope": (zip_bytes(_without(SL, "Gyroscope")), "a.zip",
                                        "no gyroscope samples (Gyroscope.csv is missing or empty"),
    "non-numeric cell": (zip_bytes(_replace_cell(SL, "Gyroscope.csv", 5, 4, "abc")), "a.zip",
                         "Gyroscope.csv line 5, column x: 'abc' is not a number"),
    "short row": (zip_bytes(_replace_cell(SL, "Gyroscope.csv", 7, 4, "1,2")), "a.zip",
                  "Gyroscope.csv line 7: expected 5 columns (time, seconds_elapsed, z, y, x), found 6"),
    "empty member, no fallback": (zip_bytes({**SL, "Gyroscope.csv": b""}), "a.zip",
                                  "no gyroscope samples (Gyroscope.csv is missing or empty"),
    "header only, no fallback": (zip_bytes({**SL, "Gyroscope.csv": b"time,seconds_elapsed,z,y,x\n"}), "a.zip",
                                 "no gyroscope samples (Gyroscope.csv is missing or empty"),
    "every sensor file empty": (zip_bytes({"Gyroscope.csv": b"", "Accelerometer.csv": b"\n",
                                           "Metadata.csv": sensor_logger_metadata("iOS", False)}), "a.zip",
                                "no TotalAcceleration.csv, Accelerometer.csv or Gyroscope.csv with samples "
                                "(Accelerometer.csv, Gyroscope.csv empty)"),
    "two recordings in one zip": (zip_bytes({**SL, **sensor_logger_files("android")}), "a.zip",
                                  "Sensor Logger export: more than one"),
    "empty upload": (b"", "a.zip", "a.zip: empty file"),
    "truncated zip": (zip_bytes(SL)[:3000], "a.zip", "a.zip: not a readable zip archive (truncated or damaged"),
    "linear only, android": (zip_bytes(_without(_without(SL, "Gravity"), "Total")), "a.zip",
                             "Accelerometer holds acceleration without gravity"),
    "ios without metadata": (zip_bytes(_without(sensor_logger_files("iOS", folder=""), "Metadata")), "a.zip",
                             "has opposite signs on iOS and Android and the platform is unknown"),
    "sensor logger: one file": (SL["Gyroscope.csv"], "Gyroscope.csv", "no acceleration samples"),
    "phyphox without gyroscope": (zip_bytes(_without(PX, "Gyroscope")), "p.zip",
                                  "phyphox export: no 'Gyroscope x (rad/s)' or 'X (rad/s)' columns"),
    "phyphox linear acceleration": (b'"Time (s)","Linear Acceleration x (m/s^2)"\n1.0E0,2.0E0\n', "Raw Data.csv",
                                    "'Linear Acceleration' has gravity removed"),
    "phyphox empty gyroscope set": (zip_bytes({**PX, "Gyroscope.csv": b""}), "p.zip", "Gyroscope.csv: empty file"),
    "phyphox bad cell": (zip_bytes({**PX, "Gyroscope.csv": PX["Gyroscope.csv"]
                                    .replace(b"\n", b"\n1.0E0,x,2.0E0,3.0E0\n", 1)}), "p.zip",
                         "Gyroscope.csv line 2, column Gyroscope x (rad/s): 'x' is not a number"),
    "phyphox gyroscope csv alone": (PX["Gyroscope.csv"], "Gyroscope.csv",
                                    "phyphox export: no 'Acceleration x (m/s^2)' or 'X (m/s^2)' columns; found: "
                                    "'Time (s)', 'Gyroscope x (rad/s)', 'Gyroscope y (rad/s)', 'Gyroscope z (rad/s)'; "
                                    "needed: 'Acceleration x (m/s^2)' or 'X (m/s^2)'"),
    "unknown csv": (b"a,b,c\n1,2,3\n", "data.csv",
                    f"data.csv: unrecognised format (first lines: data.csv: a,b,c); supported: {SUPPORTED_FORMATS}"),
    "unknown binary": (bytes(range(256)), "blob.bin", "blob.bin: unrecognised format (first lines: blob.bin: binary "
                       "data); supported:"),
    "unknown: NUL bytes and a long line": (b"\x00" * 5000 + b"," * 440, "nul.txt",
                                          "nul.txt: unrecognised format (first lines: nul.txt: binary data)"),
    "unknown: a long line with control characters": (b"abc\x1bdef," * 100, "long.csv",
                                                     "long.csv: unrecognised format (first lines: long.csv: "
                                                     + ("abc?def," * 8)[:59] + "…); supported:"),
    "unknown json": (b'{"hello": 1}', "x.json", "x.json: unrecognised JSON; supported:"),
    "broken json": (b'{"payload": [', "x.json", "x.json: not valid JSON"),
    "push item without values": (b'{"payload": [{"name": "gyroscope", "time": 1}]}', "p.json",
                                 "push message 0 (messageId ?), payload[0] (gyroscope): 'values' is missing"),
    "not utf-8": (b"time,seconds_elapsed,z,y,x\n1,0,\xff\xfe,0,0\n", "Gyroscope.csv", "not UTF-8 text"),
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_malformed_inputs_raise_one_line_errors(case):
    data, name, message = MALFORMED[case]
    with pytest.raises(RecordingError) as caught:
        load_recording(data, name)
    text = str(caught.value)
    assert text.isprintable() and len(text) < 500, text
    assert message in text


def test_phyphox_nan_inside_a_column_is_an_error():
    lines = PX["Gyroscope.csv"].decode().split("\n")
    lines[10] = "NaN,NaN,NaN,NaN"
    with pytest.raises(RecordingError, match=r"Gyroscope.csv: missing or non-finite gyroscope value in data row 10"):
        load_recording(zip_bytes({**PX, "Gyroscope.csv": "\n".join(lines).encode()}), "p.zip")


# ------------------------------------------------------------------------------------------------------ CLI


def run_cli(monkeypatch, argv: list[str]) -> int:
    from hinge import cli

    return cli.main(argv)


def test_cli_imports_a_folder_and_a_second_phone(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "sensor-logger"
    for name, data in sensor_logger_files("android", folder="").items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    (tmp_path / "back.zip").write_bytes(zip_bytes(phyphox_zip_files()))
    assert run_cli(monkeypatch, ["import", str(folder)]) == 0
    hip_only = read_recording(tmp_path / "sensor-logger.hinge.csv")
    assert hip_only.sensor_names == ("hip",)
    assert hip_only.metadata["hip_axes"] == "right-handed"  # the frame travels with the file to the analysis
    assert "wrote" in capsys.readouterr().out
    out = tmp_path / "pair.csv"
    assert run_cli(monkeypatch, ["import", str(tmp_path / "back.zip"), "--sensor", "back", "--second", str(folder),
                                 "-o", str(out)]) == 0
    pair = read_recording(out)
    assert pair.sensor_names == ("back", "hip")
    assert (pair.metadata["back_axes"], pair.metadata["hip_axes"]) == ("right-handed", "right-handed")
    assert_matches_truth(pair.sensors["hip"], expected_times(ACC_TIME_S, GYR_TIME_S), acc_tol=2e-4,
                         gyr_tol=3e-4)


def test_cli_reports_errors_in_one_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "broken.zip").write_bytes(zip_bytes(SL)[:2000])
    assert run_cli(monkeypatch, ["import", str(tmp_path / "broken.zip")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("hinge import: broken.zip: not a readable zip archive")
    assert run_cli(monkeypatch, ["import", str(tmp_path / "missing.zip")]) == 2
    assert "missing.zip: no such file" in capsys.readouterr().err


def test_a_damaged_canonical_header_gets_the_readers_message():
    with pytest.raises(RecordingError, match="line 1: expected the header"):
        load_recording(b"time_s,sensor,acc_x\n1,back,0\n", "bad.csv")


# ------------------------------------------------------------------------ real variants (issue 13), by shape


def phyphox_ios_files(*, separator: str = ",", decimal: str = ".") -> dict[str, bytes]:
    """phyphox on iPhone: the same simple-experiment export, but the axes alone name the columns."""
    files = phyphox_zip_files(separator=separator, decimal=decimal)
    for name, old, new in (("Accelerometer.csv", "Acceleration {} (m/s^2)", "{} (m/s^2)"),
                           ("Gyroscope.csv", "Gyroscope {} (rad/s)", "{} (rad/s)")):
        text = files[name].decode()
        header, rest = text.split("\n", 1)
        for axis in "xyz":
            header = header.replace(old.format(axis), new.format(axis.upper()))
        files[name] = (header + "\n" + rest).encode()
    return files


@pytest.mark.parametrize(("separator", "decimal"), PHYPHOX_VARIANTS)
def test_phyphox_ios_headers_in_every_variant_match_truth(separator, decimal):
    files = phyphox_ios_files(separator=separator, decimal=decimal)
    assert files["Accelerometer.csv"].startswith(separator.join(['"Time (s)"', '"X (m/s^2)"']).encode())
    recording = load_recording(zip_bytes(files), "iphone.zip", sensor="back")
    assert recording.metadata["back_axes"] == "right-handed"
    assert_matches_truth(recording.sensors["back"], expected_times(ACC_TIME_S, GYR_TIME_S))


def test_phyphox_ios_linear_accelerometer_set_is_not_read_and_a_linear_only_export_is_refused():
    files = phyphox_ios_files()
    linear = truth(ACC_TIME_S)["linear"]
    linear_csv = phyphox_csv(phyphox_columns(ACC_TIME_S, linear, "acc", T0_S + 0.02), separator=",", decimal=".")
    with_linear = {**files, "Linear Accelerometer.csv": linear_csv.replace(b"Acceleration ", b"")}
    recording = load_recording(zip_bytes(with_linear), "p.zip")
    assert_matches_truth(recording.sensors["hip"], expected_times(ACC_TIME_S, GYR_TIME_S))
    only_linear = {**files, "Accelerometer.csv": linear_csv.replace(b"Acceleration ", b"")}
    with pytest.raises(RecordingError, match="Accelerometer.csv holds acceleration without gravity"):
        load_recording(zip_bytes(only_linear), "p.zip")


def test_custom_phyphox_experiment_is_refused_with_its_columns_then_imported_by_naming_them(tmp_path, capsys):
    acc, gyr = truth(ACC_TIME_S)["acc"], truth(ACC_TIME_S)["gyr"]
    columns = {"Time (s)": ACC_TIME_S - T0_S, **{f"a{k} (m/s^2)": acc[:, i] for i, k in enumerate("xyz")},
               **{f"w{k} (rad/s)": gyr[:, i] for i, k in enumerate("xyz")}}
    data = phyphox_csv(columns, separator=";", decimal=",")
    with pytest.raises(RecordingError) as caught:
        load_recording(data, "My experiment.csv")
    message = str(caught.value)
    assert "found: 'Time (s)', 'ax (m/s^2)', 'ay (m/s^2)', 'az (m/s^2)', 'wx (rad/s)'" in message
    assert "needed: 'Acceleration x (m/s^2)' or 'X (m/s^2)'" in message and "--preset phyphox --columns" in message
    path = tmp_path / "My experiment.csv"
    path.write_bytes(data)
    from hinge import cli
    assert cli.main(["import", str(path), "--preset", "phyphox", "--columns",
                     "acc=ax (m/s^2),ay (m/s^2),az (m/s^2),gyr=wx (rad/s),wy (rad/s),wz (rad/s)"]) == 0
    stream = read_recording(tmp_path / "My experiment.hinge.csv").sensors["hip"]
    np.testing.assert_allclose(stream.time_s, ACC_TIME_S - T0_S, atol=1e-6)
    np.testing.assert_allclose(stream.acc_mps2, truth(stream.time_s + T0_S)["acc"], atol=1e-4)
    np.testing.assert_allclose(stream.gyr_radps, truth(stream.time_s + T0_S)["gyr"], atol=1e-4)


def sensor_logger_camera_on(platform: str, *, standardisation: bool = False, empty: bytes = b"") -> dict[str, bytes]:
    """An export made with the camera on: Gyroscope.csv and Accelerometer.csv present but empty, the
    uncalibrated files complete, in the units and signs of ``platform``."""
    acc, gyr = truth(ACC_TIME_S)["acc"], truth(GYR_TIME_S)["gyr"]
    ios_raw = platform == "iOS" and not standardisation
    bias_radps = np.array([0.01, -0.02, 0.005])  # uncalibrated: the drift the phone would have removed
    return {"Gyroscope.csv": empty, "Accelerometer.csv": empty,
            "GyroscopeUncalibrated.csv": sensor_logger_csv(GYR_TIME_S, gyr + bias_radps),
            "AccelerometerUncalibrated.csv": sensor_logger_csv(ACC_TIME_S, -acc / G if ios_raw else acc),
            "Metadata.csv": sensor_logger_metadata(platform, standardisation)}


@pytest.mark.parametrize("platform, standardisation, empty", [
    ("iOS", False, b""), ("iOS", True, b""), ("android", False, b""), ("iOS", False, b"time,seconds_elapsed,z,y,x\n")])
def test_sensor_logger_empty_calibrated_files_fall_back_to_uncalibrated(platform, standardisation, empty):
    files = sensor_logger_camera_on(platform, standardisation=standardisation, empty=empty)
    recording = load_recording(zip_bytes(files), "camera.zip")
    stream = recording.sensors["hip"]
    np.testing.assert_allclose(stream.time_s, expected_times(ACC_TIME_S, GYR_TIME_S), atol=1e-6)
    np.testing.assert_allclose(stream.acc_mps2, truth(stream.time_s)["acc"], atol=1e-4)
    np.testing.assert_allclose(stream.gyr_radps - [0.01, -0.02, 0.005], truth(stream.time_s)["gyr"], atol=2e-4)
    note = recording.metadata["import_note"]
    assert "AccelerometerUncalibrated" in note and "GyroscopeUncalibrated" in note
    assert "as Accelerometer was empty, Gravity was missing" in note and "as Gyroscope was empty" in note
    assert ("g with the iOS sign" in note) == (platform == "iOS" and not standardisation)
    assert recording.metadata["hip_axes"] == "right-handed"


def test_sensor_logger_without_metadata_takes_the_platform_from_the_user(tmp_path, capsys):
    files = {k: v for k, v in sensor_logger_files("iOS", folder="").items() if k != "Metadata.csv"}
    with pytest.raises(RecordingError, match="platform is unknown"):
        load_recording(zip_bytes(files), "ios.zip")
    recording = load_recording(zip_bytes(files), "ios.zip", platform="ios")
    assert recording.metadata["platform"] == "ios"
    assert_matches_truth(recording.sensors["hip"], expected_times(ACC_TIME_S, GYR_TIME_S))
    with pytest.raises(RecordingError, match="metadata says the platform is ios, but android was given"):
        load_recording(zip_bytes(sensor_logger_files("iOS")), "ios.zip", platform="android")
    (tmp_path / "ios.zip").write_bytes(zip_bytes(files))
    from hinge import cli
    assert cli.main(["import", str(tmp_path / "ios.zip")]) == 2
    assert "say the platform" in capsys.readouterr().err
    assert cli.main(["import", str(tmp_path / "ios.zip"), "--platform", "ios"]) == 0
    assert_matches_truth(read_recording(tmp_path / "ios.hinge.csv").sensors["hip"],
                         expected_times(ACC_TIME_S, GYR_TIME_S), acc_tol=2e-4, gyr_tol=3e-4)


def test_saved_push_capture_from_an_iphone_imports_with_the_platform(tmp_path):
    t = truth(ACC_TIME_S)
    messages = push_messages({"accelerometer": (ACC_TIME_S, -t["linear"]), "gravity": (ACC_TIME_S, -t["gravity"]),
                              "gyroscope": (GYR_TIME_S, truth(GYR_TIME_S)["gyr"])})
    (tmp_path / "push.json").write_text(json.dumps(messages))
    from hinge import cli
    assert cli.main(["import", str(tmp_path / "push.json"), "--platform", "ios", "--sensor", "back"]) == 0
    assert_matches_truth(read_recording(tmp_path / "push.hinge.csv").sensors["back"],
                         expected_times(ACC_TIME_S, GYR_TIME_S), acc_tol=2e-4, gyr_tol=3e-4)


# ------------------------------------------------------------------------------------ column-mapping importer


def _grid_s(rate_hz: float, *, start_s: float, end_s: float, step_s: float = 0.001) -> np.ndarray:
    """Unix times on ``rate_hz`` rounded to ``step_s`` (apps that write whole milliseconds)."""
    return T0_S + np.round(np.arange(start_s, end_s, 1.0 / rate_hz) / step_s) * step_s


def _delimited(header: list[str], rows: list[list[str]], separator: str, preamble: tuple[str, ...] = ()) -> bytes:
    return ("\n".join([*preamble, separator.join(header), *(separator.join(r) for r in rows)]) + "\n").encode()


def _clock(time_s: float, *, date: bool) -> str:
    text = str(np.datetime64(int(round(time_s * 1000)), "ms")).replace("T", " ")
    return text if date else " " + text.split(" ")[1]


def witmotion_export(variant: str) -> bytes:
    time_s = _grid_s(100.0, start_s=0.0, end_s=DURATION_S)
    acc, gyr = truth(time_s)["acc"] / G, np.degrees(truth(time_s)["gyr"])
    if variant == "new":  # tab separated, a device column, full date-time
        header = ["Time", "Device name", *(f"Acceleration {a}(g)" for a in "XYZ"),
                  *(f"Angular velocity {a}(°/s)" for a in "XYZ"), *(f"Angle {a}(°)" for a in "XYZ")]
        rows = [[_clock(t, date=True), "WT901BLE68(ab:cd)", *(f"{v:.6f}" for v in (*a, *w)), "0.0", "0.0", "0.0"]
                for t, a, w in zip(time_s, acc, gyr)]
        return _delimited(header, rows, "\t")
    header = ["Time", "ChipTime", *(f"a{a}(g)" for a in "xyz"), *(f"w{a}(deg/s)" for a in "xyz"),
              *(f"Angle{a}(deg)" for a in "XYZ")]
    rows = [[_clock(t, date=False), "0", *(f"{v:.6f}" for v in (*a, *w)), "0", "0", "0"]
            for t, a, w in zip(time_s, acc, gyr)]
    return _delimited(header, rows, ",")


def metamotion_files() -> dict[str, bytes]:
    files = {}
    for kind, unit, rate_hz, offset_s in (("Accelerometer", "g", 100.0, 0.0), ("Gyroscope", "deg/s", 100.0, 0.004)):
        time_s = _grid_s(rate_hz, start_s=offset_s, end_s=DURATION_S)
        values = truth(time_s)["acc"] / G if kind == "Accelerometer" else np.degrees(truth(time_s)["gyr"])
        header = ["epoc (ms)", "timestamp (+0000)", "elapsed (s)", *(f"{a}-axis ({unit})" for a in "xyz")]
        rows = [[str(int(round(t * 1000))), _clock(t, date=True).replace(" ", "T"), f"{t - T0_S:.3f}",
                 *(f"{v:.6f}" for v in row)] for t, row in zip(time_s, values)]
        files[f"MetaWear_2023-11-14T22.15.23.020_C8F3_{kind}_100.000Hz_1.7.3.csv"] = _delimited(header, rows, ",")
    return files


def movella_dot_export(*, wrap_at_s: float) -> bytes:
    """Movella DOT: a preamble, then PacketCounter, SampleTimeFine (µs, 32-bit, wraps) and the values."""
    time_s = _grid_s(60.0, start_s=0.0, end_s=DURATION_S, step_s=1e-6)
    fine_us = (np.round((time_s - T0_S + (2**32 * 1e-6 - wrap_at_s)) * 1e6).astype(np.int64)) % 2**32
    acc, gyr = truth(time_s)["acc"], np.degrees(truth(time_s)["gyr"])
    preamble = ("DeviceTag: 1", "Firmware Version: 2.6.0", "App Version: 2023.0.0", "Filter Profile: General")
    header = ["PacketCounter", "SampleTimeFine", "Quat_W", "Quat_X", "Quat_Y", "Quat_Z", *(f"Acc_{a}" for a in "XYZ"),
              *(f"Gyr_{a}" for a in "XYZ"), ""]
    rows = [[str(i), str(f), "1", "0", "0", "0", *(f"{v:.6f}" for v in (*a, *w)), ""]
            for i, (f, a, w) in enumerate(zip(fine_us, acc, gyr))]
    return _delimited(header, rows, ",", preamble)


POLAR_EPOCH_S = 946_684_800.0  # Polar sensor time stamps count nanoseconds from 2000-01-01


def polar_files() -> dict[str, bytes]:
    files = {}
    for kind, unit, rate_hz, offset_s in (("ACC", "mg", 100.0, 0.0), ("GYRO", "dps", 52.0, 0.002)):
        time_s = _grid_s(rate_hz, start_s=offset_s, end_s=DURATION_S, step_s=1e-6)
        if kind == "ACC":
            values = [[str(int(round(v))) for v in row] for row in truth(time_s)["acc"] / G * 1000]
        else:
            values = [[f"{v:.4f}" for v in row] for row in np.degrees(truth(time_s)["gyr"])]
        header = ["Phone timestamp", "sensor timestamp [ns]", *(f"{a} [{unit}]" for a in "XYZ")]
        rows = [[_clock(t, date=True).replace(" ", "T"), str(int(round((t - POLAR_EPOCH_S) * 1e9))), *v]
                for t, v in zip(time_s, values)]
        files[f"Polar_Verity_Sense_B36D_20231114_221523_{kind}.txt"] = _delimited(header, rows, ";")
    return files


def _check_mapped(stream: SensorStream, *, time_offset_s: float = 0.0, acc_tol: float, gyr_tol: float) -> None:
    want = truth(stream.time_s + time_offset_s)
    assert stream.sample_count > 300
    np.testing.assert_allclose(stream.acc_mps2, want["acc"], atol=acc_tol)
    np.testing.assert_allclose(stream.gyr_radps, want["gyr"], atol=gyr_tol)


@pytest.mark.parametrize("variant", ["new", "old"])
def test_witmotion_pc_software_export_with_the_preset(variant):
    from hinge.firmware_bridge.importers import column_maps
    recording = load_recording(witmotion_export(variant), "20231114221523.txt", columns=column_maps(preset="witmotion"))
    day_s = 0.0 if variant == "new" else T0_S - (T0_S % 86400)  # a time of day alone has no date
    stream = recording.sensors["hip"]
    np.testing.assert_allclose(stream.time_s + day_s, _grid_s(100.0, start_s=0.0, end_s=DURATION_S), atol=1e-6)
    _check_mapped(stream, time_offset_s=day_s, acc_tol=1e-4, gyr_tol=1e-6)
    assert "clock times were read as UTC" in recording.metadata["import_note"]


def test_metamotion_accelerometer_and_gyroscope_files_in_a_zip():
    from hinge.firmware_bridge.importers import column_maps
    recording = load_recording(zip_bytes(metamotion_files()), "metabase.zip", columns=column_maps(preset="metamotion"),
                               sensor="back")
    _check_mapped(recording.sensors["back"], acc_tol=1e-4, gyr_tol=2e-3)  # gyro interpolated onto acc stamps
    assert "Accelerometer_100.000Hz" in recording.metadata["source"]
    assert recording.metadata["source"].endswith("; g, deg/s, time in ms)")


def test_movella_dot_preamble_and_a_wrapping_microsecond_counter():
    from hinge.firmware_bridge.importers import column_maps
    recording = load_recording(movella_dot_export(wrap_at_s=5.0), "Xsens DOT_D422CD00.csv",
                               columns=column_maps(preset="movella-dot"))
    stream = recording.sensors["hip"]
    assert np.all(np.diff(stream.time_s) > 0) and stream.duration_s == pytest.approx(DURATION_S, abs=0.05)
    offset_s = T0_S - stream.time_s[0]
    _check_mapped(stream, time_offset_s=offset_s, acc_tol=1e-4, gyr_tol=1e-6)


def test_polar_sensor_logger_acc_in_mg_and_gyro_files():
    from hinge.firmware_bridge.importers import column_maps
    recording = load_recording_files(polar_files(), columns=column_maps(preset="polar"), name="polar")
    stream = recording.sensors["hip"]
    _check_mapped(stream, time_offset_s=POLAR_EPOCH_S, acc_tol=G / 1000, gyr_tol=5e-3)  # whole mg; 52 Hz gyro


def test_cli_columns_with_units_and_the_refusal_that_lists_what_was_found(tmp_path, capsys):
    from hinge import cli
    path = tmp_path / "imu.csv"
    time_s = _grid_s(50.0, start_s=0.0, end_s=DURATION_S)
    acc, gyr = truth(time_s)["acc"] / G, np.degrees(truth(time_s)["gyr"])
    rows = [[f"{(t - T0_S) * 1000:.0f}", *(f"{v:.6f}".replace(".", ",") for v in (*a, *w))]
            for t, a, w in zip(time_s, acc, gyr)]
    rows[7][2] = ""  # one sample with a missing value
    path.write_bytes(_delimited(["t_ms", "AX", "AY", "AZ", "GX", "GY", "GZ"], rows, ";"))
    assert cli.main(["import", str(path), "--columns", "time=t,acc=AX,AY,AZ,gyr=GX,GY,GZ", "--acc-unit", "g"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "the mapped columns were not found. Needed: time 't' (s), acc 'AX', 'AY', 'AZ' (g)" in err
    assert "Found: imu.csv: t_ms, AX, AY, AZ, GX, GY, GZ" in err
    assert cli.main(["import", str(path), "--columns", "time=t_ms,acc=AX,AY,AZ,gyr=GX,GY,GZ", "--acc-unit", "g",
                     "--gyr-unit", "deg/s", "--time-unit", "ms"]) == 0
    out = capsys.readouterr().out
    assert "note: imu.csv: 1 rows with a missing or non-numeric acc value dropped" in out
    stream = read_recording(tmp_path / "imu.hinge.csv").sensors["hip"]
    _check_mapped(stream, time_offset_s=T0_S, acc_tol=1e-4, gyr_tol=1e-4)
    assert cli.main(["import", str(path), "--acc-unit", "g"]) == 2
    assert "go with --columns or --preset" in capsys.readouterr().err


@pytest.mark.parametrize("spec, message", [
    ("time=t,acc=a,b", "acc needs three columns (x, y, z), got 'a', 'b'"),
    ("time=t,acc=a,b,c,gyr=d,e,f,mag=g", "unknown key 'mag'"),
    ("x,time=t", "'x' comes before any key"),
    ("time=t,acc=a,b,c", "--columns needs gyr too"),
])
def test_column_spec_errors(spec, message):
    from hinge.firmware_bridge.importers import column_maps
    with pytest.raises(RecordingError, match=re.escape(message)):
        column_maps(columns=spec)


def test_mapped_time_going_backwards_is_an_error():
    from hinge.firmware_bridge.importers import column_maps
    data = b"t,ax,ay,az,gx,gy,gz\n0.00,0,0,9.8,0,0,0\n0.01,0,0,9.8,0,0,0\n0.005,0,0,9.8,0,0,0\n"
    with pytest.raises(RecordingError, match=r"^x.csv line 4: time goes backwards \('0.005' after '0.01'\)"):
        load_recording(data, "x.csv", columns=column_maps(columns="time=t,acc=ax,ay,az,gyr=gx,gy,gz"))


def test_clock_times_across_midnight_in_a_utf16_export_with_slashed_dates():
    from hinge.firmware_bridge.importers import column_maps
    rows = ["Time\tax(g)\tay(g)\taz(g)\twx(deg/s)\twy(deg/s)\twz(deg/s)"]
    rows += [f"23:59:59.{ms:03d}\t0\t0\t1\t0\t0\t5.7" for ms in range(0, 1000, 10)]
    rows += [f"00:00:00.{ms:03d}\t0\t0\t1\t0\t0\t5.7" for ms in range(0, 1000, 10)]
    data = ("\r\n".join(rows) + "\r\n").encode("utf-16")  # with its byte-order mark, as Windows tools write
    stream = load_recording(data, "wit.txt", columns=column_maps(preset="witmotion")).sensors["hip"]
    np.testing.assert_allclose(np.diff(stream.time_s), 0.01, atol=1e-9)
    assert stream.time_s[0] == pytest.approx(86399.0)
    np.testing.assert_allclose(stream.acc_mps2[0], [0, 0, G])
    dated = b"Time,ax(g),ay(g),az(g),wx(deg/s),wy(deg/s),wz(deg/s)\n" + b"".join(
        f"2023/11/14 22:15:{s:06.3f},0,0,1,0,0,0\n".encode() for s in np.arange(0, 2, 0.01))
    stream = load_recording(dated, "wit.csv", columns=column_maps(preset="witmotion")).sensors["hip"]
    assert stream.time_s[0] == pytest.approx(float(np.datetime64("2023-11-14T22:15:00", "s").astype(np.int64)))
