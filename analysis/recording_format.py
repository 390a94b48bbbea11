"""Reader and writer of the canonical recording format ``hinge-recording/1``.

Layout (UTF-8, LF or CRLF, optional BOM)::

    # format: hinge-recording/1          <- optional leading '#' lines, 'key: value' metadata
    # back_device: XIAO-7F21
    time_s,sensor,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z
    1700000000.000000,back,0.12,-0.03,9.80,0.001,0.000,-0.002
    1700000000.002500,hip,...

One row per sample per sensor; ``sensor`` is ``back`` or ``hip``; ``time_s`` is non-decreasing per sensor
(repeats allowed), rows of the two sensors may interleave in any order. ``acc_*`` in m/s², ``gyr_*`` in rad/s,
both in the sensor's own right-handed axes. The full specification is ``docs/recording-format.md``.

Parsing uses Arrow's multi-threaded CSV reader (an hour of two 200 Hz sensors, ~100 MB, in well under a
second); any problem it meets is re-located by a line-by-line scan so the error names line, column and value.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping
from typing import BinaryIO

import numpy as np

from .errors import RecordingError
from .recording import FORMAT_NAME, SENSOR_NAMES, Recording, SensorStream

COLUMNS: tuple[str, ...] = ("time_s", "sensor", "acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")
HEADER = ",".join(COLUMNS)
_BOM = b"\xef\xbb\xbf"
_MAX_PREAMBLE_LINES = 10_000

Source = str | os.PathLike | bytes


def read_recording(source: Source) -> Recording:
    """Parse a ``hinge-recording/1`` file (path) or its content (bytes) into a :class:`Recording`.

    Raises :class:`RecordingError` with one line saying what is wrong and where.
    """
    with _open(source) as stream:
        metadata, header_line_no, data_offset = _read_preamble(stream)
        stream.seek(data_offset)
        if not stream.read(1 << 16).strip():
            raise RecordingError("the file has a header but no samples")
        stream.seek(data_offset)
        try:
            columns = _parse_fast(stream)
        except _FastPathFailed:
            stream.seek(data_offset)
            _locate_problem(stream, header_line_no)
            raise RecordingError("the rows after the header could not be parsed as CSV") from None
        problem = _check_columns(columns)
        if problem:
            stream.seek(data_offset)
            _locate_problem(stream, header_line_no)
            raise RecordingError(problem)
    recording = _to_recording(columns, metadata)
    del columns
    _release_arrow_memory()
    return recording


def format_metadata_lines(metadata: Mapping[str, str]) -> str:
    """Return the ``# key: value`` preamble plus the header line, ``format`` first."""
    items = {"format": FORMAT_NAME, **{k: v for k, v in metadata.items() if k != "format"}}
    lines = []
    for key, value in items.items():
        key_text, value_text = str(key).strip(), " ".join(str(value).split())
        if not key_text or ":" in key_text or "\n" in key_text:
            raise RecordingError(f"metadata key {key!r} cannot be written (empty or contains ':')")
        lines.append(f"# {key_text}: {value_text}\n")
    return "".join(lines) + HEADER + "\n"


def format_sample_rows(sensor: str, time_s: np.ndarray, acc_mps2: np.ndarray, gyr_radps: np.ndarray) -> str:
    """Return CSV rows (with trailing newline) for ``n`` samples of one sensor.

    Shapes: ``time_s`` (n,), ``acc_mps2`` (n, 3) m/s², ``gyr_radps`` (n, 3) rad/s.
    """
    if sensor not in SENSOR_NAMES:
        raise RecordingError(f"unknown sensor {sensor!r}; expected one of {', '.join(SENSOR_NAMES)}")
    rows = np.column_stack([time_s, acc_mps2, gyr_radps])
    template = "%.6f," + sensor + ",%.5f,%.5f,%.5f,%.6f,%.6f,%.6f\n"
    return "".join(template % tuple(row) for row in rows.tolist())


