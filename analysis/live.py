"""The live view's analysis: the offline pipeline run causally, as samples arrive.

There is one analysis. Its steps keep their rules in their own modules and each has a causal entry point
beside the offline one:

* calibration, angles, segmentation, metrics, flags and cues: :func:`~analysis.pipeline.analyze` on the samples
  seen so far (the calibration is re-estimated as the set goes on; re-mounts and a sensor that drops out are
  handled as offline), every ``reanalyze_every_s`` of new samples, when a pending rep becomes due, or when the
  caller catches up;
* rep segmentation's causal rule, :meth:`RepSegmenter.final_count` on the analysis's own segmentation (its
  bounds, low-passed angle and pending descent): a rep is reported once final and never revised:
  ``final_after_s`` after its end, once the next descent is certain (:meth:`RepSegmenter.descent_start`, which
  the analysis takes as the next rep's start, so an incomplete lockout and the top pause are known then) or
  the trunk held a complete lockout (then the top pause is still going on: ``top_pause_s`` is None, see
  ``docs/report-format.md``); the previous analysis must have found it alike
  (``unchanged_s``: the height channel's filters settle; after a burst of samples, an analysis of the samples
  up to ``reanalyze_every_s`` earlier stands in for it when the caller says no samples followed,
  :meth:`LiveAnalyzer.confirm`, so a resent buffer's reps show without more samples);
  while the calibration is uncertain (the report would warn and flag nothing,
  :func:`~analysis.pipeline.uncertain_calibration`), or once the handedness check leaned to a reversed frame
  and until it is sure (:func:`~analysis.units.axes_may_reverse`), reps wait;
* angles for the display between analyses: :class:`LiveAngles`, a :class:`~analysis.angles.StreamingAngles` per
  sensor (online VQF and the same :func:`~analysis.calibration.sagittal_angle_deg`) with the calibration of the
  latest analysis (:func:`angle_calibrations`: small, so a server can run the analysis in another process and
  keep the display's angles beside its clients).

Live reps are :class:`~analysis.metrics.Rep` records, turned into JSON by :func:`~analysis.report.rep_json` as
the report does; times are seconds since the session's first sample. :func:`replay` runs a recording through
the live analysis in ``REPLAY_CHUNK_S`` chunks (``hinge analyze FILE --live``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from .angles import StreamingAngles
from .calibration import SegmentCalibration
from .errors import HingeError
from .metrics import Rep
from .pipeline import AnalysisOptions, AnalysisResult, analyze, sets_of, uncertain_calibration
from .recording import Chunk, Recording, SensorStream, replay_chunks
from .report import rep_json
from .sets import summarize
from .units import axes_may_reverse

REANALYZE_EVERY_S = 1.0   # re-run the analysis after this much new time on the stream
REPLAY_CHUNK_S = 0.1      # the message interval of a live source (hinge-live/1 senders batch about this long)
MAX_WINDOW_S = 600.0      # the analysis sees at most the last this many seconds (bounded memory and work)
WAITING_STATUS = "calibrating: stand still for 2 s, or start the set"


@dataclass(frozen=True)
class LiveState:
    """What the live view shows between reps (JSON via :meth:`as_json`)."""

    time_s: float
    calibrated: bool
    status: str
    trunk_angle_deg: float | None
    pelvis_angle_deg: float | None
    rep_count: int
    last_rep: Rep | None

    def as_json(self) -> dict:
        return {"time_s": round(self.time_s, 3), "calibrated": self.calibrated, "status": self.status,
                "trunk_angle_deg": _rounded(self.trunk_angle_deg), "pelvis_angle_deg": _rounded(self.pelvis_angle_deg),
                "rep_count": self.rep_count, "last_rep": rep_json(self.last_rep) if self.last_rep else None}


@dataclass(frozen=True)
class AngleCalibration:
    """What the display's angles of one sensor take from an analysis."""

    sampling_rate_hz: float
    gyr_sign: float               # -1 for a sensor whose gyroscope the analysis reversed (a left-handed frame)
    segment: SegmentCalibration


def angle_calibrations(result: AnalysisResult) -> dict[str, AngleCalibration]:
    """The calibration in force for the display, per sensor the analysis calibrated."""
    return {name: AngleCalibration(stream.sampling_rate_hz, -1.0 if result.units.axes[name].reversed else 1.0,
                                   result.calibration.segments[name])
            for name, stream in result.streams.items()}


