"""Accuracy benchmark: analyse a generated corpus the tests do not use and compare with ground truth.

    python bench/accuracy.py                      # 20 families x 4 seeds (80 recordings), VQF
    python bench/accuracy.py --families core --orientation complementary

Prints a table per case family and overall, and the targets of issue 2; writes bench/out/accuracy.json.
Seeds start at 1000 (the tests use seeds below 100).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.orientation_filters import ORIENTATION_METHODS  # noqa: E402
from hinge.analysis.pipeline import AnalysisOptions, analyze  # noqa: E402
from hinge.analysis.report import build_report  # noqa: E402
from hinge.analysis.simulate import FAMILIES, simulate_family  # noqa: E402
from hinge.analysis.simulate.evaluate import Score, score_report  # noqa: E402
from hinge.analysis.simulate.families import CORE_FAMILIES, REAL_WORLD_FAMILIES  # noqa: E402

TARGETS = {  # issue 2, section 6
    "exact count share": (">=", 0.98),
    "rep F1": (">=", 0.995),
    "trunk MAE deg": ("<=", 1.5),
    "pelvis MAE deg": ("<=", 1.5),
    "rounding MAE deg": ("<=", 2.0),
    "lean-back MAE deg": ("<=", 1.5),
    "flag precision": (">=", 0.95),
    "flag recall": (">=", 0.95),
    "movement accuracy": (">=", 0.97),
    "bottom time MAE s": ("<=", 0.1),
}


def figures(score: Score) -> dict[str, float | None]:
    return {
        "recordings": score.recordings,
        "exact count share": score.exact_count / max(1, score.recordings),
        "rep F1": score.rep_f1,
        "trunk MAE deg": score.mae("trunk_angle_deg"),
        "pelvis MAE deg": score.mae("pelvis_angle_deg"),
        "rounding MAE deg": score.mae("back_rounding_deg"),
        "lean-back MAE deg": score.mae("lockout_lean_back_deg"),
        "flag precision": score.flag_precision(),
        "flag recall": score.flag_recall(),
        "movement accuracy": score.movement_accuracy,
        "bottom time MAE s": score.mae("bottom_s"),
        "start time MAE s": score.mae("start_s"),
        "end time MAE s": score.mae("end_s"),
        "hip drop MAE m": score.mae("hip_drop_m"),
        "hike MAE deg": score.mae("hip_hike_deg"),
        "rotation MAE deg": score.mae("pelvis_rotation_deg"),
    }


def run(families: list[str], seeds: range, options: AnalysisOptions, *, verbose: bool) -> dict[str, Score]:
    per_family: dict[str, Score] = {}
    for family in families:
        per_family[family] = Score()
        for seed in seeds:
            sim = simulate_family(family, seed=seed)
            s = score_report(build_report(analyze(sim.recording, options=options)), sim)
            if verbose and (not s.exact_count or s.false_positive or s.false_negative):
                print(f"  {family} seed {seed}: TP {s.true_positive} FP {s.false_positive} FN {s.false_negative}",
                      file=sys.stderr)
            per_family[family].add(s)
    return per_family


def _cell(value) -> str:
    if value is None:
        return "—"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def print_table(per_family: dict[str, Score], overall: Score) -> None:
    columns = list(figures(overall))
    rows = [(name, figures(s)) for name, s in per_family.items()] + [("OVERALL", figures(overall))]
    print("| family | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for name, f in rows:
        print(f"| {name} | " + " | ".join(_cell(f[c]) for c in columns) + " |")


def check_targets(overall: Score) -> list[str]:
    f = figures(overall)
    misses = []
    for name, (op, target) in TARGETS.items():
        value = f[name]
        ok = value is not None and (value >= target if op == ">=" else value <= target)
        print(f"{'PASS' if ok else 'MISS'}  {name}: {_cell(value)} (target {op} {target})")
        if not ok:
            misses.append(name)
    return misses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=4, help="seeds per family (default 4)")
    parser.add_argument("--families", default="all",
                        help="all, core (issue 2), real-world (issue 6), or comma-separated family names")
    parser.add_argument("--orientation", default="vqf", choices=sorted(ORIENTATION_METHODS))
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    options = replace(AnalysisOptions(), orientation=ORIENTATION_METHODS[args.orientation])
    started = time.perf_counter()
    groups = {"all": list(FAMILIES), "core": [f.__name__ for f in CORE_FAMILIES],
              "real-world": [f.__name__ for f in REAL_WORLD_FAMILIES]}
    families = groups.get(args.families) or args.families.split(",")
    per_family = run(families, range(1000, 1000 + args.seeds), options, verbose=args.verbose)
    overall = Score()
    for s in per_family.values():
        overall.add(s)
    elapsed_s = time.perf_counter() - started
    print(f"orientation: {args.orientation}; {overall.recordings} recordings in {elapsed_s:.0f} s\n")
    print_table(per_family, overall)
    print()
    misses = check_targets(overall)
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / f"accuracy-{args.orientation}.json").write_text(json.dumps(
        {"orientation": args.orientation, "families": {k: figures(v) for k, v in per_family.items()},
         "overall": figures(overall)}, indent=1))
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