def write_recording(recording: Recording, destination: str | os.PathLike | BinaryIO) -> None:
    """Write ``recording`` in the canonical format, rows merged by time (stable per sensor)."""
    chunks = [format_metadata_lines(recording.metadata)]
    names = list(recording.sensors)
    times = np.concatenate([recording.sensors[n].time_s for n in names])
    owner = np.concatenate([np.full(recording.sensors[n].sample_count, i) for i, n in enumerate(names)])
    order = np.lexsort((owner, times))
    block = 20_000
    for begin in range(0, order.size, block):
        idx = order[begin : begin + block]
        # keep runs of one sensor together so each chunk is formatted with one template
        run_starts = np.flatnonzero(np.diff(owner[idx], prepend=-1))
        run_ends = np.append(run_starts[1:], idx.size)
        offsets = np.concatenate([[0], np.cumsum([recording.sensors[n].sample_count for n in names])])
        for a, b in zip(run_starts, run_ends):
            which = int(owner[idx[a]])
            local = idx[a:b] - offsets[which]
            s = recording.sensors[names[which]]
            chunks.append(format_sample_rows(names[which], s.time_s[local], s.acc_mps2[local], s.gyr_radps[local]))
    text = "".join(chunks).encode("utf-8")
    if isinstance(destination, (str, os.PathLike)):
        tmp = f"{os.fspath(destination)}.tmp"
        with open(tmp, "wb") as handle:
            handle.write(text)
        os.replace(tmp, destination)
    else:
        destination.write(text)


# --------------------------------------------------------------------------------------------- internals


class _FastPathFailed(Exception):
    pass


