"""The column-mapping importer: any delimited text export whose columns the user (or a named preset) names.

``time=COL,acc=X,Y,Z,gyr=X,Y,Z`` names one time column and three columns each for acceleration and angular
rate (names as in the header, case-insensitive). They may sit in one file or in two (acceleration and
gyroscope files with their own time column, as MetaBase and Polar Sensor Logger write them), inside a zip, a
folder or one CSV. Lines before the header (a device preamble, ``//`` or ``#`` comments) are skipped: the header
is the first line holding the time column and a mapped vector. Separator (comma, semicolon, tab) and decimal
mark (a comma when the separator is not) are recognised from the file.

Units are said, not guessed: acceleration ``m/s2``, ``g`` or ``mg`` (specific force, about +1 g on the up axis at
rest), angular rate ``rad/s`` or ``deg/s``, time ``s``, ``ms``, ``us``, ``ns`` (a number; a 32-bit µs counter
that wraps is unwrapped) or ``clock`` (``YYYY-MM-DD hh:mm:ss.fff`` or ``YYYY/MM/DD …`` taken as UTC, or
``hh:mm:ss.fff``, a day added at midnight). Text in UTF-8, UTF-16 (with BOM) or Windows-1252 is read. Rows
with a missing or non-numeric value in a mapped column are dropped and counted in the ``import_note``.
"""

from __future__ import annotations

import csv
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from hinge.analysis.errors import RecordingError
from hinge.analysis.recording import SENSOR_NAMES, Recording

from ._resample import merge_onto_accelerometer
from ._table import decode_text

STANDARD_GRAVITY_MPS2 = 9.80665
ACC_UNITS_MPS2 = {"m/s2": 1.0, "g": STANDARD_GRAVITY_MPS2, "mg": STANDARD_GRAVITY_MPS2 / 1000.0}
GYR_UNITS_RADPS = {"rad/s": 1.0, "deg/s": np.pi / 180.0}
TIME_UNITS_S = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "clock": 1.0}
_DELIMITERS = (",", ";", "\t")
_HEADER_SEARCH_LINES = 60
_WRAP_32 = float(1 << 32)


@dataclass(frozen=True)
class ColumnMap:
    """Which columns hold what, and in which units.

    time : name of the time column; acc, gyr : names of the x, y, z columns.
    time_unit, acc_unit, gyr_unit : keys of :data:`TIME_UNITS_S`, :data:`ACC_UNITS_MPS2`, :data:`GYR_UNITS_RADPS`.
    """

    time: str
    acc: tuple[str, str, str]
    gyr: tuple[str, str, str]
    time_unit: str = "s"
    acc_unit: str = "m/s2"
    gyr_unit: str = "rad/s"

    def needed(self) -> str:
        return (f"time '{self.time}' ({self.time_unit}), acc {', '.join(repr(c) for c in self.acc)} "
                f"({self.acc_unit}), gyr {', '.join(repr(c) for c in self.gyr)} ({self.gyr_unit})")


@dataclass(frozen=True)
class Preset:
    """A named app layout: its variants are tried in order; ``app`` says what it is for (CLI help, README)."""

    app: str
    variants: tuple[ColumnMap, ...]


def _three(names: list[str]) -> tuple[str, str, str]:
    return names[0], names[1], names[2]


def _xyz(template: str) -> tuple[str, str, str]:
    return _three([template.format(a) for a in "XYZ"])


