"""Sets (reps separated by a walk or a long rest) and per-set / per-recording summaries with trends."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .metrics import FLAGS, Rep
from .segmentation import RepBounds

SUMMARY_METRICS: tuple[str, ...] = (
    "trunk_angle_deg", "pelvis_angle_deg", "back_rounding_deg", "lockout_lean_back_deg",
    "descent_s", "ascent_s", "rep_duration_s", "hip_drop_m",
)
TREND_METRICS: tuple[str, ...] = ("back_rounding_deg", "trunk_angle_deg", "rep_duration_s", "ascent_s")
FLAG_SEVERITY = {"back_rounding": 3, "lean_back": 2, "incomplete_lockout": 1}


def group_sets(bounds: list[RepBounds], time_s: np.ndarray, *, max_rest_s: float) -> list[int]:
    """1-based set number of each rep: a new set starts after more than ``max_rest_s`` between reps."""
    sets, current = [], 0
    for i, b in enumerate(bounds):
        if i == 0 or time_s[b.start] - time_s[bounds[i - 1].end] > max_rest_s:
            current += 1
        sets.append(current)
    return sets


@dataclass(frozen=True)
class Summary:
    """Summary of a group of reps (a set, or the whole recording)."""

    rep_count: int
    movement: str | None
    mean: dict[str, float | None]
    sd: dict[str, float | None]
    worst_rep: dict | None
    trend: dict
    flag_counts: dict[str, int]


def _value(rep: Rep, metric: str) -> float | None:
    if metric == "rep_duration_s":
        return rep.end_s - rep.start_s
    return getattr(rep, metric)


def summarize(reps: list[Rep]) -> Summary:
    """Means, spread, worst rep, flag counts and the trend across ``reps`` (partial reps excluded)."""
    full = [r for r in reps if not r.partial]
    mean, sd = {}, {}
    for metric in SUMMARY_METRICS:
        values = np.array([v for r in full if (v := _value(r, metric)) is not None], dtype=float)
        mean[metric] = float(values.mean()) if values.size else None
        sd[metric] = float(values.std(ddof=1)) if values.size > 1 else None
    movements = [r.movement for r in full]
    movement = max(set(movements), key=movements.count) if movements else None
    flag_counts = {f: sum(f in r.flags for r in full) for f in FLAGS}
    return Summary(len(full), movement, mean, sd, _worst(full), _trend(full), flag_counts)


def _worst(reps: list[Rep]) -> dict | None:
    if not reps:
        return None

    def severity(r: Rep) -> tuple:
        return (sum(FLAG_SEVERITY[f] for f in r.flags), r.back_rounding_deg or 0.0, r.lockout_lean_back_deg or 0.0)

    worst = max(reps, key=severity)
    if worst.flags:
        reason = max(worst.flags, key=FLAG_SEVERITY.__getitem__)
    elif worst.back_rounding_deg is not None:
        reason = "most back rounding"
    else:
        reason = "largest lean-back"
    return {"index": worst.index, "reason": reason}


def _trend(reps: list[Rep]) -> dict:
    """Least-squares slope per rep of the trend metrics, plus plain-language notes on fatigue."""
    trend: dict = {}
    notes: list[str] = []
    n = len(reps)
    for metric in TREND_METRICS:
        values = [v for r in reps if (v := _value(r, metric)) is not None]
        if n < 3 or len(values) < n:
            trend[f"{metric}_per_rep"] = None
            continue
        slope = float(np.polyfit(np.arange(n), np.array(values, dtype=float), 1)[0])
        trend[f"{metric}_per_rep"] = slope
        change = slope * (n - 1)
        if metric == "back_rounding_deg" and change >= 5.0:
            notes.append(f"back rounding grew by about {change:.0f}° from the first to the last rep")
        if metric == "rep_duration_s" and values[0] > 0 and change / values[0] >= 0.2:
            notes.append(f"reps slowed down by about {100 * change / values[0]:.0f}% across the set")
        if metric == "trunk_angle_deg" and change <= -10.0:
            notes.append(f"depth shrank by about {-change:.0f}° across the set")
    trend["notes"] = notes
    return trend
