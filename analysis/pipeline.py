"""The analysis pipeline: recording → units → uniform streams → orientation → calibration → angles → reps →
metrics → sets. Every stage's output is kept on the :class:`AnalysisResult` so any reported number can be
traced back."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .angles import AngleSeries, ClockOffset, SegmentAngles, clock_offset, common_series, segment_angles, shifted
from .calibration import Calibration, Calibrator
from .hip_travel import forward_acceleration_mps2, height_m, vertical_acceleration_mps2
from .metrics import MovementClassifier, Rep, Thresholds, VerticalTravel, quiet_window_s, rep_metrics, settle_movements
from .orientation import Orientation, OrientationMethod, vqf_offline
from .quality import QualityWarning, require_usable_rate, stream_warnings
from .recording import Recording
from .recording_format import read_recording
from .resample import UniformStream, regularize
from .segmentation import RepBounds, RepSegmenter
from .sets import Summary, group_sets, summarize
from .units import UnitDecision, apply_axes, axes_warnings, decide_axes, decide_units, to_canonical

POSTURE_HOLD_S = 2.0
ESTIMATE_BASIS = {"file_start": "the quiet start of the recording", "rep_tops": "the tops of the reps (where the "
                  "sensor is highest)", "most_frequent": "the most frequent still posture"}
UNCERTAIN_CALIBRATION = 0.5  # an estimated upright below this confidence is warned about on its own
OUT_OF_STEP_S = 0.3  # a back–hip clock offset larger than this is warned about
NOT_LIFTING_STEPPING_SHARE = 0.2  # a recording without reps stepping this much of the time is called walking


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
    clock_offset: ClockOffset | None  # back–hip, applied to the hip's angles and travel
    bounds: list[RepBounds]
    primary_smooth_deg: np.ndarray  # series.primary_deg as segmented (RepSegmenter.smooth), (n,)
    descent_start: int | None       # a certain descent after the last rep (RepSegmenter.descent_start), index
                                    # on the series' grid: the next rep's start while it is not one; else None
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
    for name, stream in streams.items():
        require_usable_rate(name, stream.quality)
    units = replace(units, axes=decide_axes(streams, canonical.metadata, option=options.axes))
    streams = apply_axes(streams, units.axes)
    orientations = {n: _orientation_by_runs(s, options.orientation, max_gap_s=options.max_interpolated_gap_s)
                    for n, s in streams.items()}
    calibration = options.calibrator.calibrate(streams, orientations)
    seg_angles = {n: segment_angles(streams[n], orientations[n], calibration.segments[n]) for n in streams}
    offset = clock_offset(seg_angles["back"], seg_angles["hip"]) if len(seg_angles) == 2 else None
    if offset is not None:  # the hip's angles onto the back's clock before trunk − pelvis is taken
        seg_angles["hip"] = shifted(seg_angles["hip"], offset.hip_minus_back_s)
    series = common_series(seg_angles, rate_hz=options.analysis_rate_hz, max_gap_s=options.max_interpolated_gap_s)

    travel = {}
    for n, st in streams.items():
        gravity = calibration.segments[n].gravity_mps2
        travel[n] = VerticalTravel(
            st.time_s - (offset.hip_minus_back_s if offset is not None and n == "hip" else 0.0),
            vertical_acceleration_mps2(st, orientations[n], gravity_mps2=gravity), st.sampling_rate_hz,
            # forward travel is evidence for the back sensor only (metrics.MovementClassifier)
            forward_acceleration_mps2(st, orientations[n], calibration.segments[n].hinge_at(st.time_s))
            if n == "back" else None)
    primary_smooth_deg = options.segmenter.smooth(series.primary_deg, rate_hz=series.rate_hz)
    candidates = options.segmenter.segment(series.primary_deg, rate_hz=series.rate_hz,
                                           height_m=_back_height_m(series, streams, travel),
                                           stepping=(stepping := _stepping(series, travel, options.segmenter)))
    bounds = [b for i, b in enumerate(candidates) if not _changes_posture(
        i, candidates, series, travel, options.posture_change_m, options.posture_change_pelvis_deg)]
    # a descent under way at the end of the samples stands for the next rep's start (its top pause, lockout,
    # lean-back window), then is dropped: the causal mode's data end there (RepSegmenter.descent_start)
    descent = options.segmenter.descent_start(primary_smooth_deg, after=bounds[-1].end,
                                              rate_hz=series.rate_hz) if bounds else None
    ahead = [RepBounds(descent, series.time_s.size - 1, series.time_s.size - 1, (series.time_s.size - 1,) * 2,
                       True)] if descent is not None else []
    set_of_rep = group_sets(bounds + ahead, series.time_s, max_rest_s=options.max_rest_in_set_s)
    reps = rep_metrics(series, bounds + ahead, set_of_rep, origin_s=origin, thresholds=options.thresholds,
                       hip=travel.get("hip"), back=travel.get("back"), classifier=options.classifier)[:len(bounds)]
    reps = settle_movements(reps)
    if uncertain_calibration(calibration):  # flags judge angles against standing: not an unconfirmed upright
        reps = [replace(r, flags=()) for r in reps]
    sets = sets_of(reps)
    warnings = _warnings(canonical, streams, calibration, units, origin)
    warnings[:0] = axes_warnings(units.axes)
    if not reps:
        walking = stepping.mean() >= NOT_LIFTING_STEPPING_SHARE
        warnings.append(QualityWarning("no_lifting", "no lifting found: " + (
            "the recording looks like walking or climbing stairs" if walking else
            "no bend was deep enough, and no squat-like dip of the sensor's height, to be a rep")))
    if offset is not None and abs(offset.hip_minus_back_s) > OUT_OF_STEP_S:
        warnings.append(QualityWarning(
            "sensors_out_of_step", f"the hip sensor's clock runs {1000 * offset.hip_minus_back_s:+.0f} ms against the "
            "back sensor's (their motion is out of step); it was realigned, but check the devices' time stamps", "hip"))
    return AnalysisResult(canonical, options, units, streams, orientations, calibration, seg_angles, series,
                          offset, bounds, primary_smooth_deg, descent, reps, sets, summarize(reps), warnings)


def sets_of(reps: list[Rep]) -> list[SetResult]:
    """The sets the reps belong to (by their ``set_index``), each with its summary."""
    sets = []
    for index in sorted({r.set_index for r in reps}):
        members = [r for r in reps if r.set_index == index]
        sets.append(SetResult(index, members[0].start_s, members[-1].end_s, tuple(r.index for r in members),
                              summarize(members)))
    return sets


def uncertain_calibration(calibration: Calibration) -> bool:
    """An estimated upright below ``UNCERTAIN_CALIBRATION`` confidence."""
    return calibration.method == "estimated" and calibration.confidence < UNCERTAIN_CALIBRATION


def _back_height_m(series: AngleSeries, streams: dict[str, UniformStream],
                   travel: dict[str, VerticalTravel]) -> np.ndarray | None:
    """Height of the back sensor on the common grid (m; NaN where it did not record), the segmentation's second
    channel; None without one. Only a sensor above the hips drops in every bend: a hip sensor behind the joint
    may rise in a hinge."""
    if "back" not in streams:
        return None
    back = travel["back"]
    height = np.interp(series.time_s, back.time_s, height_m(back.acc_z_mps2, sampling_rate_hz=back.sampling_rate_hz))
    if series.trunk_deg is not None:
        height[np.isnan(series.trunk_deg)] = np.nan  # the back sensor was not recording
    return height


def _stepping(series: AngleSeries, travel: dict[str, VerticalTravel], segmenter: RepSegmenter) -> np.ndarray:
    """Where any sensor shows stepping (:meth:`RepSegmenter.stepping`), on the common grid (bool)."""
    out = np.zeros(series.time_s.size, dtype=bool)
    for t in travel.values():
        mask = segmenter.stepping(t.acc_z_mps2, sampling_rate_hz=t.sampling_rate_hz)
        out |= np.interp(series.time_s, t.time_s, mask.astype(float)) > 0.5
    return out


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
            "estimated_calibration", "no quiet standing before the first rep: the standing posture was taken from "
            f"{ESTIMATE_BASIS[calibration.basis]} (confidence {calibration.confidence:.2f}); stand still for 2 s "
            "before a set for the most accurate angles"))
        if uncertain_calibration(calibration):
            warnings.append(QualityWarning(
                "uncertain_calibration", "the standing posture could not be confirmed (the start of the recording and "
                "the tops of the reps disagree, or the tops drift): angles may be off by 10° or more, so no rep is "
                "flagged; rep counts and times are not affected"))
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
