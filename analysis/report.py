"""The ``hinge-report/1`` JSON document (``docs/report-format.md``) built from an :class:`AnalysisResult`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict
from importlib.metadata import PackageNotFoundError, version

import numpy as np

from .coaching import cue_for
from .metrics import FLAGS
from .pipeline import AnalysisResult
from .sets import Summary

REPORT_FORMAT = "hinge-report/1"
SERIES_MAX_RATE_HZ = 50.0
REP_FIELDS = (
    "index", "set_index", "partial", "movement", "start_s", "bottom_s", "end_s", "trunk_angle_deg",
    "pelvis_angle_deg", "back_rounding_deg", "lockout_lean_back_deg", "descent_s", "bottom_pause_s", "ascent_s",
    "top_pause_s", "peak_ascent_speed_deg_s", "hip_drop_m", "hip_hike_deg", "pelvis_rotation_deg",
)


def _hinge_version() -> str:
    try:
        return version("hinge")
    except PackageNotFoundError:
        return "unknown"


def json_ready(value):
    """JSON-safe copy: numpy scalars to Python, arrays to lists, NaN and infinities to None, floats rounded to
    sensible precision (4 decimals; 3 in arrays)."""
    if isinstance(value, np.ndarray):
        return [None if not math.isfinite(v) else round(v, 3) for v in value.astype(float).tolist()]
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(value) else round(float(value), 4)
    return value


def _summary(s: Summary) -> dict:
    return {"rep_count": s.rep_count, "movement": s.movement, "mean": s.mean, "sd": s.sd,
            "worst_rep": s.worst_rep, "trend": s.trend, "flag_counts": s.flag_counts}


def build_report(result: AnalysisResult, *, include_series: bool = False) -> dict:
    """The report as a JSON-ready dict; ``include_series`` adds the angle time series at <= 50 Hz."""
    rec = result.recording
    reps = []
    for r in result.reps:
        item = {name: getattr(r, name) for name in REP_FIELDS}
        item["flags"] = list(r.flags)
        item["cues"] = {f: cue_for(f).cue for f in r.flags}
        reps.append(item)
    sets = [{"index": s.index, "start_s": s.start_s, "end_s": s.end_s, "rep_indices": list(s.rep_indices),
             **_summary(s.summary)} for s in result.sets]
    summary = _summary(result.summary)
    summary["set_count"] = len(result.sets)
    report = {
        "format": REPORT_FORMAT,
        "hinge_version": _hinge_version(),
        "recording": {
            "start_time_s": rec.start_time_s,
            "duration_s": max(s.time_s[-1] for s in rec.sensors.values()) - rec.start_time_s,
            "metadata": dict(rec.metadata),
            "sensors": {n: {"sampling_rate_hz": st.sampling_rate_hz, "sample_count": rec.sensors[n].sample_count,
                            "duration_s": rec.sensors[n].duration_s} for n, st in result.streams.items()},
        },
        "units": {"acc": result.units.acc_unit, "gyr": result.units.gyr_unit,
                  "axes": {n: asdict(d) for n, d in result.units.axes.items()}},
        "calibration": {
            "method": result.calibration.method,
            "confidence": result.calibration.confidence,
            "anchors": [{"sensor": n, "from_s": max(0.0, a.from_s - result.origin_s),
                         "start_s": a.start_s - result.origin_s, "end_s": a.end_s - result.origin_s,
                         "kind": a.kind} for n, seg in result.calibration.segments.items() for a in seg.anchors],
        },
        "thresholds": {k: getattr(result.options.thresholds, k) for k in
                       ("back_rounding_deg", "lean_back_deg", "incomplete_lockout_deg")},
        "flag_vocabulary": {f: cue_for(f).cue for f in FLAGS},
        "reps": reps,
        "sets": sets,
        "summary": summary,
        "warnings": [{"code": w.code, "message": w.message, "sensor": w.sensor, "time_s": w.time_s}
                     for w in result.warnings],
    }
    if include_series:
        report["series"] = angle_series(result, max_rate_hz=SERIES_MAX_RATE_HZ)
    return json_ready(report)


def angle_series(result: AnalysisResult, *, max_rate_hz: float) -> dict:
    """Trunk, pelvis and spinal-flexion series (deg) decimated to at most ``max_rate_hz`` as arrays (NaN where a
    sensor was not recording); None for a sensor the recording does not have. Times in seconds since the
    recording's first sample. :func:`build_report` turns them into JSON lists (NaN → null)."""
    s = result.series
    step = max(1, int(math.ceil(s.rate_hz / max_rate_hz)))

    def pick(x):
        return None if x is None else x[::step]

    return {"time_s": s.time_s[::step] - result.origin_s, "trunk_angle_deg": pick(s.trunk_deg),
            "pelvis_angle_deg": pick(s.pelvis_deg), "spinal_flexion_deg": pick(s.spinal_flexion_deg)}
