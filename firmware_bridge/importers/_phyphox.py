"""phyphox (RWTH Aachen, iOS and Android): CSV exports of accelerometer + gyroscope experiments.

Layout, from the app's exporter (phyphox-android ``DataExport.java``) and experiment definitions
(phyphox-experiments ``accelerometer.phyphox`` "Acceleration with g", ``gyroscope.phyphox``; the simple
experiment creator ``SimpleExperimentCreator.java``), documented at https://phyphox.org/wiki:

- A zip with one CSV per export set, named ``<set name>.csv`` — ``Accelerometer.csv`` and ``Gyroscope.csv`` for
  a new "simple experiment" with both sensors, ``Raw Data.csv`` for the built-in experiments — plus
  ``meta/device.csv`` (``"property","value"``) and ``meta/time.csv`` (``"event","experiment time",
  "system time","system time text"``: one ``START``/``PAUSE`` row per event, system time in Unix seconds).
  A single set can also be exported alone as one CSV.
- Header cells are quoted. Android: ``"Time (s)","Acceleration x (m/s^2)","Acceleration y (m/s^2)",
  "Acceleration z (m/s^2)"`` (+ ``"Absolute acceleration (m/s^2)"``) and ``"Time (s)","Gyroscope x (rad/s)",
  ...``; iOS names the axes alone, the file saying the sensor: ``"Time (s)","X (m/s^2)","Y (m/s^2)",
  "Z (m/s^2)"`` in ``Accelerometer.csv`` and ``"X (rad/s)"…`` in ``Gyroscope.csv``. The unit tells the
  quantity; a set whose file name says "linear" (gravity removed) is not read. A set may hold several sensors,
  each after its own ``Time (s)`` column; shorter columns are padded with ``NaN`` at the end. Numbers are
  written as ``9.810000000E0``.
- Five CSV variants: comma + decimal point, tab + decimal point, semicolon + decimal point, tab + decimal
  comma, semicolon + decimal comma.

Units and axes: "Acceleration with g" is the raw accelerometer, specific force in m/s² (9.81 m/s² at rest,
up axis positive), gyroscope in rad/s, both about the device's right-handed axes (x right, y up the screen,
z out of it) on both platforms — already canonical. ``Time (s)`` is experiment time (seconds since the first
start, pauses excluded); with ``meta/time.csv`` it is mapped to Unix time via the last ``START`` before each
sample, so two phones can be paired. The "Linear Acceleration" sensor has gravity removed and is refused.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping

import numpy as np

from hinge.analysis.errors import RecordingError
from hinge.analysis.recording import SENSOR_NAMES, Recording

from ._resample import merge_onto_accelerometer
from ._table import Table, decode_text, parse_table, read_rows

_TIME = re.compile(r"^time \(s\)$", re.IGNORECASE)
_QUANTITIES = {
    "acc": re.compile(r"^(?:acceleration )?([xyz]) \(m/s(?:\^2|²)\)$", re.IGNORECASE),
    "gyr": re.compile(r"^(?:gyroscope )?([xyz]) \(rad/s\)$", re.IGNORECASE),
}
_NEEDED = ("'Acceleration x (m/s^2)' or 'X (m/s^2)' (and y, z) and 'Gyroscope x (rad/s)' or 'X (rad/s)' (and y, z), "
           "each after a 'Time (s)' column")
MIN_GRAVITY_MPS2 = 3.0  # a median |acceleration| below this is acceleration without gravity
_DELIMITERS = (",", ";", "\t")
_NAMES = {"acc": "acceleration", "gyr": "gyroscope"}


def is_phyphox_csv(first_line: str) -> bool:
    """True when a CSV header line is phyphox's (first cell ``"Time (s)"``)."""
    first_cell = re.split(r"[,;\t]", first_line.lstrip("\ufeff").strip(), maxsplit=1)[0]
    return bool(_TIME.match(first_cell.strip().strip('"')))


