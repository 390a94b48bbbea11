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

:class:`RecordingWriter` appends to a file as samples arrive (the BLE recorder, the server's live sets), crash-safe:
whole lines per chunk, fsync on demand, and a fixed-width ``# gaps:`` metadata line rewritten in place.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from .errors import RecordingError
from .recording import FORMAT_NAME, SENSOR_NAMES, Chunk, Recording, SensorStream

if TYPE_CHECKING:
    import pyarrow as pa

COLUMNS: tuple[str, ...] = ("time_s", "sensor", "acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")
HEADER = ",".join(COLUMNS)
_BOM = b"\xef\xbb\xbf"
_MAX_PREAMBLE_LINES = 10_000
GAPS_KEY = "gaps"
GAPS_FIELD_BYTES = 4000

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
            table = _parse_fast(stream)
        except _FastPathFailed:
            stream.seek(data_offset)
            _locate_problem(stream, header_line_no)
            raise RecordingError("the rows after the header could not be parsed as CSV") from None
        sensors, problem = _split_sensors(table)
        del table
        _release_arrow_memory()
        if problem:
            stream.seek(data_offset)
            _locate_problem(stream, header_line_no)
            raise RecordingError(problem)
    return Recording(sensors=sensors, metadata=metadata)


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


class RecordingWriter:
    """Appends sample rows to a ``hinge-recording/1`` file; see the module notes for the crash guarantees.

    Parameters
    ----------
    path : destination (created or truncated).
    metadata : leading ``key: value`` lines (``format`` is added first).
    """

    def __init__(self, path: str | os.PathLike, metadata: dict[str, str]) -> None:
        self.path = os.fspath(path)
        self.gaps: list[tuple[str, float, float]] = []
        preamble = format_metadata_lines({**metadata, GAPS_KEY: "x"})
        marker = f"# {GAPS_KEY}: x\n"
        self._gaps_offset = len(preamble[: preamble.index(marker)].encode()) + len(f"# {GAPS_KEY}: ")
        preamble = preamble.replace(marker, f"# {GAPS_KEY}: {' ' * GAPS_FIELD_BYTES}\n")
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self._pending: list[str] = [preamble]
        self.flush()

    def append(self, chunk: Chunk) -> None:
        """Write the rows of one chunk of samples at once (no fsync)."""
        self._pending.append(format_sample_rows(chunk.sensor, chunk.time_s, chunk.acc_mps2, chunk.gyr_radps))
        self.flush(sync=False)

    def add_gap(self, sensor: str, start_s: float, end_s: float) -> None:
        """Record a gap and rewrite the reserved metadata field in place (durably)."""
        self.gaps.append((sensor, start_s, end_s))
        entries = [f"{name} {a:.6f} {b:.6f}" for name, a, b in self.gaps]
        text = "; ".join(entries)
        while len(text) > GAPS_FIELD_BYTES:  # keep the earliest gaps, say how many more there were
            entries.pop()
            text = "; ".join(entries) + f"; +{len(self.gaps) - len(entries)} more"
        os.pwrite(self._fd, text.ljust(GAPS_FIELD_BYTES).encode(), self._gaps_offset)
        os.fsync(self._fd)

    def flush(self, *, sync: bool = True) -> None:
        """Write whole queued lines in one call, then fsync unless ``sync`` is False.

        Written lines survive the process being killed; only the fsync makes them survive a power cut.
        """
        if self._pending:
            data, self._pending = "".join(self._pending).encode(), []
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view):]
        if sync:
            os.fsync(self._fd)

    def close(self) -> None:
        self.flush()
        os.close(self._fd)


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


def _parse_fast(stream: BinaryIO) -> pa.Table:
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
    return table


def _split_sensors(table: pa.Table) -> tuple[dict[str, SensorStream], str | None]:
    """Each sensor's rows gathered from Arrow's column chunks (no concatenated copy of a whole column), and the
    first problem the cheap vectorised checks find (None if none: a problem triggers the line-locating scan)."""
    sensor = table.column("sensor").combine_chunks()  # one dictionary for all chunks
    names = sensor.dictionary.to_pylist()
    bad_names = [n for n in names if n not in SENSOR_NAMES]
    if bad_names:
        return {}, f"unknown sensor name '{bad_names[0]}' (expected back or hip)"
    codes = sensor.indices.to_numpy(zero_copy_only=False)
    columns = {name: table.column(name).chunks for name in COLUMNS if name != "sensor"}
    chunk_starts = np.cumsum([0] + [len(c) for c in columns["time_s"]])
    sensors = {}
    for code, name in enumerate(names):
        rows = np.flatnonzero(codes == code)
        if not rows.size:
            continue
        cuts = np.searchsorted(rows, chunk_starts)
        time_s, acc, gyr = np.empty(rows.size), np.empty((rows.size, 3)), np.empty((rows.size, 3))
        for out, column in [(time_s, "time_s"), *((acc[:, i], f"acc_{a}") for i, a in enumerate("xyz")),
                            *((gyr[:, i], f"gyr_{a}") for i, a in enumerate("xyz"))]:
            for k, chunk in enumerate(columns[column]):
                out[cuts[k]:cuts[k + 1]] = chunk.to_numpy()[rows[cuts[k]:cuts[k + 1]] - chunk_starts[k]]
            if not np.isfinite(out).all():
                return {}, f"non-finite value in column {column}"
        if time_s.size > 1 and (np.diff(time_s) < 0).any():
            return {}, f"time goes backwards for sensor {name}"
        sensors[name] = SensorStream(time_s=time_s, acc_mps2=acc, gyr_radps=gyr)
    return sensors, None


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
