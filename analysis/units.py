"""Unit detection and conversion at the edge of the pipeline, and the handedness of each sensor's axes.

The canonical units are m/s² and rad/s. Files in g or deg/s are common; what can be recognised safely is
converted (and the report says so), anything ambiguous is an error naming the option that decides. An export
that mirrors one axis (a left-handed frame) has its gyroscope reversed only when the option says so, or when the
importer did not state the frame and the quiet-moment check (:class:`AxesCheck`) is sure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from .errors import RecordingError
from .quality import QualityWarning
from .recording import Recording
from .resample import UniformStream

STANDARD_GRAVITY_MPS2 = 9.80665
ACC_UNITS = {"m/s2": 1.0, "g": STANDARD_GRAVITY_MPS2}
GYR_UNITS = {"rad/s": 1.0, "deg/s": np.pi / 180.0}
# a hinge, a swing or a walk never turns a body segment faster than this; deg/s values of ordinary
# movement exceed it
MAX_PLAUSIBLE_RADPS = 15.0
UNIT_SAMPLES = 100_000
AXES_OPTIONS = ("auto", "right-handed", "left-handed")
AXES_METADATA_SUFFIX = "_axes"  # `<sensor>_axes: right-handed` in a recording's metadata: the importer knows
AXES_CONFIDENCE = 0.5  # the handedness check states a frame only at this confidence or more


@dataclass(frozen=True)
class UnitDecision:
    acc_unit: str
    gyr_unit: str
    notes: tuple[str, ...]  # what was detected automatically (for the report's warnings)
    axes: Mapping[str, AxesDecision] = field(default_factory=dict)  # per sensor, set by :func:`decide_axes`


def decide_units(recording: Recording, *, acc_unit: str, gyr_unit: str) -> UnitDecision:
    """Resolve ``auto`` units from the data; raise :class:`RecordingError` when they cannot be told safely."""
    if acc_unit not in ("auto", *ACC_UNITS) or gyr_unit not in ("auto", *GYR_UNITS):
        raise RecordingError(f"unknown unit: acc {acc_unit!r} (use auto, m/s2 or g), gyr {gyr_unit!r} "
                             "(use auto, rad/s or deg/s)")
    notes = []
    # a statistic, not a per-sample result: an evenly spaced subsample of at most UNIT_SAMPLES rows is enough
    acc = np.concatenate([s.acc_mps2[::max(1, s.sample_count // UNIT_SAMPLES)] for s in recording.sensors.values()])
    gyr = np.concatenate([s.gyr_radps[::max(1, s.sample_count // UNIT_SAMPLES)] for s in recording.sensors.values()])
    if acc_unit == "auto":
        median = float(np.median(np.linalg.norm(acc, axis=1)))
        if 7.0 <= median <= 13.0:
            acc_unit = "m/s2"
        elif 0.7 <= median <= 1.35:
            acc_unit = "g"
            notes.append(f"accelerations looked like g (median magnitude {median:.2f}); converted to m/s² "
                         "(use --acc-unit m/s2 to override)")
        else:
            raise RecordingError(f"accelerations have a median magnitude of {median:.2f}, which is neither m/s² "
                                 "(about 9.8) nor g (about 1); pass --acc-unit m/s2 or --acc-unit g")
    else:
        median = float(np.median(np.linalg.norm(acc, axis=1))) * ACC_UNITS[acc_unit]
        if not 7.0 <= median <= 13.0:
            raise RecordingError(f"read as {acc_unit}, accelerations have a median magnitude of {median:.1f} m/s² "
                                 "instead of about 9.8; check --acc-unit")
    if gyr_unit == "auto":
        fast = float(np.percentile(np.linalg.norm(gyr, axis=1), 99.5))
        if fast > MAX_PLAUSIBLE_RADPS:
            gyr_unit = "deg/s"
            notes.append(f"angular rates looked like deg/s (99.5th percentile {fast:.0f}); converted to rad/s "
                         "(use --gyr-unit rad/s to override)")
        else:
            gyr_unit = "rad/s"
    return UnitDecision(acc_unit, gyr_unit, tuple(notes))


def to_canonical(recording: Recording, decision: UnitDecision) -> Recording:
    """The recording in m/s² and rad/s."""
    acc_scale, gyr_scale = ACC_UNITS[decision.acc_unit], GYR_UNITS[decision.gyr_unit]
    if acc_scale == 1.0 and gyr_scale == 1.0:
        return recording
    sensors = {n: replace(s, acc_mps2=s.acc_mps2 * acc_scale, gyr_radps=s.gyr_radps * gyr_scale)
               for n, s in recording.sensors.items()}
    return Recording(sensors=sensors, metadata=recording.metadata)


# ------------------------------------------------------------------------------------------------ handedness


@dataclass(frozen=True)
class AxesCheck:
    """Parameters of the handedness check (:meth:`check`), which compares the gravity direction at quiet
    moments with what the gyroscope says happened in between.

    A quiet moment is a ``quiet_block_s`` stretch in which the angular rate stays below ``quiet_radps``, each
    acceleration axis varies by less than ``quiet_std_mps2`` (standard deviation) and the mean acceleration's
    magnitude is within ``quiet_gravity_mps2`` of gravity as this sensor reads it (the median over still
    stretches: real sensors are off by a few %): the accelerometer then measures gravity alone, whatever the body
    did before or after. Within each ``window_s`` window (half-overlapping) the gyroscope is integrated both as
    recorded and reversed, and each quiet moment's gravity direction is turned back into the window's first
    frame; the right hypothesis brings them together, the wrong one spreads them by about twice the turn. Only
    windows whose quiet moments differ by at least ``min_turn_deg`` count; ``full_windows`` such windows give
    full confidence. Samples are averaged to ``rate_hz`` first (block means keep the integral of the rate).
    """

    rate_hz: float = 25.0
    window_s: float = 4.0
    quiet_block_s: float = 0.2
    quiet_radps: float = 0.5
    quiet_std_mps2: float = 0.5
    quiet_gravity_mps2: float = 1.0
    min_turn_deg: float = 8.0
    full_windows: int = 6

    def check(self, acc_mps2: np.ndarray, gyr_radps: np.ndarray, *, sampling_rate_hz: float,
              measured: np.ndarray | None = None) -> tuple[float, int]:
        """Handedness evidence of one sensor.

        Parameters
        ----------
        acc_mps2, gyr_radps : (n, 3) m/s² and rad/s on a uniform grid at ``sampling_rate_hz``.
        measured : (n,) bool, False for samples filled in across gaps (windows holding one are skipped).

        Returns
        -------
        evidence : -1..1; near +1 when the gyroscope turns gravity the way a right-handed frame does, near -1
            when it turns it the opposite way (one axis mirrored on export), 0 without informative windows.
        windows : how many windows held quiet moments at least ``min_turn_deg`` apart.
        """
        step = max(1, int(round(sampling_rate_hz / self.rate_hz)))
        dt_s = step / sampling_rate_hz
        block = max(2, int(round(self.quiet_block_s / dt_s)))
        length = max(block, int(round(self.window_s / dt_s)) // block * block)
        n = acc_mps2.shape[0] // step
        if n < length:
            return 0.0, 0
        # block means keep the integral of the angular rate; the peak rate keeps quiet honest
        acc = acc_mps2[:n * step].reshape(n, step, 3).mean(axis=1)
        gyr = gyr_radps[:n * step].reshape(n, step, 3).mean(axis=1)
        peak_radps = np.linalg.norm(gyr_radps[:n * step], axis=1).reshape(n, step).max(axis=1)
        measured = np.ones(n * step, bool) if measured is None else np.asarray(measured[:n * step], bool)
        ok = np.all(measured.reshape(n, step), axis=1)
        index = np.arange(0, n - length + 1, length // 2)[:, None] + np.arange(length)
        index = index[ok[index].all(axis=1)]
        if index.shape[0] == 0:
            return 0.0, 0
        blocks = acc[index].reshape(index.shape[0], length // block, block, 3)
        mean_mps2 = blocks.mean(axis=2)
        still = (peak_radps[index].reshape(blocks.shape[:3]) < self.quiet_radps).all(axis=2) & (
            blocks.std(axis=2).max(axis=2) < self.quiet_std_mps2)
        magnitude = np.linalg.norm(mean_mps2, axis=2)
        # gravity as this sensor reads it (scale errors of a few % are common): the median over still blocks
        gravity_mps2 = float(np.median(magnitude[still])) if still.any() else STANDARD_GRAVITY_MPS2
        quiet = still & (np.abs(magnitude - gravity_mps2) < self.quiet_gravity_mps2)
        gravity = mean_mps2 / np.linalg.norm(mean_mps2, axis=2, keepdims=True)
        turn_deg = _spread_deg(gravity, quiet).max(axis=1)
        informative = (quiet.sum(axis=1) >= 2) & (turn_deg >= self.min_turn_deg)
        if not informative.any():
            return 0.0, 0
        gravity, quiet, rates = gravity[informative], quiet[informative], gyr[index[informative]]
        spread = [_spread_deg(_into_first_frame(gravity, sign * rates, dt_s=dt_s, block=block), quiet).sum(axis=1)
                  for sign in (1.0, -1.0)]
        evidence = float((spread[1] - spread[0]).sum() / max((spread[1] + spread[0]).sum(), 1e-12))
        return evidence, int(informative.sum())


def _into_first_frame(gravity: np.ndarray, gyr_radps: np.ndarray, *, dt_s: float, block: int) -> np.ndarray:
    """Each block's gravity direction (w, b, 3) expressed in the window's first sensor frame, by integrating the
    angular rate (w, b·block, 3) rad/s (the middle sample of each block stands for it)."""
    rotation = np.broadcast_to(np.eye(3), (gravity.shape[0], 3, 3)).copy()
    out = np.empty_like(gravity)
    for k in range(gyr_radps.shape[1]):
        if k % block == block // 2:
            out[:, k // block] = np.einsum("wij,wj->wi", rotation, gravity[:, k // block])
        rotation = rotation @ _rotation_matrices(gyr_radps[:, k] * dt_s)
    return out


def _rotation_matrices(rotvec: np.ndarray) -> np.ndarray:
    """(w, 3, 3) rotation matrices of (w, 3) rotation vectors (Rodrigues' formula)."""
    angle = np.linalg.norm(rotvec, axis=1)[:, None, None]
    skew = np.zeros((rotvec.shape[0], 3, 3))
    skew[:, 0, 1], skew[:, 0, 2], skew[:, 1, 2] = -rotvec[:, 2], rotvec[:, 1], -rotvec[:, 0]
    skew = skew - skew.transpose(0, 2, 1)
    small = angle < 1e-9
    safe = np.where(small, 1.0, angle)
    return (np.eye(3) + np.where(small, 1.0, np.sin(safe) / safe) * skew
            + np.where(small, 0.5, (1.0 - np.cos(safe)) / safe ** 2) * (skew @ skew))


def _spread_deg(directions: np.ndarray, quiet: np.ndarray) -> np.ndarray:
    """Angle (w, b) deg of each quiet unit vector (w, b, 3) from the mean of its window's quiet vectors; 0 where
    not quiet."""
    mean = (directions * quiet[..., None]).sum(axis=1)
    mean /= np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)
    cosine = np.clip(np.einsum("wbi,wi->wb", directions, mean), -1.0, 1.0)
    return np.where(quiet, np.degrees(np.arccos(cosine)), 0.0)


