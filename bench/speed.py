"""Speed and memory benchmark: a one-hour recording, both sensors at 200 Hz (1.44 M rows, ~100 MB).

    python bench/speed.py            # builds bench/out/hour-200hz.csv once, then measures

Measures, each in a fresh process (best of ``--repeat``):
* the floor: parsing the CSV with the fastest reader we know (Arrow's multi-threaded CSV reader), nothing else;
* ``hinge analyze FILE --json`` end to end as a user runs it (interpreter start, parse, analysis, JSON out),
  with the process's peak resident memory.
Issue 2's target: end to end under 5 s with peak memory under 1 GB on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FLOOR = """
import sys
from pyarrow import csv
table = csv.read_csv(sys.argv[1], read_options=csv.ReadOptions(skip_rows={skip}))
print(table.num_rows)
"""


def build_hour_file(path: Path) -> None:
    """Tile a simulated multi-set session (both sensors at 200 Hz) to one hour."""
    import numpy as np

    from hinge.analysis.recording import Recording
    from hinge.analysis.recording_format import format_metadata_lines, format_sample_rows
    from hinge.analysis.simulate import simulate
    from hinge.analysis.simulate.families import walking_sets
    from hinge.analysis.simulate.plan import SensorPlan, SessionPlan, random_errors

    rng = np.random.default_rng(2026)
    base = walking_sets(rng)
    sensors = {n: SensorPlan(random_errors(rng, 200.0, quality="typical"), p.mount) for n, p in base.sensors.items()}
    sim = simulate(SessionPlan("speed", base.geometry, base.blocks, sensors, time_origin_s=1_763_700_000.0), seed=1)
    rec: Recording = sim.recording
    period_s = max(s.time_s[-1] for s in rec.sensors.values()) - rec.start_time_s + 0.005
    copies = int(np.ceil(3600.0 / period_s))
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        out.write(format_metadata_lines({"synthetic": "true", "source": "bench/speed.py"}))
        for k in range(copies):
            for name, s in rec.sensors.items():
                t = s.time_s + k * period_s
                keep = t < rec.start_time_s + 3600.0
                out.write(format_sample_rows(name, t[keep], s.acc_mps2[keep], s.gyr_radps[keep]))
    os.replace(tmp, path)


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """Wall time (s), peak RSS of the child (MB), stdout."""
    started = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return elapsed, peak_mb, result.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    path = out / "hour-200hz.csv"
    if not path.exists():
        print("building", path, "...", file=sys.stderr)
        build_hour_file(path)
    with open(path, encoding="utf-8") as handle:
        skip = sum(1 for line in handle if line.startswith("#"))
    with open(path, "rb") as handle:
        rows = sum(1 for _ in handle) - skip - 1
    size_mb = path.stat().st_size / 1e6

    floor = min(timed([sys.executable, "-c", FLOOR.format(skip=skip), str(path)])[0] for _ in range(args.repeat))
    runs = []
    for _ in range(args.repeat):
        # a fresh child each time; RUSAGE_CHILDREN's maxrss is the largest child so far
        runs.append(timed([sys.executable, "-m", "hinge", "analyze", str(path), "--json"]))
    best = min(r[0] for r in runs)
    peak = max(r[1] for r in runs)
    import json

    reps = json.loads(runs[-1][2])["summary"]["rep_count"]
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"file: {rows:,} rows, {size_mb:.0f} MB, {reps} reps found")
    print(f"| step | best of {args.repeat} (s) |")
    print("|---|---|")
    print(f"| floor: Arrow CSV parse only | {floor:.2f} |")
    print(f"| `hinge analyze --json` end to end | {best:.2f} |")
    print(f"\nratio end-to-end / floor: {best / floor:.1f}x; peak memory {peak:.0f} MB")
    ok = best < 5.0 and peak < 1024
    print(("PASS" if ok else "MISS") + ": target < 5 s and < 1 GB")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