class LiveAngles:
    """The display's angles between analyses, as chunks arrive: per sensor a
    :class:`~analysis.angles.StreamingAngles` with the calibration of the latest analysis (:meth:`calibrate`).
    A sensor's chunks before its first calibration wait (the last ``max_window_s``) and go through its filter
    then; times are seconds since the first sample pushed.

    Parameters
    ----------
    max_gap_s : a sensor silent for longer than this shows no angle (the analysis bridges gaps up to
        ``AnalysisOptions.max_interpolated_gap_s``).
    max_window_s : the longest span of a sensor's chunks kept waiting for its first calibration.
    """

    def __init__(self, *, max_gap_s: float, max_window_s: float = MAX_WINDOW_S) -> None:
        self.max_gap_s = max_gap_s
        self.max_window_s = max_window_s
        self.calibrations: dict[str, AngleCalibration] = {}
        self.now_s = 0.0
        self._origin_s: float | None = None
        self._filters: dict[str, StreamingAngles] = {}
        self._waiting: dict[str, list[Chunk]] = {}
        self._angle_deg: dict[str, float] = {}
        self._last_s: dict[str, float] = {}   # each sensor's last sample

    def push(self, chunk: Chunk) -> None:
        """Take one chunk: its sensor's angle follows it once the sensor is calibrated."""
        if chunk.sample_count == 0:
            return
        self._origin_s = min(np.inf if self._origin_s is None else self._origin_s, float(chunk.time_s[0]))
        self._last_s[chunk.sensor] = float(chunk.time_s[-1]) - self._origin_s
        self.now_s = max(self.now_s, self._last_s[chunk.sensor])
        if chunk.sensor in self._filters:
            self._angle_deg[chunk.sensor] = self._angle(chunk)
            return
        waiting = self._waiting.setdefault(chunk.sensor, [])
        waiting.append(chunk)
        while len(waiting) > 1 and waiting[1].time_s[0] < chunk.time_s[-1] - self.max_window_s:
            waiting.pop(0)

    def calibrate(self, calibrations: Mapping[str, AngleCalibration]) -> None:
        """Use an analysis's calibrations from now on; a sensor calibrated for the first time gets its filter,
        fed with the chunks that waited."""
        self.calibrations.update(calibrations)
        for name, calibration in calibrations.items():
            if name not in self._filters:
                self._filters[name] = StreamingAngles(calibration.sampling_rate_hz, gyr_sign=calibration.gyr_sign)
                waiting = self._waiting.pop(name, [])
                if waiting:
                    self._angle_deg[name] = self._angle(Chunk(name, *(
                        np.concatenate([getattr(c, k) for c in waiting]) for k in ("time_s", "acc_mps2", "gyr_radps"))))

    def state(self, reps: Sequence[Rep]) -> LiveState:
        """The current angles with the reps reported so far, for the display."""
        calibrated = bool(self.calibrations)
        # a sensor that dropped out (silent for longer than the analysis bridges) shows no angle
        fresh = {n: a for n, a in self._angle_deg.items() if self.now_s - self._last_s[n] <= self.max_gap_s}
        return LiveState(time_s=self.now_s, calibrated=calibrated, status="live" if calibrated else WAITING_STATUS,
                         trunk_angle_deg=fresh.get("back"), pelvis_angle_deg=fresh.get("hip"),
                         rep_count=sum(not r.partial for r in reps), last_rep=reps[-1] if reps else None)

    def _angle(self, chunk: Chunk) -> float:
        return float(self._filters[chunk.sensor].update(chunk, self.calibrations[chunk.sensor].segment)[-1])