def read_phyphox_files(files: Mapping[str, bytes], *, sensor: str = "hip") -> Recording:
    """Import one phyphox CSV export given as ``{path: bytes}`` (zip members, or a single CSV).

    ``sensor`` is where the phone was worn (``"back"`` or ``"hip"``). Raises :class:`RecordingError` naming the
    file, line and column of a problem, or the missing sensor.
    """
    if sensor not in SENSOR_NAMES:
        raise RecordingError(f"unknown sensor placement {sensor!r}; expected back or hip")
    meta = {posixpath.basename(p).lower(): d for p, d in files.items() if posixpath.dirname(p).endswith("meta")}
    found: dict[str, tuple[np.ndarray, np.ndarray, str]] = {}
    headers = []
    for path, data in sorted(files.items()):
        if not path.lower().endswith(".csv") or posixpath.dirname(path).endswith("meta"):
            continue
        source = posixpath.basename(path)
        if "linear" in source.lower():
            continue  # "Linear Accelerometer.csv": gravity removed, never the specific force
        text = decode_text(data, source=source)
        if not text.strip():
            raise RecordingError(f"{source}: empty file")
        delimiter = _delimiter(text)
        header = next(iter(read_rows(text.lstrip().split("\n", 1)[0], delimiter=delimiter)), [])
        headers.extend(header)
        if not any(pattern.match(name) for pattern in _QUANTITIES.values() for name in header):
            continue  # another sensor's set (location, light, ...): not read
        table = parse_table(data, source=source, delimiter=delimiter, decimal_comma=_decimal_comma(text, delimiter))
        for kind, (time_s, xyz) in _quantities(table).items():
            if kind in found:
                raise RecordingError(f"phyphox export: {_NAMES[kind]} columns in both {found[kind][2]} and "
                                     f"{table.source}")
            found[kind] = (time_s, xyz, table.source)
    linear = any(h.lower().startswith("linear acceleration") for h in headers) or any(
        "linear" in posixpath.basename(p).lower() for p in files)
    if "acc" not in found:
        hint = " ('Linear Acceleration' has gravity removed; record 'Acceleration with g')" if linear else ""
        raise RecordingError(f"phyphox export: no 'Acceleration x (m/s^2)' or 'X (m/s^2)' columns{hint}; "
                             f"{_found_and_needed(headers)}")
    if "gyr" not in found:
        raise RecordingError("phyphox export: no 'Gyroscope x (rad/s)' or 'X (rad/s)' columns; the export needs the "
                             f"gyroscope too (an experiment with both sensors); {_found_and_needed(headers)}")
    if float(np.median(np.linalg.norm(found["acc"][1], axis=1))) < MIN_GRAVITY_MPS2:
        raise RecordingError(f"phyphox export: {found['acc'][2]} holds acceleration without gravity (median "
                             "magnitude near 0); record 'Acceleration with g' (Android) or 'Accelerometer' (iOS)")
    metadata = {"source": "phyphox", f"{sensor}_axes": "right-handed"}
    to_unix = _time_mapping(meta["time.csv"]) if "time.csv" in meta else None
    if to_unix is None:
        metadata["time_base"] = "phyphox experiment time (no meta/time.csv)"
    if "device.csv" in meta:
        model = _device_model(meta["device.csv"])
        if model:
            metadata[f"{sensor}_device"] = model
    (acc_time_s, acc_mps2, _), (gyr_time_s, gyr_radps, _) = found["acc"], found["gyr"]
    if to_unix is not None:
        acc_time_s, gyr_time_s = to_unix(acc_time_s), to_unix(gyr_time_s)
    stream = merge_onto_accelerometer(acc_time_s, acc_mps2, gyr_time_s, gyr_radps)
    return Recording(sensors={sensor: stream}, metadata=metadata)


def _found_and_needed(headers: list[str]) -> str:
    """The columns a refusal lists: what the export holds and what is needed (a custom experiment can be mapped)."""
    shown = ", ".join(f"'{h}'" for h in dict.fromkeys(headers)) or "none"
    return (f"found: {shown}; needed: {_NEEDED} (for a custom experiment, name its columns: hinge import FILE "
            "--preset phyphox --columns acc=X,Y,Z,gyr=X,Y,Z)")