def _release_arrow_memory() -> None:
    """Arrow's allocator keeps what it freed (the parse buffers and the columns, over twice the file) unless told."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def _open(source: Source) -> BinaryIO:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(source))
    try:
        return open(source, "rb")
    except FileNotFoundError:
        raise RecordingError(f"{os.fspath(source)}: no such file") from None
    except IsADirectoryError:
        raise RecordingError(f"{os.fspath(source)}: is a directory, not a recording file") from None
    except PermissionError:
        raise RecordingError(f"{os.fspath(source)}: permission denied") from None


def _decode(raw: bytes, line_no: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RecordingError(f"line {line_no}: not UTF-8 text (is this a hinge-recording/1 CSV file?)") from None


def _read_preamble(stream: BinaryIO) -> tuple[dict[str, str], int, int]:
    """Return (metadata, header line number, byte offset of the first data row)."""
    metadata: dict[str, str] = {}
    offset = 0
    for line_no in range(1, _MAX_PREAMBLE_LINES + 1):
        raw = stream.readline()
        if not raw:
            raise RecordingError(f"line {line_no}: the file ends before the header line '{HEADER}'")
        offset += len(raw)
        if b"\r" in raw.rstrip(b"\r\n"):
            raise RecordingError(f"line {line_no}: lines end in a bare carriage return (CR); save the file with LF "
                                 "or CRLF line endings")
        if line_no == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        text = _decode(raw, line_no).strip()
        if not text:
            continue
        if text.startswith("#"):
            key, sep, value = text[1:].partition(":")
            if sep and key.strip():
                metadata[key.strip()] = value.strip()
            continue
        if text != HEADER:
            found = text if len(text) <= 80 else text[:77] + "..."
            raise RecordingError(f"line {line_no}: expected the header '{HEADER}', found '{found}'")
        return metadata, line_no, offset
    raise RecordingError(f"no header line '{HEADER}' in the first {_MAX_PREAMBLE_LINES} lines")


def _parse_fast(stream: BinaryIO) -> dict[str, np.ndarray]:
    import pyarrow as pa
    from pyarrow import csv

    types = {name: pa.float64() for name in COLUMNS}
    types["sensor"] = pa.dictionary(pa.int32(), pa.string())
    try:
        table = csv.read_csv(
            stream,
            read_options=csv.ReadOptions(column_names=list(COLUMNS), block_size=8 << 20),
            convert_options=csv.ConvertOptions(column_types=types, strings_can_be_null=False,
                                               quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError):
        raise _FastPathFailed from None
    if table.num_rows == 0:
        raise RecordingError("the file has a header but no samples")
    if any(table.column(name).null_count for name in COLUMNS if name != "sensor"):
        raise _FastPathFailed
    sensor = table.column("sensor").combine_chunks()
    out = {name: table.column(name).to_numpy() for name in COLUMNS if name != "sensor"}
    out["sensor_codes"] = sensor.indices.to_numpy(zero_copy_only=False)
    out["sensor_names"] = np.array(sensor.dictionary.to_pylist(), dtype=object)
    return out


def _check_columns(columns: dict[str, np.ndarray]) -> str | None:
    """Cheap vectorised checks; a non-None answer triggers the line-locating scan."""
    bad_names = [n for n in columns["sensor_names"] if n not in SENSOR_NAMES]
    if bad_names:
        return f"unknown sensor name '{bad_names[0]}' (expected back or hip)"
    for name in COLUMNS:
        if name != "sensor" and not np.isfinite(columns[name]).all():
            return f"non-finite value in column {name}"
    time_s, codes = columns["time_s"], columns["sensor_codes"]
    for code in np.unique(codes):
        t = time_s[codes == code]
        if t.size > 1 and (np.diff(t) < 0).any():
            return f"time goes backwards for sensor {columns['sensor_names'][code]}"
    return None


def _locate_problem(stream: BinaryIO, header_line_no: int) -> None:
    """Scan the data rows in order and raise a RecordingError naming the first bad line, column and value."""
    last_time: dict[str, float] = {}
    line_no = header_line_no
    for raw in stream:
        line_no += 1
        text = _decode(raw, line_no).rstrip("\r\n")
        if not text.strip():
            continue
        fields = text.split(",")
        if len(fields) != len(COLUMNS):
            what = "missing" if len(fields) < len(COLUMNS) else "extra"
            raise RecordingError(
                f"line {line_no}: expected {len(COLUMNS)} columns ({HEADER}), found {len(fields)} ({what} columns)"
            )
        values = []
        for column, field_text in zip(COLUMNS, fields):
            if column == "sensor":
                continue
            try:
                value = float(field_text)
            except ValueError:
                raise RecordingError(
                    f"line {line_no}, column {column}: '{_short(field_text)}' is not a number"
                ) from None
            if not math.isfinite(value):
                raise RecordingError(f"line {line_no}, column {column}: '{_short(field_text)}' is not a finite number")
            values.append(value)
        sensor = fields[1].strip()
        if sensor != fields[1] or sensor not in SENSOR_NAMES:
            raise RecordingError(
                f"line {line_no}, column sensor: unknown sensor '{_short(fields[1])}' (expected back or hip)"
            )
        time_s = values[0]
        if sensor in last_time and time_s < last_time[sensor]:
            raise RecordingError(
                f"line {line_no}, column time_s: time goes backwards for sensor {sensor} "
                f"({fields[0]} after {last_time[sensor]!r})"
            )
        last_time[sensor] = time_s


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."


def _to_recording(columns: dict[str, np.ndarray], metadata: dict[str, str]) -> Recording:
    codes = columns["sensor_codes"]
    sensors = {}
    for code, name in enumerate(columns["sensor_names"]):
        rows = np.flatnonzero(codes == code)
        if not rows.size:
            continue
        acc, gyr = np.empty((rows.size, 3)), np.empty((rows.size, 3))
        for axis, letter in enumerate("xyz"):  # gather by index: no intermediate (n, 7) copy
            acc[:, axis] = columns[f"acc_{letter}"][rows]
            gyr[:, axis] = columns[f"gyr_{letter}"][rows]
        sensors[str(name)] = SensorStream(time_s=columns["time_s"][rows], acc_mps2=acc, gyr_radps=gyr)
    return Recording(sensors=sensors, metadata=metadata)

