"""``hinge import FILE``: convert a phone-app recording (Sensor Logger, phyphox) or any IMU CSV whose columns are
named (``--columns`` / ``--preset``) to ``hinge-recording/1``."""

from __future__ import annotations

import argparse
from pathlib import Path

from hinge.analysis.errors import RecordingError
from hinge.analysis.recording import SENSOR_NAMES, Recording
from hinge.analysis.recording_format import write_recording

from .importers import (
    PRESETS,
    SUPPORTED_FORMATS,
    ColumnMap,
    column_maps,
    combine_placements,
    load_recording,
    load_recording_files,
)
from .importers._columns import ACC_UNITS_MPS2, GYR_UNITS_RADPS, TIME_UNITS_S
from .importers._sensor_logger import PLATFORMS


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
    parser.add_argument("--platform", choices=PLATFORMS,
                        help="the phone's platform, for a Sensor Logger export without Metadata.csv or a saved push "
                             "capture (iOS and Android differ in sign)")
    mapping = parser.add_argument_group(
        "other apps' CSVs", "name the columns: --columns time=T,acc=AX,AY,AZ,gyr=GX,GY,GZ (header names), or a "
        "preset: " + "; ".join(f"{name}: {p.app}" for name, p in PRESETS.items()))
    mapping.add_argument("--columns", metavar="SPEC", help="time=COL,acc=X,Y,Z,gyr=X,Y,Z (overrides a preset's)")
    mapping.add_argument("--preset", choices=list(PRESETS), help="a known app's columns and units")
    mapping.add_argument("--acc-unit", choices=list(ACC_UNITS_MPS2), help="acceleration unit (default m/s2)")
    mapping.add_argument("--gyr-unit", choices=list(GYR_UNITS_RADPS), help="angular rate unit (default rad/s)")
    mapping.add_argument("--time-unit", choices=list(TIME_UNITS_S), help="time unit (default s; clock = hh:mm:ss)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    columns = None
    if args.columns or args.preset:
        columns = column_maps(preset=args.preset, columns=args.columns, time_unit=args.time_unit,
                              acc_unit=args.acc_unit, gyr_unit=args.gyr_unit)
    elif args.acc_unit or args.gyr_unit or args.time_unit:
        raise RecordingError("--acc-unit, --gyr-unit and --time-unit go with --columns or --preset (recognised "
                             "exports say their own units)")
    recording = read_any(args.file, sensor=args.sensor, platform=args.platform, columns=columns)
    if args.second:
        other = "back" if args.sensor == "hip" else "hip"
        pair = {args.sensor: recording, other: read_any(args.second, sensor=other, platform=args.platform)}
        recording = combine_placements(back=pair["back"], hip=pair["hip"])
    output = Path(args.output) if args.output else default_output(Path(args.file))
    if output.resolve() in {Path(p).resolve() for p in (args.file, args.second) if p}:
        raise RecordingError(f"{output}: refusing to overwrite an input file")
    write_recording(recording, output)
    print(f"wrote {output}: {summary(recording)}")
    if recording.metadata.get("import_note"):
        print(f"note: {recording.metadata['import_note']}")
    return 0


def read_any(path: str, *, sensor: str, platform: str | None = None,
             columns: tuple[ColumnMap, ...] | None = None) -> Recording:
    """Import a file or a folder (its files, relative paths kept) in any supported format (or by ``columns``)."""
    source = Path(path)
    if source.is_dir():
        files = {p.relative_to(source).as_posix(): p.read_bytes() for p in sorted(source.rglob("*")) if p.is_file()}
        return load_recording_files(files, sensor=sensor, name=source.name, platform=platform, columns=columns)
    if not source.exists():
        raise RecordingError(f"{path}: no such file")
    return load_recording(source.read_bytes(), source.name, sensor=sensor, platform=platform, columns=columns)


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