def _decimal_comma(text: str, delimiter: str) -> bool:
    """Decimal commas: only with a ';' or tab separator, and seen in the first data rows."""
    if delimiter == ",":
        return False
    return any("," in line for line in text.lstrip().split("\n", 6)[1:6])


def _delimiter(text: str) -> str:
    """The separator of a phyphox CSV, from its header line (cells are quoted: ``"a";"b"``)."""
    first_line = text.lstrip().split("\n", 1)[0]
    for delimiter in _DELIMITERS:
        if f'"{delimiter}"' in first_line:
            return delimiter
    return max(_DELIMITERS, key=first_line.count)


def _quantities(table: Table) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each recognised x/y/z triple with the nearest ``Time (s)`` column before it, padding rows removed."""
    time_index = None
    columns: dict[str, dict[str, tuple[int, int | None]]] = {}
    for index, name in enumerate(table.header):
        if _TIME.match(name):
            time_index = index
        for kind, pattern in _QUANTITIES.items():
            match = pattern.match(name)
            if match:
                columns.setdefault(kind, {})[match.group(1).lower()] = (index, time_index)
    out = {}
    for kind, axes in columns.items():
        if set(axes) != set("xyz"):
            raise RecordingError(f"{table.source}: {_NAMES[kind]} columns for {', '.join(sorted(axes))} only")
        time_columns = {t for _, t in axes.values()}
        if None in time_columns or len(time_columns) != 1:
            raise RecordingError(f"{table.source}: no 'Time (s)' column before the {_NAMES[kind]} columns")
        time_column: int = time_columns.pop()  # type: ignore[assignment]  # None was ruled out above
        block = table.values[:, [time_column, axes["x"][0], axes["y"][0], axes["z"][0]]]
        out[kind] = _strip_padding(block, table, kind)
    return out


def _strip_padding(block: np.ndarray, table: Table, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Drop the trailing all-NaN padding phyphox adds to short columns; any other NaN is an error."""
    finite = np.isfinite(block).all(axis=1)
    count = int(np.flatnonzero(finite)[-1]) + 1 if finite.any() else 0
    if count == 0:
        raise RecordingError(f"{table.source}: no {_NAMES[kind]} samples")
    if not finite[:count].all():
        row = int(np.flatnonzero(~finite[:count])[0])
        raise RecordingError(f"{table.source}: missing or non-finite {_NAMES[kind]} value in data row {row + 1}")
    return block[:count, 0], block[:count, 1:]


def _time_mapping(data: bytes):
    """Return ``f(experiment_time_s) -> unix_time_s`` from ``meta/time.csv``, or None without START events."""
    text = decode_text(data, source="meta/time.csv")
    starts = []
    for line_no, row in enumerate(read_rows(text, delimiter=_delimiter(text))[1:], start=2):
        if len(row) < 3 or row[0].upper() != "START":
            continue
        try:
            starts.append((float(row[1].replace(",", ".")), float(row[2].replace(",", "."))))
        except ValueError:
            raise RecordingError(f"meta/time.csv line {line_no}: '{row[1]}' / '{row[2]}' are not numbers") from None
    if not starts:
        return None
    experiment_s, system_s = (np.array(v) for v in zip(*sorted(starts)))

    def to_unix(time_s: np.ndarray) -> np.ndarray:
        k = np.clip(np.searchsorted(experiment_s, time_s, side="right") - 1, 0, experiment_s.size - 1)
        return system_s[k] + (time_s - experiment_s[k])

    return to_unix


def _device_model(data: bytes) -> str:
    text = decode_text(data, source="meta/device.csv")
    properties = {row[0]: row[1] for row in read_rows(text, delimiter=_delimiter(text)) if len(row) >= 2}
    return " ".join(p for p in (properties.get("deviceBrand", ""), properties.get("deviceModel", "")) if p)