@dataclass(frozen=True)
class AxesDecision:
    """How one sensor's handedness was settled (reported as ``units.axes.<sensor>``, see docs/report-format.md).

    frame : ``right-handed`` or ``left-handed``: the frame the data were taken to be recorded in.
    decided_by : ``option`` (``--axes``), ``importer`` (the recording's metadata says the frame), ``data`` (the
        check was sure enough) or ``default`` (no frame known and the check unsure: kept as recorded).
    check : what the data say on their own: ``right-handed``, ``left-handed`` or ``unsure``.
    evidence : -1..1 (see :meth:`AxesCheck.check`); windows : informative windows behind it.
    confidence : 0..1, how sure the check is of its own verdict: |evidence| scaled down when fewer than
        ``AxesCheck.full_windows`` windows were informative.
    reversed : the analysis reversed this sensor's gyroscope sign.
    """

    frame: str
    decided_by: str
    check: str
    evidence: float
    windows: int
    confidence: float
    reversed: bool


def decide_axes(streams: Mapping[str, UniformStream], metadata: Mapping[str, str], *, option: str = "auto",
                check: AxesCheck | None = None) -> dict[str, AxesDecision]:
    """Settle each sensor's handedness: ``option`` if given, else the frame its importer recorded in
    ``metadata`` (``<sensor>_axes``), else the data check when it is sure, else the data as recorded."""
    if option not in AXES_OPTIONS:
        raise RecordingError(f"unknown axes option {option!r}: use {', '.join(AXES_OPTIONS)}")
    check = check or AxesCheck()
    decisions = {}
    for name, s in streams.items():
        evidence, windows = check.check(s.acc_mps2, s.gyr_radps, sampling_rate_hz=s.sampling_rate_hz,
                                        measured=s.measured)
        confidence = abs(evidence) * min(1.0, windows / check.full_windows)
        verdict = "unsure"
        if confidence >= AXES_CONFIDENCE:
            verdict = "right-handed" if evidence > 0 else "left-handed"
        known = metadata.get(f"{name}{AXES_METADATA_SUFFIX}", "").strip().lower()
        if option != "auto":
            frame, by = option, "option"
        elif known in AXES_OPTIONS[1:]:
            frame, by = known, "importer"
        elif verdict != "unsure":
            frame, by = verdict, "data"
        else:
            frame, by = "right-handed", "default"
        decisions[name] = AxesDecision(frame, by, verdict, round(evidence, 3), windows, round(confidence, 3),
                                       reversed=frame == "left-handed")
    return decisions


