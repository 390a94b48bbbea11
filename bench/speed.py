"""Speed and memory of ``hinge analyze``, as ratios to the floor each file allows (issue 12's targets).

    python bench/speed.py               # builds bench/out/*.csv once, then measures (best of 3)
    python bench/speed.py --profile     # also: which step of the 1-hour analysis costs what (cProfile)
    python bench/speed.py --skip-4h     # the demo and the hour only

Every timing is a fresh process, as a user runs it (interpreter start, imports, parse, analysis, JSON out);
the ratios come from one run, so a busy machine slows the floor and the measured command alike.

* the 43 s demo (``recordings/demo-rounding.csv``) against ``python -c "import numpy, pyarrow.csv"``;
* a 1-hour and a 4-hour recording (two sensors at 200 Hz, a simulated session tiled) against parsing the same
  CSV with Arrow's multi-threaded reader and nothing else; peak resident memory of the analysing process;
* for the long files, the floor of our own pipeline: reading the file and VQF's offline orientation of both
  sensors (the steps no analysis can skip), and VQF alone, as ratios to the same Arrow parse.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
DEMO = ROOT / "recordings" / "demo-rounding.csv"

IMPORT_FLOOR = "import numpy, pyarrow.csv"
# the floor of our own pipeline: the two steps no analysis can skip, reading the file and VQF's offline orientation
# of each sensor at its recorded rate (prints the seconds VQF alone took)
PIPELINE_FLOOR = """
import sys, time
from hinge.analysis.limits import rate_estimate_hz
from hinge.analysis.orientation import vqf_offline
from hinge.analysis.recording_format import read_recording
recording = read_recording(sys.argv[1])
started = time.perf_counter()
for s in recording.sensors.values():
    vqf_offline(s.gyr_radps, s.acc_mps2, rate_estimate_hz(s.time_s, gap_factor=2.5))
print(time.perf_counter() - started)
"""
PARSE_FLOOR = """
import sys
from pyarrow import csv
table = csv.read_csv(sys.argv[1], read_options=csv.ReadOptions(skip_rows={skip}))
print(table.num_rows)
"""


@dataclass(frozen=True)
class Target:
    """A file, its floor command and the limits of issue 12."""

    name: str
    path: Path
    max_ratio: float
    max_peak_mb: float | None


def build_long_file(path: Path, hours: float) -> None:
    """Tile a simulated multi-set session (both sensors at 200 Hz) to ``hours``."""
    import numpy as np

    from hinge.analysis.recording_format import format_metadata_lines, format_sample_rows
    from hinge.analysis.simulate import simulate
    from hinge.analysis.simulate.families import walking_sets
    from hinge.analysis.simulate.plan import SensorPlan, SessionPlan, random_errors

    rng = np.random.default_rng(2026)
    base = walking_sets(rng)
    sensors = {n: SensorPlan(random_errors(rng, 200.0, quality="typical"), p.mount) for n, p in base.sensors.items()}
    rec = simulate(SessionPlan("speed", base.geometry, base.blocks, sensors, time_origin_s=1_763_700_000.0),
                   seed=1).recording
    duration_s = hours * 3600.0
    period_s = max(s.time_s[-1] for s in rec.sensors.values()) - rec.start_time_s + 0.005
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        out.write(format_metadata_lines({"synthetic": "true", "source": "bench/speed.py"}))
        for k in range(int(np.ceil(duration_s / period_s))):
            for name, s in rec.sensors.items():
                t = s.time_s + k * period_s
                keep = t < rec.start_time_s + duration_s
                out.write(format_sample_rows(name, t[keep], s.acc_mps2[keep], s.gyr_radps[keep]))
    os.replace(tmp, path)


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """Wall time (s), the child's own peak resident memory (MB), its stdout."""
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)  # this child's own rusage
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        if process.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{stderr.read().decode()}")
        return elapsed, usage.ru_maxrss / 1024, stdout.read().decode()


def comment_lines(path: Path) -> int:
    with open(path, encoding="utf-8") as handle:
        return sum(1 for line in handle if line.startswith("#"))


def measure(target: Target, repeat: int) -> dict:
    floor_cmd = ([sys.executable, "-c", IMPORT_FLOOR] if target.max_peak_mb is None else
                 [sys.executable, "-c", PARSE_FLOOR.format(skip=comment_lines(target.path)), str(target.path)])
    floor_s, runs, pipeline_floor = [], [], []
    for _ in range(repeat):  # interleaved, so a burst of load hits all
        floor_s.append(timed(floor_cmd)[0])
        runs.append(timed([sys.executable, "-m", "hinge", "analyze", str(target.path), "--json"]))
        if target.max_peak_mb is not None:
            pipeline_floor.append(timed([sys.executable, "-c", PIPELINE_FLOOR, str(target.path)]))
    report = json.loads(runs[-1][2])
    out = {"floor_s": min(floor_s), "best_s": min(r[0] for r in runs), "peak_mb": max(r[1] for r in runs),
           "reps": report["summary"]["rep_count"], "duration_s": report["recording"]["duration_s"]}
    if pipeline_floor:
        out["read_vqf_s"] = min(r[0] for r in pipeline_floor)
        out["vqf_s"] = min(float(r[2]) for r in pipeline_floor)
    return out


