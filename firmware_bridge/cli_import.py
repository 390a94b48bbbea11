"""``hinge import FILE``: convert a phone-app recording (Sensor Logger, phyphox) to ``hinge-recording/1``."""

from __future__ import annotations

import argparse
from pathlib import Path

from hinge.analysis.errors import RecordingError
from hinge.analysis.recording import SENSOR_NAMES, Recording
from hinge.analysis.recording_format import write_recording

from .importers import SUPPORTED_FORMATS, combine_placements, load_recording, load_recording_files


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import",
        help="convert a phone-app recording to hinge-recording/1",
        description=f"Convert a phone recording to the canonical hinge-recording/1 CSV. Formats: {SUPPORTED_FORMATS}.",
    )
    parser.add_argument("file", help="the export: a zip, CSV or JSON file, or a folder of Sensor Logger CSVs")
    parser.add_argument("--sensor", choices=SENSOR_NAMES, default="hip",
                        help="where the phone was worn: back (upper back) or hip (back pocket; default)")
    parser.add_argument("--second", metavar="FILE",
                        help="a second phone's recording, worn at the other placement; aligned on Unix time")
    parser.add_argument("-o", "--output", metavar="OUT.csv",
                        help="where to write (default: next to FILE, named FILE.hinge.csv)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    recording = read_any(args.file, sensor=args.sensor)
    if args.second:
        other = "back" if args.sensor == "hip" else "hip"
        pair = {args.sensor: recording, other: read_any(args.second, sensor=other)}
        recording = combine_placements(back=pair["back"], hip=pair["hip"])
    output = Path(args.output) if args.output else default_output(Path(args.file))
    if output.resolve() in {Path(p).resolve() for p in (args.file, args.second) if p}:
        raise RecordingError(f"{output}: refusing to overwrite an input file")
    write_recording(recording, output)
    print(f"wrote {output}: {summary(recording)}")
    return 0


def read_any(path: str, *, sensor: str) -> Recording:
    """Import a file or a folder (its files, relative paths kept) in any supported format."""
    source = Path(path)
    if source.is_dir():
        files = {p.relative_to(source).as_posix(): p.read_bytes() for p in sorted(source.rglob("*")) if p.is_file()}
        return load_recording_files(files, sensor=sensor, name=source.name)
    if not source.exists():
        raise RecordingError(f"{path}: no such file")
    return load_recording(source.read_bytes(), source.name, sensor=sensor)


def default_output(source: Path) -> Path:
    """``export.zip`` → ``export.hinge.csv`` next to it (a folder ``rec/`` → ``rec.hinge.csv``)."""
    stem = source.name if source.is_dir() else source.stem
    return source.parent / f"{stem}.hinge.csv"


def summary(recording: Recording) -> str:
    """One line per recording: each sensor's samples, mean rate and duration, plus the source."""
    parts = []
    for name, stream in recording.sensors.items():
        rate_hz = (stream.sample_count - 1) / stream.duration_s if stream.duration_s > 0 else 0.0
        parts.append(f"{name} {stream.sample_count} samples, {rate_hz:.1f} Hz, {stream.duration_s:.1f} s")
    source = recording.metadata.get("source")
    return "; ".join(parts) + (f" ({source})" if source else "")
