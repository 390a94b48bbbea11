"""The analysis pipeline: recording → units → uniform streams → orientation → calibration → angles → reps →
metrics → sets. Every stage's output is kept on the :class:`AnalysisResult` so any reported number can be
traced back."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .angles import AngleSeries, SegmentAngles, common_series, segment_angles
from .calibration import Calibration, Calibrator
from .hip_travel import vertical_acceleration_mps2
from .metrics import MovementClassifier, Rep, Thresholds, VerticalTravel, quiet_window_s, rep_metrics
from .orientation import Orientation, OrientationMethod, vqf_offline
from .quality import QualityWarning, stream_warnings
from .recording import Recording
from .recording_format import read_recording
from .resample import UniformStream, regularize
from .segmentation import RepBounds, RepSegmenter
from .sets import Summary, group_sets, summarize
from .units import UnitDecision, apply_axes, axes_warnings, decide_axes, decide_units, to_canonical

POSTURE_HOLD_S = 2.0


@dataclass(frozen=True)
class AnalysisOptions:
    """Everything a user or a benchmark may change. All keyword, all defaulted."""

    thresholds: Thresholds = field(default_factory=Thresholds)
    acc_unit: str = "auto"
    gyr_unit: str = "auto"
    axes: str = "auto"  # "auto", "right-handed" or "left-handed" (gyro sign reversed to match the accelerometer)
    analysis_rate_hz: float = 100.0
    max_interpolated_gap_s: float = 1.0
    max_rest_in_set_s: float = 10.0
    posture_change_m: float = 0.2
    posture_change_pelvis_deg: float = 8.0
    calibrator: Calibrator = field(default_factory=Calibrator)
    segmenter: RepSegmenter = field(default_factory=RepSegmenter)
    classifier: MovementClassifier = field(default_factory=MovementClassifier)
    orientation: OrientationMethod = vqf_offline


@dataclass(frozen=True)
class SetResult:
    index: int
    start_s: float
    end_s: float
    rep_indices: tuple[int, ...]
    summary: Summary


@dataclass(frozen=True)
class AnalysisResult:
    recording: Recording
    options: AnalysisOptions
    units: UnitDecision
    streams: dict[str, UniformStream]
    orientations: dict[str, Orientation]
    calibration: Calibration
    segment_angles: dict[str, SegmentAngles]
    series: AngleSeries
    bounds: list[RepBounds]
    reps: list[Rep]
    sets: list[SetResult]
    summary: Summary
    warnings: list[QualityWarning]

    @property
    def origin_s(self) -> float:
        return self.recording.start_time_s


def analyze(recording: Recording, *, options: AnalysisOptions | None = None) -> AnalysisResult:
    """Analyse a recording end to end. Raises :class:`~analysis.errors.HingeError` subclasses."""
    options = options or AnalysisOptions()
    units = decide_units(recording, acc_unit=options.acc_unit, gyr_unit=options.gyr_unit)
    canonical = to_canonical(recording, units)
    origin = canonical.start_time_s
    streams = {n: regularize(n, s) for n, s in canonical.sensors.items()}
    units = replace(units, axes=decide_axes(streams, canonical.metadata, option=options.axes))
    streams = apply_axes(streams, units.axes)
    orientations = {n: _orientation_by_runs(s, options.orientation, max_gap_s=options.max_interpolated_gap_s)
                    for n, s in streams.items()}
    calibration = options.calibrator.calibrate(streams, orientations)
    seg_angles = {n: segment_angles(streams[n], orientations[n], calibration.segments[n]) for n in streams}
    series = common_series(seg_angles, rate_hz=options.analysis_rate_hz, max_gap_s=options.max_interpolated_gap_s)

    travel = {
        n: VerticalTravel(streams[n].time_s, vertical_acceleration_mps2(
            streams[n], orientations[n], gravity_mps2=calibration.segments[n].gravity_mps2),
            streams[n].sampling_rate_hz)
        for n in streams
    }
    candidates = options.segmenter.segment(series.primary_deg, rate_hz=series.rate_hz)
    bounds = [b for i, b in enumerate(candidates) if not _changes_posture(
        i, candidates, series, travel, options.posture_change_m, options.posture_change_pelvis_deg)]
    set_of_rep = group_sets(bounds, series.time_s, max_rest_s=options.max_rest_in_set_s)
    reps = rep_metrics(series, bounds, set_of_rep, origin_s=origin, thresholds=options.thresholds,
                       hip=travel.get("hip"), back=travel.get("back"), classifier=options.classifier)
    sets = []
    for index in sorted(set(set_of_rep)):
        members = [r for r in reps if r.set_index == index]
        sets.append(SetResult(index, members[0].start_s, members[-1].end_s, tuple(r.index for r in members),
                              summarize(members)))
    warnings = _warnings(canonical, streams, calibration, units, origin)
    warnings[:0] = axes_warnings(units.axes)
    return AnalysisResult(canonical, options, units, streams, orientations, calibration, seg_angles, series,
                          bounds, reps, sets, summarize(reps), warnings)


def _changes_posture(i: int, candidates: list[RepBounds], series: AngleSeries, travel: dict[str, VerticalTravel],
                     limit_m: float, pelvis_limit_deg: float) -> bool:
    """A rep ends where it started. Sitting down or standing up moves the hips' height by more than
    ``limit_m`` between the moments around it, and its seated side shows the pelvis held tilted back by more
    than ``pelvis_limit_deg``; that evidence lets half the height change suffice, since after walking straight
    into a seat the height estimate runs short. Needs the hip sensor: with the back sensor alone nothing is
    rejected."""
    if series.pelvis_deg is None or "hip" not in travel:
        return False  # the back sensor's height is too uncertain during deep rotations to tell alone
    height_change_m = travel["hip"].net_change_m(*quiet_window_s(i, candidates, series.time_s))
    b, pelvis = candidates[i], series.pelvis_deg
    hold = int(POSTURE_HOLD_S * series.rate_hz)
    # the seated side (after sitting down, before standing up); not chosen by the sign of the height change,
    # which walking into the seat can flip
    sides = (pelvis[b.end:b.end + hold + 1], pelvis[max(0, b.start - hold):b.start + 1])
    seated = any(_real(np.median, side) < -pelvis_limit_deg and _real(np.std, side) < 2.0 for side in sides)
    return bool(seated and abs(height_change_m) > limit_m / 2)


def _real(statistic, x: np.ndarray) -> float:
    """``statistic`` over the non-NaN values of ``x``; NaN when there are none."""
    values = x[~np.isnan(x)]
    return float(statistic(values)) if values.size else float("nan")


def _orientation_by_runs(s: UniformStream, method: OrientationMethod, *, max_gap_s: float) -> Orientation:
    """Orientation of each stretch between gaps longer than ``max_gap_s`` on its own (a filter must not
    integrate across a long outage); samples inside those gaps hold the last orientation."""
    measured = np.flatnonzero(s.measured)
    long_gap = np.flatnonzero(np.diff(measured) > max_gap_s * s.sampling_rate_hz)
    if long_gap.size == 0:
        return method(s.gyr_radps, s.acc_mps2, s.sampling_rate_hz)
    bounds = [0, *(measured[g + 1] for g in long_gap), s.measured.size]
    quat = np.empty((s.measured.size, 4))
    bias = np.zeros((s.measured.size, 3))
    rest = np.zeros(s.measured.size, dtype=bool)
    for a, b in zip(bounds[:-1], bounds[1:]):
        last = a + int(np.flatnonzero(s.measured[a:b])[-1]) + 1  # end of real data in this stretch
        part = method(s.gyr_radps[a:last], s.acc_mps2[a:last], s.sampling_rate_hz)
        quat[a:last], bias[a:last], rest[a:last] = part.quat_wxyz, part.gyr_bias_radps, part.rest
        quat[last:b], bias[last:b] = part.quat_wxyz[-1], part.gyr_bias_radps[-1]
    return Orientation(quat, bias, rest)


def analyze_file(source, *, options: AnalysisOptions | None = None) -> AnalysisResult:
    """Read a ``hinge-recording/1`` file (path or bytes) and analyse it."""
    return analyze(read_recording(source), options=options)


def _warnings(recording: Recording, streams: dict[str, UniformStream], calibration: Calibration,
              units: UnitDecision, origin: float) -> list[QualityWarning]:
    warnings = [QualityWarning("unit_conversion", note) for note in units.notes]
    if len(streams) == 1:
        (present,) = streams
        missing = "hip" if present == "back" else "back"
        lost = ("pelvis angle, back rounding and hip travel" if missing == "hip"
                else "trunk angle, back rounding and lean-back")
        warnings.append(QualityWarning("sensor_missing", f"only the {present} sensor was recorded: {lost} are not "
                                                         "available", missing))
    if calibration.method == "estimated":
        warnings.append(QualityWarning(
            "estimated_calibration", "no quiet standing before the first rep: the standing posture was estimated "
            f"from the recording (confidence {calibration.confidence:.2f}); stand still for 2 s before a set for the "
            "most accurate angles"))
    for name, seg in calibration.segments.items():
        for anchor in seg.anchors:
            if anchor.kind == "remount":
                warnings.append(QualityWarning(
                    "remounted", f"{name}: the sensor was moved on the body at about {anchor.from_s - origin:.1f} s "
                    "(re-clipped or knocked); it was calibrated again from the standing that followed",
                    name, anchor.from_s - origin))
    for name, stream in streams.items():
        warnings.extend(stream_warnings(name, stream.quality, origin_s=origin))
    return warnings