def profile_summary(path: Path, top: int = 14) -> str:
    """Cumulative time of the analysis' own functions on ``path`` (in process: no interpreter start)."""
    from hinge.cli import main

    profiler = cProfile.Profile()
    sink = io.StringIO()
    stdout, sys.stdout = sys.stdout, sink
    try:
        profiler.runcall(main, ["analyze", str(path), "--json"])
    finally:
        sys.stdout = stdout
    table = pstats.Stats(profiler).stats  # type: ignore[attr-defined]  # {(file, line, function): (.., cumulative s, ..)}
    total = max(v[3] for v in table.values())
    ours = [(v[3], f"{Path(f).relative_to(ROOT)}:{name}") for (f, _, name), v in table.items()
            if f.startswith(str(ROOT)) and "/bench/" not in f and "/.venv/" not in f and not name.startswith("<")]
    rows = sorted(ours, reverse=True)
    lines = ["| function (cumulative: includes what it calls) | s | share |", "|---|---|---|"]
    lines += [f"| `{where}` | {seconds:.2f} | {seconds / total:.0%} |" for seconds, where in rows[:top]]
    return "\n".join(lines)


def _vqf_stream(seed: int, samples: int) -> dict:
    """VQF's offline filter on one random stream (module level: a process pool pickles it)."""
    import numpy as np
    import vqf

    rng = np.random.default_rng(seed)
    gyr = np.ascontiguousarray(0.1 * rng.standard_normal((samples, 3)))
    acc = np.ascontiguousarray(rng.standard_normal((samples, 3)) + [0.0, 0.0, 9.81])
    started = time.perf_counter()
    out = vqf.offlineVQF(gyr, acc, None, 1 / 200)
    return {"s": time.perf_counter() - started, "quat": out["quat6D"], "bias": out["bias"]}


def vqf_parallel(samples: int = 720_000) -> str:
    """Whether VQF's offline filter runs two sensors faster on two threads (only if it releases the GIL) or in two
    forked processes (the orientations sent back, as the pipeline would need them)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

    started = time.perf_counter()
    alone = [_vqf_stream(i, samples)["s"] for i in range(2)]
    serial_s = time.perf_counter() - started
    with ThreadPoolExecutor(2) as pool:
        started = time.perf_counter()
        list(pool.map(_vqf_stream, range(2), [samples] * 2))
        threads_s = time.perf_counter() - started
    started = time.perf_counter()
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        list(pool.map(_vqf_stream, range(2), [samples] * 2))
    processes_s = time.perf_counter() - started
    return (f"VQF offline, two streams of {samples:,} samples: {serial_s:.2f} s one after the other (the filter "
            f"alone {alone[0]:.2f} + {alone[1]:.2f} s), {threads_s:.2f} s on two threads, {processes_s:.2f} s in "
            f"two forked processes; load average {os.getloadavg()[0]:.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="print a profile of the 1-hour analysis too")
    parser.add_argument("--profile-only", action="store_true", help="only the profile")
    parser.add_argument("--skip-4h", action="store_true", help="leave out the 4-hour file")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    if args.profile_only:
        print(profile_summary(OUT / "hour-200hz.csv"))
        print(vqf_parallel())
        return 0
    targets = [Target("43 s demo", DEMO, 2.5, None), Target("1-hour file", OUT / "hour-200hz.csv", 3.0, 500.0)]
    if not args.skip_4h:
        targets.append(Target("4-hour file", OUT / "4hour-200hz.csv", 3.0, 2048.0))
    for hours, target in ((1.0, targets[1]), (4.0, targets[-1])):
        if not target.path.exists():
            print("building", target.path, "...", file=sys.stderr)
            build_long_file(target.path, hours)

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}")
    print("| file | floor | floor (s) | `hinge analyze --json` (s) | ratio (target) | peak MB (target) | reps |")
    print("|---|---|---|---|---|---|---|")
    ok = True
    floors = []
    for target in targets:
        m = measure(target, args.repeat)
        if "vqf_s" in m:
            floors.append((target.name, m))
        ratio = m["best_s"] / m["floor_s"]
        floor = "import numpy, pyarrow.csv" if target.max_peak_mb is None else "Arrow CSV parse"
        limit = f" (<= {target.max_peak_mb:.0f})" if target.max_peak_mb else ""
        size_mb = target.path.stat().st_size / 1e6
        print(f"| {target.name} ({m['duration_s'] / 60:.0f} min, {size_mb:.0f} MB) | {floor} | {m['floor_s']:.2f} | "
              f"{m['best_s']:.2f} | {ratio:.1f}x (<= {target.max_ratio}) | {m['peak_mb']:.0f}{limit} | {m['reps']} |")
        ok &= ratio <= target.max_ratio and (target.max_peak_mb is None or m["peak_mb"] <= target.max_peak_mb)
    print(("PASS" if ok else "MISS") + f": best of {args.repeat}, fresh processes")
    print()
    print("The floor of our pipeline: a fresh process that reads the file and runs VQF's offline orientation on each "
          "sensor, nothing else")
    print("| file | Arrow CSV parse (s) | read + VQF (s) | ratio | of which VQF (s) | ratio |")
    print("|---|---|---|---|---|---|")
    for name, m in floors:
        print(f"| {name} | {m['floor_s']:.2f} | {m['read_vqf_s']:.2f} | {m['read_vqf_s'] / m['floor_s']:.1f}x | "
              f"{m['vqf_s']:.2f} | {m['vqf_s'] / m['floor_s']:.1f}x |")
    if args.profile:
        print()
        print(profile_summary(targets[1].path))
        print(vqf_parallel())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
