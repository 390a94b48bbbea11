"""Accuracy benchmark: analyse a generated corpus the tests do not use and compare with ground truth.

    python bench/accuracy.py                      # 27 families x 4 seeds (108 recordings), VQF
    python bench/accuracy.py --families core --orientation complementary

Prints a table per case family and overall, the targets of issue 9 and its calibration-honesty check (the
families above plus ``top_drift_unanchored``, whose upright cannot be known); writes bench/out/accuracy.json.
Seeds start at 1000 (the tests use seeds below 100).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.orientation_filters import ORIENTATION_METHODS  # noqa: E402
from hinge.analysis.live import replay  # noqa: E402
from hinge.analysis.pipeline import AnalysisOptions, analyze  # noqa: E402
from hinge.analysis.report import build_report  # noqa: E402
from hinge.analysis.simulate import FAMILIES, simulate_family  # noqa: E402
from hinge.analysis.simulate.evaluate import Score, score_report  # noqa: E402
from hinge.analysis.simulate.families import CORE_FAMILIES, HONESTY_FAMILIES, REAL_DATA_FAMILIES, REAL_WORLD_FAMILIES  # noqa: E402

TARGETS = {  # issue 9 (all families, old and new); lean-back and bottom time from issue 2
    "exact count share": (">=", 0.99),
    "rep F1": (">=", 0.998),
    "trunk MAE deg": ("<=", 0.5),
    "pelvis MAE deg": ("<=", 0.5),
    "rounding MAE deg": ("<=", 1.0),
    "lean-back MAE deg": ("<=", 1.5),
    "flag precision": (">=", 0.98),
    "flag recall": (">=", 0.98),
    "movement accuracy": (">=", 0.98),
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


def upright_error_deg(s: Score) -> float | None:
    """How far one recording's upright is off: the larger median trunk/pelvis angle error over its reps (an
    upright error shifts every angle by about the same amount)."""
    medians = [abs(float(np.median(s.errors[k]))) for k in ("trunk_angle_deg", "pelvis_angle_deg") if s.errors[k]]
    return max(medians) if medians else None


def honesty(report: dict, s: Score, tally: dict[str, list[int]]) -> None:
    """Calibration honesty (issue 9): an estimated upright > 10° off must say confidence < 0.5 with a warning;
    one within 3° must say confidence >= 0.8. ``tally[rule] = [met, cases]``."""
    if report["calibration"]["method"] != "estimated" or (error := upright_error_deg(s)) is None:
        return
    confidence = report["calibration"]["confidence"]
    warned = any(w["code"] == "uncertain_calibration" for w in report["warnings"])
    if error > 10.0:
        tally["off > 10 deg: confidence < 0.5 and warned"][0] += int(confidence < 0.5 and warned)
        tally["off > 10 deg: confidence < 0.5 and warned"][1] += 1
    elif error <= 3.0:
        tally["within 3 deg: confidence >= 0.8"][0] += int(confidence >= 0.8)
        tally["within 3 deg: confidence >= 0.8"][1] += 1


def run(families: list[str], seeds: range, options: AnalysisOptions, *, verbose: bool,
        tally: dict[str, list[int]], live: bool = False) -> dict[str, Score]:
    per_family: dict[str, Score] = {}
    for family in families:
        per_family[family] = Score()
        for seed in seeds:
            sim = simulate_family(family, seed=seed)
            result = replay(sim.recording, options=options) if live else analyze(sim.recording, options=options)
            report = build_report(result)
            s = score_report(report, sim)
            honesty(report, s, tally)
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
                        help="all, core (issue 2), real-world (issue 6), real-data (issue 9), or comma-separated "
                             "family names")
    parser.add_argument("--orientation", default="vqf", choices=sorted(ORIENTATION_METHODS))
    parser.add_argument("--live", action="store_true", help="score the live analysis (hinge analyze --live)")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    options = replace(AnalysisOptions(), orientation=ORIENTATION_METHODS[args.orientation])
    started = time.perf_counter()
    groups = {"all": list(FAMILIES), "core": [f.__name__ for f in CORE_FAMILIES],
              "real-world": [f.__name__ for f in REAL_WORLD_FAMILIES],
              "real-data": [f.__name__ for f in REAL_DATA_FAMILIES]}
    families = groups.get(args.families) or args.families.split(",")
    tally = {"off > 10 deg: confidence < 0.5 and warned": [0, 0], "within 3 deg: confidence >= 0.8": [0, 0]}
    per_family = run(families, range(1000, 1000 + args.seeds), options, verbose=args.verbose, tally=tally,
                     live=args.live)
    run(list(HONESTY_FAMILIES), range(1000, 1000 + args.seeds), options, verbose=False, tally=tally, live=args.live)
    overall = Score()
    for s in per_family.values():
        overall.add(s)
    elapsed_s = time.perf_counter() - started
    mode = "live" if args.live else "offline"
    print(f"orientation: {args.orientation}; {mode}; {overall.recordings} recordings in {elapsed_s:.0f} s\n")
    print_table(per_family, overall)
    print()
    misses = check_targets(overall)
    for rule, (met, cases) in tally.items():  # every case must meet it
        print(f"{'PASS' if met == cases else 'MISS'}  calibration honesty, {rule}: {met} of {cases} estimated uprights")
        if met != cases:
            misses.append(rule)
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / f"accuracy-{args.orientation}{'-live' if args.live else ''}.json").write_text(json.dumps(
        {"orientation": args.orientation, "mode": mode, "families": {k: figures(v) for k, v in per_family.items()},
         "overall": figures(overall), "calibration_honesty": tally}, indent=1))
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