PRESETS: Mapping[str, Preset] = {
    "witmotion": Preset("WitMotion PC software (WitMotion.exe / MiniIMU) export", (  # newer software first
        ColumnMap("Time", _xyz("Acceleration {}(g)"), _xyz("Angular velocity {}(°/s)"), "clock", "g", "deg/s"),
        ColumnMap("Time", _xyz("a{}(g)"), _xyz("w{}(deg/s)"), "clock", "g", "deg/s"),
    )),
    "metamotion": Preset("MetaBase (MbientLab MetaMotion) CSVs: *_Accelerometer.csv + *_Gyroscope.csv", (
        ColumnMap("epoc (ms)", _xyz("{}-axis (g)"), _xyz("{}-axis (deg/s)"), "ms", "g", "deg/s"),
    )),
    "movella-dot": Preset("Movella DOT app / MT Manager CSV export", (
        ColumnMap("SampleTimeFine", _xyz("Acc_{}"), _xyz("Gyr_{}"), "us", "m/s2", "deg/s"),
    )),
    "polar": Preset("Polar Sensor Logger: *_ACC.txt + *_GYRO.txt", (
        ColumnMap("sensor timestamp [ns]", _xyz("{} [mg]"), _xyz("{} [dps]"), "ns", "mg", "deg/s"),
    )),
    "phyphox": Preset("a custom phyphox experiment (name the acc and gyr columns with --columns)", (
        ColumnMap("Time (s)", ("", "", ""), ("", "", ""), "s", "m/s2", "rad/s"),
    )),
}


def parse_column_spec(spec: str) -> dict[str, list[str]]:
    """``"time=T,acc=ax,ay,az,gyr=gx,gy,gz"`` → ``{"time": ["T"], "acc": [...], "gyr": [...]}``.

    A cell with ``=`` starts a key; cells without one continue the previous key's list.
    """
    out: dict[str, list[str]] = {}
    key = None
    for cell in spec.split(","):
        if "=" in cell:
            key, value = (part.strip() for part in cell.split("=", 1))
            if key not in ("time", "acc", "gyr"):
                raise RecordingError(f"--columns: unknown key {key!r}; expected time=…,acc=X,Y,Z,gyr=X,Y,Z")
            if key in out:
                raise RecordingError(f"--columns: {key} given twice")
            out[key] = [value]
        elif key is None:
            raise RecordingError(f"--columns: {cell.strip()!r} comes before any key; expected time=…,acc=…,gyr=…")
        else:
            out[key].append(cell.strip())
    for key, names in out.items():
        if len(names) != (1 if key == "time" else 3) or not all(names):
            wanted = "one column" if key == "time" else "three columns (x, y, z)"
            raise RecordingError(f"--columns: {key} needs {wanted}, got {', '.join(repr(n) for n in names)}")
    return out


