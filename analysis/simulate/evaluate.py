"""Compare a report with a simulation's ground truth: rep matching, counts, errors, flag precision/recall.

A detected rep matches a true rep when its bottom lies inside the true rep's [start_s, end_s]; matching is
one-to-one in time order. Used by the accuracy tests and ``bench/accuracy.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..metrics import FLAGS
from .engine import Simulation

ERROR_FIELDS = ("trunk_angle_deg", "pelvis_angle_deg", "back_rounding_deg", "lockout_lean_back_deg", "bottom_s",
                "start_s", "end_s", "hip_drop_m", "descent_s", "ascent_s", "hip_hike_deg", "pelvis_rotation_deg")


@dataclass
class Score:
    """Accumulates the comparison of one or many recordings."""

    recordings: int = 0
    exact_count: int = 0
    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0
    movement_right: int = 0
    flag_tp: dict[str, int] = field(default_factory=lambda: {f: 0 for f in FLAGS})
    flag_fp: dict[str, int] = field(default_factory=lambda: {f: 0 for f in FLAGS})
    flag_fn: dict[str, int] = field(default_factory=lambda: {f: 0 for f in FLAGS})
    errors: dict[str, list[float]] = field(default_factory=lambda: {f: [] for f in ERROR_FIELDS})

    def add(self, other: Score) -> None:
        for name in ("recordings", "exact_count", "true_positive", "false_positive", "false_negative",
                     "movement_right"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for f in FLAGS:
            self.flag_tp[f] += other.flag_tp[f]
            self.flag_fp[f] += other.flag_fp[f]
            self.flag_fn[f] += other.flag_fn[f]
        for k in ERROR_FIELDS:
            self.errors[k].extend(other.errors[k])

    @property
    def rep_f1(self) -> float:
        denominator = 2 * self.true_positive + self.false_positive + self.false_negative
        return 1.0 if denominator == 0 else 2 * self.true_positive / denominator

    def mae(self, name: str) -> float | None:
        values = self.errors[name]
        return float(np.mean(np.abs(values))) if values else None

    def flag_precision(self) -> float:
        tp, fp = sum(self.flag_tp.values()), sum(self.flag_fp.values())
        return 1.0 if tp + fp == 0 else tp / (tp + fp)

    def flag_recall(self) -> float:
        tp, fn = sum(self.flag_tp.values()), sum(self.flag_fn.values())
        return 1.0 if tp + fn == 0 else tp / (tp + fn)

    @property
    def movement_accuracy(self) -> float:
        return 1.0 if self.true_positive == 0 else self.movement_right / self.true_positive


def score_report(report: dict, sim: Simulation) -> Score:
    """Score one ``hinge-report/1`` dict against the simulation it was made from."""
    origin = report["recording"]["start_time_s"]
    truth = [{**r, **{k: r[k] - origin for k in ("start_s", "bottom_s", "end_s")}} for r in sim.truth.reps
             if not r["partial"]]
    detected = [r for r in report["reps"] if not r["partial"]]
    score = Score(recordings=1)
    score.exact_count = int(len(detected) == len(truth))
    used = set()
    for t in truth:
        match = next((j for j, d in enumerate(detected)
                      if j not in used and t["start_s"] <= d["bottom_s"] <= t["end_s"]), None)
        if match is None:
            score.false_negative += 1
            for f in t["flags"]:
                score.flag_fn[f] += 1
            continue
        used.add(match)
        d = detected[match]
        score.true_positive += 1
        score.movement_right += int(d["movement"] == t["movement"])
        for f in FLAGS:
            if f in d["flags"] and f in t["flags"]:
                score.flag_tp[f] += 1
            elif f in d["flags"]:
                score.flag_fp[f] += 1
            elif f in t["flags"]:
                score.flag_fn[f] += 1
        for k in ERROR_FIELDS:
            if d.get(k) is not None and t.get(k) is not None:
                score.errors[k].append(float(d[k]) - float(t[k]))
    for j, d in enumerate(detected):
        if j not in used:
            score.false_positive += 1
            for f in d["flags"]:
                score.flag_fp[f] += 1
    return score
