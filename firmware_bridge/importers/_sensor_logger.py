"""Sensor Logger (Kelvin Choi's app, iOS and Android): exported recordings and HTTP push messages.

Layouts, as documented in https://github.com/tszheichoi/awesome-sensor-logger (README.md, UNITS.md,
COORDINATES.md, CROSSPLATFORM.md, PUSHING.md):

- **Zip / CSV export**: one CSV per sensor (``Accelerometer.csv``, ``Gyroscope.csv``, ``Gravity.csv``,
  ``TotalAcceleration.csv``, ``AccelerometerUncalibrated.csv``, ``GyroscopeUncalibrated.csv``, ...), optionally
  in a folder inside the zip, header ``time,seconds_elapsed,z,y,x`` (columns are read by name). ``time`` is
  Unix time in nanoseconds (UTC), ``seconds_elapsed`` seconds since the tap on start (may be negative).
  ``Metadata.csv`` holds one row with ``version,device name,recording epoch time,recording time,
  recording timezone,platform,appVersion,device id,sensors,sampleRateMs,standardisation,platform version``
  (older exports have fewer columns).
- **JSON export**: an array of records ``{"sensor": "Accelerometer", "time": "<ns>", "x": .., "y": .., "z": ..}``
  (numbers may be strings).
- **HTTP push** (and MQTT, same schema): ``{"messageId": int, "sessionId": str, "deviceId": str,
  "payload": [{"name": "accelerometer", "time": <ns>, "values": {"x": .., "y": .., "z": ..}}, ...]}``; names are
  the file names in lower case (``totalacceleration``, ``gyroscope``, ``gravity``, ...).

Units and signs (UNITS.md, COORDINATES.md):

- ``TotalAcceleration``: acceleration *including* gravity, m/s², Android only; this is the canonical specific
  force (+9.81 on the up axis at rest).
- ``Accelerometer``: acceleration *without* gravity, m/s²; ``Gravity``: the gravity vector, m/s². Their sum is
  the specific force on Android. On iOS both are negated ("inertial force" convention: flat on a table gravity
  reads -z), unless *Standardise Units & Frames* is on, which makes iOS follow Android.
- ``AccelerometerUncalibrated``: m/s² on Android; on iOS in g (9.80665 m/s²) with the iOS sign, unless
  standardised.
- ``Gyroscope`` (and uncalibrated): rad/s, right-handed about the same axes, the same on both platforms.

Acceleration is taken from ``TotalAcceleration``, else ``Accelerometer`` + ``Gravity`` (gravity interpolated
onto the accelerometer's stamps), else ``AccelerometerUncalibrated``; the gyroscope from ``Gyroscope``, else
``GyroscopeUncalibrated`` (rad/s, the drift the app would have removed left in; the analysis estimates it). A
file that is empty (0 bytes, as iOS writes some when the camera is on) or holds only its header counts as
missing; when a fallback is used the recording's ``import_note`` says which file and why. The platform (from
``Metadata.csv``, or the ``platform`` argument when the export has none, e.g. push messages) decides sign and
unit where it matters; both platforms use right-handed axes (``<sensor>_axes: right-handed``).
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Collection, Iterable, Mapping

import numpy as np

from hinge.analysis.errors import RecordingError
from hinge.analysis.recording import SENSOR_NAMES, Recording

from ._resample import interpolate_onto, merge_onto_accelerometer, unique_sorted
from ._table import decode_text, parse_table, read_rows

STANDARD_GRAVITY_MPS2 = 9.80665
PLATFORMS = ("android", "ios")
HEADER_START = "time,seconds_elapsed"
METADATA_START = "version,device name"
_VECTOR_SENSORS = ("totalacceleration", "accelerometer", "gravity", "accelerometeruncalibrated", "gyroscope",
                   "gyroscopeuncalibrated")
_DISPLAY = {"accelerometer": "Accelerometer", "gravity": "Gravity", "gyroscope": "Gyroscope"}

# name -> (time_ns (n,), xyz (n, 3)) in the app's own units and signs
Tables = dict[str, tuple[np.ndarray, np.ndarray]]


def is_sensor_logger_csv(first_line: str) -> bool:
    """True when a CSV header line is Sensor Logger's (``time,seconds_elapsed,...``, or ``Metadata.csv``'s
    ``version,device name,...``, which tells an export whose sensor files are all empty)."""
    return first_line.strip().lower().replace('"', "").startswith((HEADER_START, METADATA_START))


def read_sensor_logger_files(files: Mapping[str, bytes], *, sensor: str = "hip",
                             platform: str | None = None) -> Recording:
    """Import a Sensor Logger CSV export given as ``{file name: bytes}`` (zip members or a folder's files).

    Only the motion CSVs and ``Metadata.csv`` are read; folders inside the zip are ignored. ``sensor`` is where
    the phone was worn (``"back"`` or ``"hip"``); ``platform`` (``"android"`` or ``"ios"``) is needed only when
    the export has no ``Metadata.csv`` and its acceleration's sign depends on it. Raises :class:`RecordingError`
    naming the missing file or the bad line.
    """
    tables: Tables = {}
    empty: set[str] = set()
    names: dict[str, str] = {}
    metadata_row: dict[str, str] = {}
    for path, data in files.items():
        stem, ext = posixpath.splitext(posixpath.basename(path))
        if ext.lower() != ".csv":
            continue
        if stem.lower() == "metadata":
            metadata_row = _read_metadata_csv(data, source=posixpath.basename(path))
        elif stem.lower() in _VECTOR_SENSORS:
            if stem.lower() in tables or stem.lower() in empty:
                raise RecordingError(f"Sensor Logger export: more than one {stem}.csv (one recording per import)")
            names[stem.lower()] = posixpath.basename(path)
            if len([line for line in data.lstrip()[:4096].splitlines()[:2] if line.strip()]) < 2:
                empty.add(stem.lower())  # 0 bytes or a header alone: as if missing (a fallback may serve)
                continue
            table = parse_table(data, source=posixpath.basename(path))
            xyz = np.column_stack([table.column(axis) for axis in "xyz"])
            tables[stem.lower()] = _finite(table.column("time"), xyz, source=table.source)
    if not tables:
        listed = ", ".join(sorted(names[n] for n in empty))
        raise RecordingError("Sensor Logger export: no TotalAcceleration.csv, Accelerometer.csv or Gyroscope.csv"
                             + (f" with samples ({listed} empty)" if listed else ""))
    stated, platform = _platform(metadata_row, platform)
    metadata = {"source": f"Sensor Logger ({platform or 'platform unknown'})", **stated}
    if metadata_row.get("device name"):
        metadata[f"{sensor}_device"] = metadata_row["device name"]
    return recording_from_tables(tables, platform=platform, sensor=sensor, metadata=metadata,
                                 where="Sensor Logger export", empty=empty)


def read_sensor_logger_json(records: list, *, sensor: str = "hip", platform: str | None = None) -> Recording:
    """Import Sensor Logger's JSON export (an array of ``{"sensor": .., "time": .., "x": ..}`` records);
    ``platform`` as for :func:`read_sensor_logger_files`."""
    rows: dict[str, list[tuple[float, ...]]] = {}
    metadata_row: dict[str, str] = {}
    for index, record in enumerate(records):
        if not isinstance(record, dict) or "sensor" not in record:
            raise RecordingError(f"Sensor Logger JSON record {index}: expected an object with a 'sensor' field")
        name = str(record["sensor"]).lower()
        if name == "metadata":
            metadata_row = {str(k).lower(): str(v) for k, v in record.items()}
        elif name in _VECTOR_SENSORS:
            where = f"Sensor Logger JSON record {index} ({record['sensor']})"
            rows.setdefault(name, []).append(tuple(_number(record.get(key), f"{where}: {key}")
                                                   for key in ("time", "x", "y", "z")))
    stated, platform = _platform(metadata_row, platform)
    metadata = {"source": f"Sensor Logger JSON ({platform or 'platform unknown'})", **stated}
    return recording_from_tables(_tables_from_rows(rows), platform=platform, sensor=sensor, metadata=metadata,
                                 where="Sensor Logger JSON export")


def read_sensor_logger_push(messages: Iterable[Mapping | str | bytes], *, sensor: str = "hip",
                            platform: str | None = None) -> Recording:
    """Turn one or more Sensor Logger HTTP-push messages into one merged stream.

    Parameters
    ----------
    messages : the decoded JSON objects, or their text.
    sensor : ``"back"`` or ``"hip"``, where the phone is worn.
    platform : ``"android"`` or ``"ios"`` (iOS with *Standardise Units & Frames* off). Push messages do not say
        which; it is only needed when they carry no ``totalacceleration`` (always the case on iOS).

    Notes
    -----
    Gyroscope samples are interpolated onto the accelerometer's stamps, so the first and last accelerometer
    samples of a batch without gyroscope samples on both sides are dropped; pass a window of consecutive
    messages to lose only its ends. Repeated messages (same stamps) are merged, not duplicated.
    """
    rows: dict[str, list[tuple[float, ...]]] = {}
    session_ids = set()
    for index, message in enumerate(messages):
        if isinstance(message, (str, bytes, bytearray)):
            try:
                message = json.loads(message)
            except json.JSONDecodeError as error:
                raise RecordingError(f"push message {index}: not JSON ({error.msg} at char {error.pos})") from None
        if not isinstance(message, Mapping) or not isinstance(message.get("payload"), list):
            raise RecordingError(f"push message {index}: expected an object with a 'payload' list")
        session_ids.add(str(message.get("sessionId", "")))
        for item_index, item in enumerate(message["payload"]):
            where = f"push message {index} (messageId {message.get('messageId', '?')}), payload[{item_index}]"
            if not isinstance(item, Mapping) or "name" not in item:
                raise RecordingError(f"{where}: expected an object with a 'name'")
            name = str(item["name"]).lower()
            if name not in _VECTOR_SENSORS:
                continue
            values = item.get("values")
            if not isinstance(values, Mapping):
                raise RecordingError(f"{where} ({name}): 'values' is missing or not an object")
            rows.setdefault(name, []).append((_number(item.get("time"), f"{where} ({name}): time"),
                                              *(_number(values.get(k), f"{where} ({name}): values.{k}")
                                                for k in "xyz")))
    stated, platform = _platform({}, platform)
    metadata = {"source": f"Sensor Logger push ({platform or 'platform unknown'})", **stated}
    if len(session_ids) == 1 and "" not in session_ids:
        metadata["session"] = session_ids.pop()
    return recording_from_tables(_tables_from_rows(rows), platform=platform, sensor=sensor, metadata=metadata,
                                 where="Sensor Logger push")


def push_first_time_s(message: Mapping) -> float | None:
    """The earliest motion-sensor stamp of one push message (Unix seconds; None if it has none). The message must
    have been read by :func:`read_sensor_logger_push` (its stamps are checked there)."""
    stamps = [float(item["time"]) for item in message["payload"]
              if isinstance(item, Mapping) and str(item.get("name", "")).lower() in _VECTOR_SENSORS]
    return min(stamps) / 1e9 if stamps else None


def recording_from_tables(tables: Tables, *, platform: str | None, sensor: str, metadata: Mapping[str, str],
                          where: str, empty: Collection[str] = ()) -> Recording:
    """Convert per-sensor tables (Unix ns stamps, the app's units and signs) into a canonical :class:`Recording`.

    ``platform`` is ``"android"`` (also: iOS standardised), ``"ios"`` or None (unknown; an error when the sign
    of the acceleration depends on it). ``empty`` names the sensors (lower case, as in :data:`_VECTOR_SENSORS`)
    whose files were present but held no samples: the ``import_note`` of a fallback says empty, not missing.
    """
    if sensor not in SENSOR_NAMES:
        raise RecordingError(f"unknown sensor placement {sensor!r}; expected back or hip")
    if platform is not None and platform not in PLATFORMS:
        raise RecordingError(f"unknown platform {platform!r}; expected android or ios")
    seconds = {name: unique_sorted(time_ns / 1e9, xyz) for name, (time_ns, xyz) in tables.items() if len(time_ns)}
    notes: list[str] = []
    acc_time_s, acc_mps2 = _specific_force(seconds, platform, where, notes)
    if notes:
        notes[-1] += f" as {_absent(('accelerometer', 'gravity'), seconds, empty)}"
    gyro_name = "gyroscope" if "gyroscope" in seconds else "gyroscopeuncalibrated"
    if gyro_name not in seconds:
        raise RecordingError(f"{where}: no gyroscope samples (Gyroscope.csv is missing or empty; enable the "
                             "Gyroscope sensor in Sensor Logger)")
    if gyro_name == "gyroscopeuncalibrated":
        notes.append("gyroscope from GyroscopeUncalibrated (rad/s, drift not removed by the phone) as "
                     + _absent(("gyroscope",), seconds, empty))
    gyr_time_s, gyr_radps = seconds[gyro_name]
    stream = merge_onto_accelerometer(acc_time_s, acc_mps2, gyr_time_s, gyr_radps)
    metadata = {**metadata, f"{sensor}_axes": "right-handed"}
    if notes:
        metadata["import_note"] = "; ".join(notes)
    return Recording(sensors={sensor: stream}, metadata=metadata)


def _absent(names: tuple[str, ...], seconds: Mapping[str, object], empty: Collection[str]) -> str:
    """``"Accelerometer was empty, Gravity was missing"`` for the sensors of ``names`` without samples."""
    return ", ".join(f"{_DISPLAY[n]} was {'empty' if n in empty else 'missing'}" for n in names if n not in seconds)


def _specific_force(seconds: dict[str, tuple[np.ndarray, np.ndarray]], platform: str | None,
                    where: str, notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    if "totalacceleration" in seconds:
        return seconds["totalacceleration"]
    if "accelerometer" in seconds and "gravity" in seconds:
        sign = _sign(platform, where, "Accelerometer + Gravity")
        time_s, linear = seconds["accelerometer"]
        gravity, valid = interpolate_onto(time_s, *seconds["gravity"])
        return time_s[valid], sign * (linear[valid] + gravity[valid])
    if "accelerometeruncalibrated" in seconds:
        sign = _sign(platform, where, "AccelerometerUncalibrated")
        time_s, raw = seconds["accelerometeruncalibrated"]
        notes.append("acceleration from AccelerometerUncalibrated (" + (
            "g with the iOS sign, converted to m/s² and negated" if sign < 0 else "m/s²") + ")")
        return time_s, raw * (-STANDARD_GRAVITY_MPS2 if sign < 0 else 1.0)
    if "accelerometer" in seconds:
        raise RecordingError(f"{where}: Accelerometer holds acceleration without gravity; also needed: Gravity "
                             "or TotalAcceleration (enable them in Sensor Logger)")
    raise RecordingError(f"{where}: no acceleration samples (TotalAcceleration.csv or Accelerometer.csv + "
                         "Gravity.csv is missing or empty)")


def _sign(platform: str | None, where: str, what: str) -> float:
    if platform is None:
        raise RecordingError(f"{where}: {what} has opposite signs on iOS and Android and the platform is unknown "
                             "(include Metadata.csv, or say the platform: --platform ios or android)")
    return -1.0 if platform == "ios" else 1.0


def _read_metadata_csv(data: bytes, *, source: str) -> dict[str, str]:
    rows = read_rows(decode_text(data, source=source), delimiter=",")
    if len(rows) < 2:
        return {}
    return {key.lower(): value for key, value in zip(rows[0], rows[1])}


def _platform(row: Mapping[str, str], given: str | None) -> tuple[dict[str, str], str | None]:
    """``({"platform": stated} or {}, the sign convention to undo)``: the metadata's platform, else ``given``;
    the convention is ``android`` when *Standardise Units & Frames* was on. A ``given`` platform that contradicts
    the metadata is an error. The stated platform goes into the recording's metadata so a re-import can repeat it.
    """
    if given is not None and given not in PLATFORMS:
        raise RecordingError(f"unknown platform {given!r}; expected android or ios")
    platform = row.get("platform", "").strip().lower()
    if platform not in PLATFORMS:
        return ({"platform": given} if given else {}), given
    if given is not None and given != platform:
        raise RecordingError(f"the export's metadata says the platform is {platform}, but {given} was given")
    standardised = row.get("standardisation", "").strip().lower() == "true"
    return {"platform": platform}, "android" if standardised else platform


def _tables_from_rows(rows: Mapping[str, list[tuple[float, ...]]]) -> Tables:
    arrays = {name: np.array(r, dtype=np.float64) for name, r in rows.items()}
    return {name: (a[:, 0], a[:, 1:]) for name, a in arrays.items()}


def _finite(time_ns: np.ndarray, xyz: np.ndarray, *, source: str) -> tuple[np.ndarray, np.ndarray]:
    bad = ~(np.isfinite(time_ns) & np.isfinite(xyz).all(axis=1))
    if bad.any():
        raise RecordingError(f"{source}: non-finite value in data row {int(np.argmax(bad)) + 1}")
    return time_ns, xyz


def _number(value: object, where: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]  # any JSON value: a non-number raises below
    except (TypeError, ValueError):
        raise RecordingError(f"{where}: {value!r} is not a number") from None
    if not np.isfinite(number):
        raise RecordingError(f"{where}: {value!r} is not a finite number")
    return number