def column_maps(*, preset: str | None = None, columns: str | None = None, time_unit: str | None = None,
                acc_unit: str | None = None, gyr_unit: str | None = None) -> tuple[ColumnMap, ...]:
    """The column maps to try: a preset's variants, with any ``columns`` and units given on top."""
    for value, table, what in ((time_unit, TIME_UNITS_S, "time"), (acc_unit, ACC_UNITS_MPS2, "acc"),
                               (gyr_unit, GYR_UNITS_RADPS, "gyr")):
        if value is not None and value not in table:
            raise RecordingError(f"unknown {what} unit {value!r}; use {', '.join(table)}")
    if preset is not None and preset not in PRESETS:
        raise RecordingError(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
    given = parse_column_spec(columns) if columns else {}
    if preset is None:
        missing = [key for key in ("time", "acc", "gyr") if key not in given]
        if missing:
            raise RecordingError(f"--columns needs {', '.join(missing)} too (or a --preset: {', '.join(PRESETS)})")
        bases: tuple[ColumnMap, ...] = (ColumnMap(given["time"][0], _three(given["acc"]), _three(given["gyr"])),)
    else:
        bases = PRESETS[preset].variants
    maps = []
    for base in bases:
        changes: dict = {k: (v[0] if k == "time" else _three(v)) for k, v in given.items()}
        changes.update({k: v for k, v in (("time_unit", time_unit), ("acc_unit", acc_unit), ("gyr_unit", gyr_unit))
                        if v is not None})
        mapped = replace(base, **changes)
        if not all(mapped.acc) or not all(mapped.gyr):
            raise RecordingError(f"preset {preset} needs the acc and gyr columns: add --columns acc=X,Y,Z,gyr=X,Y,Z")
        maps.append(mapped)
    return tuple(maps)


def read_columns(files: Mapping[str, bytes], maps: tuple[ColumnMap, ...], *, sensor: str = "hip",
                 source: str = "column mapping") -> Recording:
    """Import ``files`` (``{path: bytes}``) with the first of ``maps`` whose columns they hold.

    Raises :class:`RecordingError` listing, per file, the columns found and the ones needed.
    """
    if sensor not in SENSOR_NAMES:
        raise RecordingError(f"unknown sensor placement {sensor!r}; expected back or hip")
    tables = {path: _Text.of(data, source=posixpath.basename(path)) for path, data in sorted(files.items())
              if not posixpath.basename(path).startswith(".")}
    for mapping in maps:
        found = _locate(tables, mapping)
        if found is not None:
            return _import(found, mapping, sensor=sensor, source=source)
    seen = "; ".join(f"{t.source}: {', '.join(t.first_cells()) or '(no header)'}" for t in list(tables.values())[:4])
    needs = " or ".join(m.needed() for m in maps)
    raise RecordingError(f"the mapped columns were not found. Needed: {needs}. Found: {seen}")


# ------------------------------------------------------------------------------------------------ internals


@dataclass(frozen=True)
class _Text:
    source: str
    lines: tuple[str, ...]

    @classmethod
    def of(cls, data: bytes, *, source: str) -> _Text:
        """UTF-8 (optional BOM), UTF-16 with its BOM (some Windows exporters), else Windows-1252 (never fails:
        a file in another code page shows its header garbled in the refusal rather than stopping the import)."""
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = data.decode("utf-16", errors="replace")
        else:
            try:
                text = decode_text(data, source=source)
            except RecordingError:
                text = data.decode("cp1252", errors="replace")
        return cls(source, tuple(text.splitlines()))

    def header(self, wanted: list[str]) -> tuple[int, str, list[str]] | None:
        """(line index, delimiter, cells) of the first line that holds every name in ``wanted``."""
        lowered = {w.lower() for w in wanted}
        for index, line in enumerate(self.lines[:_HEADER_SEARCH_LINES]):
            for delimiter in _DELIMITERS:
                cells = _cells(line, delimiter)
                if lowered <= {c.lower() for c in cells}:
                    return index, delimiter, cells
        return None

    def first_cells(self) -> list[str]:
        """The most promising header for an error message: the first line with several cells."""
        for line in self.lines[:_HEADER_SEARCH_LINES]:
            cells = max((_cells(line, d) for d in _DELIMITERS), key=len)
            if len(cells) >= 3:
                return cells
        return []


def _cells(line: str, delimiter: str) -> list[str]:
    row = next(csv.reader([line.lstrip("\ufeff")], delimiter=delimiter), [])
    return [cell.strip() for cell in row]


def _locate(tables: Mapping[str, _Text], mapping: ColumnMap) -> dict[str, tuple[_Text, int, str, list[str]]] | None:
    """Where the acc and gyr columns are: ``{"acc": (text, header index, delimiter, cells), "gyr": ...}``."""
    found = {}
    for kind, names in (("acc", mapping.acc), ("gyr", mapping.gyr)):
        for text in tables.values():
            header = text.header([mapping.time, *names])
            if header is not None:
                found[kind] = (text, *header)
                break
        else:
            return None
    return found


def _import(found: dict, mapping: ColumnMap, *, sensor: str, source: str) -> Recording:
    notes = []
    streams = {}
    for kind, names, scale in (("acc", mapping.acc, ACC_UNITS_MPS2[mapping.acc_unit]),
                               ("gyr", mapping.gyr, GYR_UNITS_RADPS[mapping.gyr_unit])):
        text, header_index, delimiter, cells = found[kind]
        time_s, values, dropped = _read(text, header_index, delimiter, cells, [mapping.time, *names], mapping)
        if dropped:
            notes.append(f"{text.source}: {dropped} rows with a missing or non-numeric {kind} value dropped")
        streams[kind] = (time_s, values * scale)
    stream = merge_onto_accelerometer(*streams["acc"], *streams["gyr"])
    files = sorted({found[k][0].source for k in found})
    metadata = {"source": f"{source} ({' + '.join(files)}; {mapping.acc_unit}, {mapping.gyr_unit}, "
                          f"time in {mapping.time_unit})"}
    if mapping.time_unit == "clock":
        notes.append("clock times were read as UTC")
    if notes:
        metadata["import_note"] = "; ".join(notes)
    return Recording(sensors={sensor: stream}, metadata=metadata)


def _read(text: _Text, header_index: int, delimiter: str, cells: list[str], wanted: list[str],
          mapping: ColumnMap) -> tuple[np.ndarray, np.ndarray, int]:
    lowered = [c.lower() for c in cells]
    columns = [lowered.index(w.lower()) for w in wanted]
    body = [line for line in text.lines[header_index + 1:] if line.strip()]
    rows = [[row[i] if i < len(row) else "" for i in columns] for row in csv.reader(body, delimiter=delimiter)]
    if not rows:
        raise RecordingError(f"{text.source}: header but no samples")
    decimal_comma = delimiter != "," and any("," in cell for row in rows[:20] for cell in row[1:])
    values = np.array([[_number(cell, decimal_comma) for cell in row[1:]] for row in rows], dtype=np.float64)
    time_s = _times([row[0] for row in rows], mapping.time_unit, decimal_comma, source=text.source,
                    first_line=header_index + 2)
    keep = np.isfinite(values).all(axis=1) & np.isfinite(time_s)
    if not keep.any():
        raise RecordingError(f"{text.source}: no row has numbers in all of {', '.join(wanted)}")
    return time_s[keep], values[keep], int((~keep).sum())


def _number(cell: str, decimal_comma: bool) -> float:
    try:
        return float(cell.replace(",", ".") if decimal_comma else cell)
    except ValueError:
        return float("nan")


_CLOCK = re.compile(r"^(?:(\d{4}[-/]\d{2}[-/]\d{2})[ T])?(\d{1,2}):(\d{2}):(\d{2}(?:[.,]\d+)?)$")


def _times(cells: list[str], unit: str, decimal_comma: bool, *, source: str, first_line: int) -> np.ndarray:
    if unit == "clock":
        time_s = np.array([_clock_s(cell.strip()) for cell in cells])
    else:
        time_s = np.array([_number(cell, decimal_comma) for cell in cells]) * TIME_UNITS_S[unit]
    finite = np.flatnonzero(np.isfinite(time_s))
    steps = np.diff(time_s[finite])
    wrap_s = _WRAP_32 * TIME_UNITS_S[unit] if unit in ("us", "ms") else (86400.0 if unit == "clock" else None)
    back = steps < 0
    if wrap_s is not None:
        wrapped = back & (steps < -wrap_s / 2)  # a counter (or a clock at midnight) starting over
        time_s[finite[1:]] += np.cumsum(wrapped) * wrap_s
        back &= ~wrapped
    if back.any():
        row = int(finite[1:][np.argmax(back)])
        raise RecordingError(f"{source} line {first_line + row}: time goes backwards ({cells[row].strip()!r} after "
                             f"{cells[finite[np.argmax(back)]].strip()!r})")
    return time_s


def _clock_s(cell: str) -> float:
    match = _CLOCK.match(cell)
    if not match:
        return float("nan")
    date, hours, minutes, seconds = match.groups()
    day_s = int(hours) * 3600 + int(minutes) * 60 + float(seconds.replace(",", "."))
    if date is None:
        return day_s
    return float(np.datetime64(date.replace("/", "-"), "s").astype(np.int64)) + day_s
