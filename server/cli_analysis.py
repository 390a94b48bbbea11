"""`hinge analyze` and `hinge simulate`."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("analyze", help="analyse a recording: per-rep table and summary, or --json",
                              description="Analyse a hinge-recording/1 CSV file.")
    p.add_argument("file", help="recording (hinge-recording/1 CSV)")
    p.add_argument("--json", action="store_true", help="print the hinge-report/1 JSON object")
    p.add_argument("--series", action="store_true", help="with --json: include the angle time series")
    p.add_argument("--acc-unit", default="auto", choices=["auto", "m/s2", "g"],
                   help="accelerometer unit (default: auto)")
    p.add_argument("--gyr-unit", default="auto", choices=["auto", "rad/s", "deg/s"],
                   help="gyroscope unit (default: auto)")
    p.add_argument("--axes", default="auto", choices=["auto", "right-handed", "left-handed"],
                   help="sensor axes handedness; left-handed reverses the gyroscope (default auto: the frame the "
                        "importer recorded, else the data check when it is sure, else as recorded)")
    p.add_argument("--rounding-threshold", type=float, default=20.0, metavar="DEG",
                   help="flag back rounding at or above this many degrees (default 20)")
    p.add_argument("--lean-back-threshold", type=float, default=8.0, metavar="DEG",
                   help="flag a lean-back at or above this many degrees (default 8)")
    p.add_argument("--lockout-threshold", type=float, default=12.0, metavar="DEG",
                   help="flag an incomplete lockout when the trunk stays above this angle (default 12)")
    p.set_defaults(handler=_analyze)

    s = subparsers.add_parser("simulate", help="write a simulated recording (and its ground truth)",
                              description="Write a recording from hinge's physics-based simulator.")
    s.add_argument("--preset", default="clean", help="preset or family name (see --list; default: clean)")
    s.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    s.add_argument("-o", "--output", help="recording file to write (default: stdout)")
    s.add_argument("--truth", metavar="FILE", help="also write the ground-truth reps as JSON")
    s.add_argument("--list", action="store_true", help="list presets and exit")
    s.set_defaults(handler=_simulate)


def _analyze(args: argparse.Namespace) -> int:
    from hinge.analysis.metrics import Thresholds
    from hinge.analysis.pipeline import AnalysisOptions, analyze_file
    from hinge.analysis.report import build_report

    options = AnalysisOptions(
        thresholds=Thresholds(back_rounding_deg=args.rounding_threshold, lean_back_deg=args.lean_back_threshold,
                              incomplete_lockout_deg=args.lockout_threshold),
        acc_unit=args.acc_unit, gyr_unit=args.gyr_unit, axes=args.axes,
    )
    started_s = time.perf_counter()
    report = build_report(analyze_file(args.file, options=options), include_series=args.series)
    log.info("%s: %d reps analysed in %.2f s", args.file, report["summary"]["rep_count"],
             time.perf_counter() - started_s)
    if args.json:
        json.dump(report, sys.stdout, separators=(",", ":"))
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_report(report))
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from hinge.analysis.errors import HingeError
    from hinge.analysis.recording_format import write_recording
    from hinge.analysis.simulate import PRESETS, simulate_preset

    if args.list:
        print("\n".join(PRESETS))
        return 0
    if args.preset not in PRESETS:
        raise HingeError(f"unknown preset {args.preset!r}; choose one of: {', '.join(PRESETS)}")
    sim = simulate_preset(args.preset, seed=args.seed)
    write_recording(sim.recording, args.output if args.output else sys.stdout.buffer)
    if args.truth:
        origin = sim.recording.start_time_s
        reps = [{k: (v - origin if k in ("start_s", "bottom_s", "end_s") else v) for k, v in r.items()}
                for r in sim.truth.reps]
        with open(args.truth, "w", encoding="utf-8") as handle:
            json.dump({"preset": args.preset, "seed": args.seed, "set_count": sim.truth.set_count,
                       "reps": reps}, handle, indent=1, default=float)
    if args.output:
        print(f"wrote {args.output} ({len(sim.truth.reps)} reps, sensors: {', '.join(sim.recording.sensor_names)})",
              file=sys.stderr)
    return 0


def _fmt(value, spec: str, width: int) -> str:
    return ("—" if value is None else format(value, spec)).rjust(width)


def format_report(report: dict) -> str:
    """A readable per-rep table, per-set summary and warnings for the terminal."""
    lines = []
    rec = report["recording"]
    sensors = ", ".join(f"{n} {s['sampling_rate_hz']:.0f} Hz" for n, s in rec["sensors"].items())
    lines.append(f"{rec['duration_s']:.1f} s recording ({sensors}); calibration: {report['calibration']['method']}")
    summary = report["summary"]
    lines.append(f"{summary['rep_count']} reps in {summary['set_count']} set(s)")
    header = (f"{'rep':>4} {'set':>3} {'move':>6} {'bottom s':>8} {'trunk°':>7} {'pelvis°':>7} {'round°':>7} "
              f"{'lean°':>6} {'down s':>6} {'up s':>5} {'drop m':>6}  flags")
    for s in report["sets"]:
        lines += ["", f"Set {s['index']}: {s['rep_count']} reps of {s['movement'] or '—'}", header]
        for r in report["reps"]:
            if r["set_index"] != s["index"]:
                continue
            flags = ", ".join(r["flags"]) + (" (partial)" if r["partial"] else "")
            lines.append(
                f"{r['index']:>4} {r['set_index']:>3} {r['movement']:>6} {r['bottom_s']:8.1f}"
                f"{_fmt(r['trunk_angle_deg'], '.1f', 8)}{_fmt(r['pelvis_angle_deg'], '.1f', 8)}"
                f"{_fmt(r['back_rounding_deg'], '.1f', 8)}{_fmt(r['lockout_lean_back_deg'], '.1f', 7)}"
                f"{r['descent_s']:7.1f}{r['ascent_s']:6.1f}{_fmt(r['hip_drop_m'], '.2f', 7)}  {flags}")
        mean = s["mean"]
        lines.append(f"     mean: trunk {_fmt(mean['trunk_angle_deg'], '.1f', 0)}°, rounding "
                     f"{_fmt(mean['back_rounding_deg'], '.1f', 0)}°, rep {_fmt(mean['rep_duration_s'], '.1f', 0)} s")
        if s["worst_rep"]:
            lines.append(f"     worst rep: {s['worst_rep']['index']} ({s['worst_rep']['reason'].replace('_', ' ')})")
        for note in s["trend"]["notes"]:
            lines.append(f"     trend: {note}")
        for flag, count in s["flag_counts"].items():
            if count:
                lines.append(f"     {flag.replace('_', ' ')} on {count} rep(s): {report['flag_vocabulary'][flag]}")
    if report["warnings"]:
        lines += ["", "Data quality:"] + [f"  - {w['message']}" for w in report["warnings"]]
    return "\n".join(lines) + "\n"