def axes_may_reverse(decisions: Mapping[str, AxesDecision]) -> bool:
    """Some sensor is kept as recorded only by default while its check already leans the other way: with more
    data the check may become sure and reverse its gyroscope (causal mode: an analysis of a set so far waits)."""
    return any(d.decided_by == "default" and d.evidence < 0 for d in decisions.values())


def apply_axes(streams: Mapping[str, UniformStream], decisions: Mapping[str, AxesDecision]) -> dict[str, UniformStream]:
    """The streams with the gyroscope reversed where the decision says so (a left-handed frame made right)."""
    return {n: replace(s, gyr_radps=-s.gyr_radps) if decisions[n].reversed else s for n, s in streams.items()}


def axes_warnings(decisions: Mapping[str, AxesDecision]) -> list[QualityWarning]:
    """``unit_conversion`` for a reversed gyroscope; ``axes_disagreement`` when the data contradict a frame
    stated by the importer or the option (the data are then kept as stated)."""
    warnings = []
    for name, d in decisions.items():
        if d.reversed and d.decided_by == "data":
            warnings.append(QualityWarning("unit_conversion", (
                f"{name}: the gyroscope turns gravity the opposite way to the accelerometer's axes (an export with a "
                f"flipped, left-handed axis; check confidence {d.confidence:.2f}); its sign was reversed to match. "
                "Pelvic hike and rotation signs may be mirrored (use --axes right-handed to keep the data as it is)"),
                name))
        elif d.check not in ("unsure", d.frame):
            warnings.append(QualityWarning("axes_disagreement", (
                f"{name}: the data look {d.check} (check confidence {d.confidence:.2f}) but the {d.decided_by} says "
                f"{d.frame}; kept as {d.frame}"), name))
    return warnings
