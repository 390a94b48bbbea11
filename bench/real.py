"""Real-recording benchmark: analyse every ``<name>.csv`` of a folder that has a ``<name>.truth.json`` beside it
and print the scorer's summary per dataset (the truth's ``dataset`` field) and overall.

    python bench/real.py ../shared/real-dev              # per-dataset SUMMARY lines
    python bench/real.py ../shared/real-dev --verbose    # plus one line per recording
    python bench/real.py DIR --only 'sqform_c2*'

Matching follows the team's scorer (``score.py``): predicted and true reps whose ``bottom_s`` differ by at most
0.6 s are paired first (when the truth knows bottoms), then the rest when their ``[start_s, end_s]`` overlap by
at least 50 % of the shorter one (maximum total overlap, one to one). Reps the report marks ``partial`` are
left out (the report does not count them). A recording the analysis refuses counts as zero reps.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hinge.analysis.errors import HingeError  # noqa: E402
from hinge.analysis.live import replay  # noqa: E402
from hinge.analysis.pipeline import analyze  # noqa: E402
from hinge.analysis.recording_format import read_recording  # noqa: E402
from hinge.analysis.report import build_report  # noqa: E402

BOTTOM_TOLERANCE_S = 0.6
OVERLAP_FRACTION = 0.5


def match(pred: list[dict], true: list[dict]) -> list[tuple[int, int]]:
    """One-to-one pairs (pred index, true index): by bottom time first, then by interval overlap."""
    pairs: list[tuple[int, int]] = []
    if not pred or not true:
        return pairs
    big = 1e6
    cost = np.full((len(pred), len(true)), big)
    for i, p in enumerate(pred):
        for j, t in enumerate(true):
            if t.get("bottom_s") is not None and abs(p["bottom_s"] - t["bottom_s"]) <= BOTTOM_TOLERANCE_S:
                cost[i, j] = abs(p["bottom_s"] - t["bottom_s"])
    if (cost < big).any():
        for i, j in zip(*linear_sum_assignment(cost)):
            if cost[i, j] < big:
                pairs.append((int(i), int(j)))
    left_p = [i for i in range(len(pred)) if i not in {p for p, _ in pairs}]
    left_t = [j for j in range(len(true)) if j not in {t for _, t in pairs}]
    overlap = np.zeros((len(left_p), len(left_t)))
    for a, i in enumerate(left_p):
        p = pred[i]
        for b, j in enumerate(left_t):
            t = true[j]
            common = min(p["end_s"], t["end_s"]) - max(p["start_s"], t["start_s"])
            shorter = min(p["end_s"] - p["start_s"], t["end_s"] - t["start_s"])
            if common > 0 and shorter > 0 and common >= OVERLAP_FRACTION * shorter:
                overlap[a, b] = common
    if overlap.size and overlap.max() > 0:
        for a, b in zip(*linear_sum_assignment(-overlap)):
            if overlap[a, b] > 0:
                pairs.append((left_p[a], left_t[b]))
    return pairs


def score_one(csv: Path, truth: dict, *, live: bool = False) -> dict:
    """Counts, matches and time errors of one recording (of the live analysis when ``live``)."""
    try:
        recording = read_recording(csv)
        report = build_report(replay(recording) if live else analyze(recording))
        origin = report["recording"]["start_time_s"]
        pred = [{**r, **{k: r[k] + origin for k in ("start_s", "bottom_s", "end_s")}}
                for r in report["reps"] if not r["partial"]]
        refused = None
    except HingeError as error:
        pred, refused = [], str(error)
    true = truth["reps"]
    pairs = match(pred, true)
    return {
        "case": truth.get("case", csv.stem), "dataset": truth.get("dataset", "?"), "n_true": int(truth["n_reps"]),
        "n_pred": len(pred), "tp": len(pairs), "refused": refused,
        "start_err": [abs(pred[i]["start_s"] - true[j]["start_s"]) for i, j in pairs],
        "end_err": [abs(pred[i]["end_s"] - true[j]["end_s"]) for i, j in pairs],
        "movement": [pred[i]["movement"] == true[j]["movement"] for i, j in pairs if true[j].get("movement")],
    }


def summary(results: list[dict]) -> dict[str, float]:
    tp = sum(r["tp"] for r in results)
    fp = sum(r["n_pred"] - r["tp"] for r in results)
    fn = sum(r["n_true"] - r["tp"] for r in results)
    flat = {k: [e for r in results for e in r[k]] for k in ("start_err", "end_err", "movement")}

    def mean(values):
        return float(np.mean(values)) if values else float("nan")

    return {
        "cases": len(results),
        "count_exact": mean([r["n_pred"] == r["n_true"] for r in results]),
        "count_mae": mean([abs(r["n_pred"] - r["n_true"]) for r in results]),
        "f1": 2 * tp / max(1, 2 * tp + fp + fn), "precision": tp / max(1, tp + fp), "recall": tp / max(1, tp + fn),
        "movement_acc": mean(flat["movement"]), "start_mae": mean(flat["start_err"]),
        "end_mae": mean(flat["end_err"]),
    }


def line(name: str, m: dict[str, float]) -> str:
    return f"SUMMARY {name} " + " ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in m.items())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="recordings (<name>.csv) with <name>.truth.json beside them")
    parser.add_argument("--only", action="append", help="glob on recording names (repeatable)")
    parser.add_argument("--verbose", action="store_true", help="one line per recording")
    parser.add_argument("--live", action="store_true", help="score the live analysis (hinge analyze --live)")
    args = parser.parse_args()
    started = time.perf_counter()
    results = []
    for truth_path in sorted(args.folder.glob("*.truth.json")):
        name = truth_path.name[: -len(".truth.json")]
        if args.only and not any(fnmatch.fnmatch(name, g) for g in args.only):
            continue
        r = score_one(truth_path.with_name(name + ".csv"), json.loads(truth_path.read_text()), live=args.live)
        results.append(r)
        if args.verbose:
            print(f"  {name:32s} true {r['n_true']:3d} pred {r['n_pred']:3d} matched {r['tp']:3d} "
                  f"start {np.mean(r['start_err'] or [np.nan]):5.2f} end {np.mean(r['end_err'] or [np.nan]):5.2f} "
                  f"movement {sum(r['movement'])}/{len(r['movement'])}" + (f"  refused: {r['refused']}"
                                                                             if r["refused"] else ""))
    if not results:
        print(f"no <name>.truth.json files in {args.folder}", file=sys.stderr)
        return 2
    for dataset in sorted({r["dataset"] for r in results}):
        print(line(dataset, summary([r for r in results if r["dataset"] == dataset])))
    print(line("all", summary(results)))
    print(f"{len(results)} recordings in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