class LiveAnalyzer:
    """The analysis of one live set, fed chunk by chunk (see module docstring).

    Parameters
    ----------
    options : the analysis options, as offline.
    metadata : the recording's metadata (an importer's ``<sensor>_axes`` frame is used as offline).
    reanalyze_every_s : stream time between two runs of the analysis; :meth:`update` runs it when due.
    max_window_s : the analysis window's longest span; older samples are dropped (reps found before stay).
    unchanged_s : a rep is final only once the previous analysis found it too, its bottom and end within this.
    show_angles : keep the display's angles (:attr:`angles`, :meth:`state`); False where the display runs
        elsewhere with the calibrations of :attr:`result` (:func:`angle_calibrations`).
    """

    def __init__(self, *, options: AnalysisOptions | None = None, metadata: Mapping[str, str] | None = None,
                 reanalyze_every_s: float = REANALYZE_EVERY_S,
                 max_window_s: float = MAX_WINDOW_S, unchanged_s: float = 0.25, show_angles: bool = True) -> None:
        self.options = options or AnalysisOptions()
        self.metadata = dict(metadata or {"source": "hinge live"})
        self.reanalyze_every_s = reanalyze_every_s
        self.max_window_s = max_window_s
        self.unchanged_s = unchanged_s
        self._seen: list[tuple[float, float]] = []   # (bottom_s, end_s) of the previous analysis's reps
        self.reps: list[Rep] = []
        self.result: AnalysisResult | None = None    # the latest analysis of the window
        self._chunks: dict[str, list[Chunk]] = {}
        self._origin_s: float | None = None
        self._analysed_to_s = -np.inf
        self._now_s = 0.0
        self._axes_doubt = False
        self._next_final_s = np.inf  # when the first pending rep has had final_after_s since its end
        self._unconfirmed: tuple[list[Rep], set[int], float] | None = None  # see confirmable
        self.angles = LiveAngles(max_gap_s=self.options.max_interpolated_gap_s,
                                 max_window_s=max_window_s) if show_angles else None

    def push(self, chunk: Chunk) -> None:
        """Take one chunk (the display's angles follow it; the analysis waits for :meth:`update`)."""
        if chunk.sample_count == 0:
            return
        self._origin_s = min(np.inf if self._origin_s is None else self._origin_s, float(chunk.time_s[0]))
        self._chunks.setdefault(chunk.sensor, []).append(chunk)
        self._unconfirmed = None  # the next analysis confirms
        self._now_s = max(self._now_s, float(chunk.time_s[-1]) - self._origin_s)
        if self.angles is not None:
            self.angles.push(chunk)

    def update(self, *, final: bool = False, due: bool = False) -> list[Rep]:
        """Analyse the samples so far if ``reanalyze_every_s`` of new ones came in (always when ``due``, or
        ``final``: the set has ended); return the reps that became final (all of them when ``final``)."""
        if not (final or due) and self._now_s - self._analysed_to_s < self.reanalyze_every_s \
                and self._now_s < self._next_final_s:
            return []
        recording = self._window()
        if recording is None:
            return []
        since_s, self._analysed_to_s, self._next_final_s = self._analysed_to_s, self._now_s, np.inf
        try:
            result = analyze(recording, options=self.options)
        except HingeError:  # too little yet (no movement to calibrate from, too few samples for a rate)
            return []
        self._follow(result)
        shift_s = recording.start_time_s - self._origin_s  # type: ignore[operator]  # set with the first chunk
        previous, self._seen = self._seen, _found(result, shift_s)
        last = self.reps[-1] if self.reps else None
        fresh = [r for r in result.reps if last is None or r.bottom_s + shift_s > last.end_s
                 and _overlap_s(r.start_s + shift_s, r.end_s + shift_s, last) < 0.5 * (r.end_s - r.start_s)]
        segmenter, series = self.options.segmenter, result.series
        # once the handedness check leaned the other way, the axes stay in doubt until it is sure
        self._axes_doubt = (self._axes_doubt or axes_may_reverse(result.units.axes)) and any(
            d.decided_by == "default" for d in result.units.axes.values())
        if not final and (uncertain_calibration(result.calibration) or self._axes_doubt):
            return []  # angles may be 10° off: the reps wait until the upright and the axes are sure (or the set ends)
        count = len(result.reps) if final else segmenter.final_count(
            result.bounds, result.primary_smooth_deg, descent=result.descent_start, rate_hz=series.rate_hz,
            lockout_deg=self.options.thresholds.incomplete_lockout_deg)
        final_ids = {id(r) for r in result.reps[:count]}
        done = self._take(fresh, final_ids, previous, shift_s, final)
        # a burst (a resent buffer, a worker catching up) and no analysis ran a period ago to confirm the next
        # rep: :meth:`confirm` may run that one, on the samples up to then
        self._unconfirmed = (fresh[len(done):], final_ids, shift_s) if (
            not final and len(done) < len(fresh) and id(fresh[len(done)]) in final_ids
            and self._now_s - since_s > 1.5 * self.reanalyze_every_s) else None
        # the next analysis is due when the first pending rep may be final (not only on the next period)
        lag_s = self._now_s - (float(series.time_s[-1]) - self._origin_s)  # type: ignore[operator]
        pending = [r.end_s + shift_s + segmenter.final_after_s + 1.0 / series.rate_hz + lag_s
                   for r in fresh[len(done):]]
        self._next_final_s = min([t for t in pending if t > self._now_s], default=np.inf)
        return done

    @property
    def confirmable(self) -> bool:
        """The latest analysis covered a burst of samples and a final rep waits only for a previous analysis to
        have found it alike (:meth:`confirm`)."""
        return self._unconfirmed is not None

    def confirm(self) -> list[Rep]:
        """When :attr:`confirmable` and no samples came since: the analysis of the samples up to
        ``reanalyze_every_s`` earlier stands in for the previous one; return the reps that became final (a caller
        that has more samples coming need not call this: the next analysis confirms them)."""
        if self._unconfirmed is None:
            return []
        (waiting, final_ids, shift_s), self._unconfirmed = self._unconfirmed, None
        return self._take(waiting, final_ids, self._found_until(self._now_s - self.reanalyze_every_s), shift_s,
                          False)

    def _take(self, fresh: list[Rep], final_ids: set[int], previous: list[tuple[float, float]], shift_s: float,
              final: bool) -> list[Rep]:
        """Report the leading ``fresh`` reps that are final and, unless the set ended, were found alike
        (bottom and end within ``unchanged_s``) by the analysis that found ``previous``."""
        done = []
        for rep in fresh:
            bottom_s, end_s = rep.bottom_s + shift_s, rep.end_s + shift_s
            unchanged = any(abs(bottom_s - b) <= self.unchanged_s and abs(end_s - e) <= self.unchanged_s
                            for b, e in previous)
            if id(rep) not in final_ids or not (final or unchanged):
                break
            done.append(replace(rep, index=len(self.reps) + 1, start_s=rep.start_s + shift_s,
                                bottom_s=bottom_s, end_s=end_s))
            self.reps.append(done[-1])
        return done

    def _found_until(self, until_s: float) -> list[tuple[float, float]]:
        """(bottom_s, end_s) of the reps an analysis of the samples up to ``until_s`` finds (none when it
        cannot run yet)."""
        recording = self._window(until_s=until_s)
        if recording is None:
            return []
        try:
            result = analyze(recording, options=self.options)
        except HingeError:
            return []
        return _found(result, recording.start_time_s - self._origin_s)  # type: ignore[operator]

    def catch_up(self, recording: Recording) -> list[Rep]:
        """Take a whole recording so far at once (a fresh analyzer catching up from the file); the reps final by
        then are reported (:meth:`confirm`, as after any burst)."""
        for name, stream in recording.sensors.items():
            self.push(Chunk(name, stream.time_s, stream.acc_mps2, stream.gyr_radps))
        return self.update(due=True) + self.confirm()

    def state(self) -> LiveState:
        """The current angles, the count and the last rep, for the display (of an analyzer that shows angles)."""
        if self.angles is None:
            raise ValueError("this analyzer keeps no display (show_angles=False)")
        return self.angles.state(self.reps)

    def _window(self, *, until_s: float | None = None) -> Recording | None:
        """The samples of the last ``max_window_s`` as a recording, up to ``until_s`` (seconds since the first
        sample) if given (None before there is anything to read)."""
        if not self._chunks:
            return None
        end_s = max(c[-1].time_s[-1] for c in self._chunks.values())
        for chunks in self._chunks.values():
            while len(chunks) > 1 and chunks[1].time_s[0] < end_s - self.max_window_s:
                chunks.pop(0)
        streams = {n: SensorStream(*(np.concatenate([getattr(c, k) for c in chunks])
                                     for k in ("time_s", "acc_mps2", "gyr_radps")))
                   for n, chunks in self._chunks.items()}
        if until_s is not None:
            cut_s = until_s + self._origin_s  # type: ignore[operator]  # set with the first chunk
            streams = {n: SensorStream(*(a[:int(np.searchsorted(s.time_s, cut_s, side="right"))]
                                         for a in (s.time_s, s.acc_mps2, s.gyr_radps)))
                       for n, s in streams.items()}
            streams = {n: s for n, s in streams.items() if s.time_s.size}
            if not streams:
                return None
        try:
            return Recording(streams, self.metadata)
        except HingeError:  # implausible timing so far (too few samples to judge a rate are let through)
            return None

    def _follow(self, result: AnalysisResult) -> None:
        """Keep the new analysis; the display's angles take its calibration."""
        self.result = result
        if self.angles is not None:
            self.angles.calibrate(angle_calibrations(result))


def replay(recording: Recording, *, options: AnalysisOptions | None = None,
           chunk_s: float = REPLAY_CHUNK_S) -> AnalysisResult:
    """What the live view would have said: ``recording`` through the live analysis in ``chunk_s`` chunks (the
    sensors interleaved as they arrive), the set ended at the last sample. The result is the offline
    analysis of the whole recording with the reps, sets and summary replaced by the live ones."""
    live = LiveAnalyzer(options=options, metadata=recording.metadata)
    for chunk in replay_chunks(recording, chunk_s=chunk_s):
        live.push(chunk)
        live.update()
    live.update(final=True)
    offline = analyze(recording, options=options)
    return replace(offline, reps=live.reps, sets=sets_of(live.reps), summary=summarize(live.reps))


def _found(result: AnalysisResult, shift_s: float) -> list[tuple[float, float]]:
    """(bottom_s, end_s) of ``result``'s reps, shifted by ``shift_s`` onto the session's times."""
    return [(r.bottom_s + shift_s, r.end_s + shift_s) for r in result.reps]


def _overlap_s(start_s: float, end_s: float, rep: Rep) -> float:
    return max(0.0, min(end_s, rep.end_s) - max(start_s, rep.start_s))


def _rounded(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 2)
