"""Families of simulated sessions (the accuracy corpus) and the named demo presets.

Every family draws its lifter, sensor mountings (any orientation), rates (25–400 Hz, the two sensors may
differ), sensor errors and time origin from the seed, so a corpus is just ``(family, seed)`` pairs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
from scipy.spatial.transform import Rotation

from .engine import Simulation, simulate
from .plan import (
    Block,
    Fidget,
    Remount,
    SensorPlan,
    SessionPlan,
    SetPlan,
    Sit,
    Stand,
    Walk,
    random_errors,
    random_geometry,
    random_mount,
    sample_rep,
)

RATES_HZ = (25.0, 50.0, 52.0, 60.0, 100.0, 104.0, 200.0, 400.0)
UNIX_ORIGIN_S = 1_763_700_000.0


def _sensors(rng: np.random.Generator, names: tuple[str, ...], *, quality: str | None = None) -> dict[str, SensorPlan]:
    quality = quality or str(rng.choice(["typical", "typical", "rough"]))
    return {n: SensorPlan(random_errors(rng, float(rng.choice(RATES_HZ)), quality=quality), random_mount(rng))
            for n in names}


def _plan(rng: np.random.Generator, family: str, blocks: list[Block], *, names=("back", "hip"),
          quality: str | None = None) -> SessionPlan:
    return SessionPlan(
        family=family,
        geometry=random_geometry(rng, pocket=bool(rng.uniform() < 0.5)),
        blocks=tuple(blocks),
        sensors=_sensors(rng, names, quality=quality),
        time_origin_s=UNIX_ORIGIN_S + rng.uniform(0, 1e6) if rng.uniform() < 0.5 else rng.uniform(0, 100),
    )


def _set(rng, movement: str, count: int, *, stance_side: int = 1, **faults_by_rep: Callable[[int], bool]) -> SetPlan:
    """A set of ``count`` reps; each fault keyword maps rep number (0-based) → whether it has that fault;
    ``stance_side`` as in :func:`sample_rep`."""
    return SetPlan(tuple(sample_rep(rng, movement, stance_side=stance_side,
                                    **{k: f(i) for k, f in faults_by_rep.items()}) for i in range(count)))


def _between_sets(rng) -> list[Block]:
    return [Stand(rng.uniform(2, 5)), Walk(rng.uniform(5, 10), turn_deg=rng.uniform(90, 200) * rng.choice([-1, 1])),
            Fidget(rng.uniform(3, 6)), Walk(rng.uniform(4, 8), turn_deg=rng.uniform(-180, 180)),
            Stand(rng.uniform(2, 6))]


def _start(rng) -> Stand:
    return Stand(rng.uniform(2.5, 4.0))


def _end(rng) -> Stand:
    return Stand(rng.uniform(2.0, 4.0))


def rdl_clean(rng):
    return _plan(rng, "rdl_clean", [_start(rng), _set(rng, "rdl", int(rng.integers(6, 11))), _end(rng)])


def rounding(rng):
    onset = int(rng.integers(2, 5))  # fatigue: rounding from this rep on
    movement = str(rng.choice(["rdl", "deadlift"]))
    return _plan(rng, "rounding", [_start(rng), _set(rng, movement, 8, rounding=lambda i: i >= onset), _end(rng)])


def lean_back(rng):
    return _plan(rng, "lean_back", [_start(rng), _set(rng, str(rng.choice(["rdl", "deadlift", "swing"])), 8,
                                                      lean_back=lambda i: i % 2 == 1), _end(rng)])


def incomplete_lockout(rng):
    return _plan(rng, "incomplete_lockout", [_start(rng), _set(rng, "rdl", 8, incomplete=lambda i: i in (2, 3, 5)),
                                             _end(rng)])


def swing(rng):
    return _plan(rng, "swing", [_start(rng), _set(rng, "swing", int(rng.integers(10, 16))), _end(rng)])


def slow_pause(rng):
    return _plan(rng, "slow_pause",
                 [_start(rng), _set(rng, "rdl", 5, slow=lambda i: i % 2 == 0, pause=lambda i: i >= 2), _end(rng)])


def partial(rng):
    return _plan(rng, "partial", [_start(rng), _set(rng, "rdl", 8, partial=lambda i: i % 3 != 0), _end(rng)])


def squat(rng):
    return _plan(rng, "squat", [_start(rng), _set(rng, "squat", int(rng.integers(5, 9))), _end(rng)])


def mixed(rng):
    return _plan(rng, "mixed", [_start(rng), _set(rng, "squat", 5), *_between_sets(rng),
                                _set(rng, str(rng.choice(["rdl", "deadlift", "good_morning"])), 6), _end(rng)])


def staggered(rng):
    side = int(rng.choice([-1, 1]))  # which foot is back: the same for the whole set
    return _plan(rng, "staggered", [_start(rng), _set(rng, "staggered_rdl", 8, stance_side=side), _end(rng)])


def walking_sets(rng):
    blocks: list[Block] = [_start(rng)]
    for k in range(int(rng.integers(2, 4))):
        if k:
            blocks += _between_sets(rng)
        blocks.append(_set(rng, str(rng.choice(["rdl", "deadlift", "good_morning", "swing"])), int(rng.integers(5, 9)),
                           rounding=lambda i: rng.uniform() < 0.15))
    return _plan(rng, "walking_sets", blocks + [_end(rng)])


def back_only(rng):
    return _plan(rng, "back_only", [_start(rng), _set(rng, "rdl", 8, lean_back=lambda i: i in (3, 6),
                                                      incomplete=lambda i: i == 1), _end(rng)], names=("back",))


def hip_only(rng):
    return _plan(rng, "hip_only", [_start(rng), _set(rng, str(rng.choice(["rdl", "squat"])), 7), _end(rng)],
                 names=("hip",))


# --- real-world sessions (issue 6) -------------------------------------------------------------------------


def _hinge(rng) -> str:
    return str(rng.choice(["rdl", "deadlift", "good_morning"]))


def no_standing(rng):
    """Press record and start lifting at once; walk to another station; stop right after the last rep."""
    return _plan(rng, "no_standing", [Stand(0.3, sway_deg=0.0), _set(rng, _hinge(rng), 6),
                                      Walk(rng.uniform(6, 10), turn_deg=rng.uniform(90, 180)),
                                      _set(rng, _hinge(rng), 5, rounding=lambda i: i >= 3), Stand(0.4, sway_deg=0.0)])


def standing_end(rng):
    return _plan(rng, "standing_end", [Stand(0.3, sway_deg=0.0), _set(rng, _hinge(rng), 7, lean_back=lambda i: i == 4),
                                       Stand(rng.uniform(3, 5))])


def remount(rng):
    """One sensor is knocked and re-clipped mid-set in a different orientation."""
    sensor = str(rng.choice(["back", "hip"]))
    turn = Rotation.from_rotvec(np.radians(rng.uniform(25, 70)) * _unit(rng))
    plan = _plan(rng, "remount", [_start(rng), _set(rng, "rdl", 4)])
    new_mount = turn * plan.sensors[sensor].mount
    blocks = plan.blocks + (Remount(sensor, new_mount, rng.uniform(2.5, 4.0)), Stand(rng.uniform(2.5, 4.0)),
                            _set(rng, "rdl", 4, rounding=lambda i: i == 2), _end(rng))
    return replace(plan, blocks=blocks)


def sitting(rng):
    return _plan(rng, "sitting", [_start(rng), _set(rng, _hinge(rng), 5), Walk(rng.uniform(4, 7), turn_deg=160),
                                  Sit(rng.uniform(20, 40)), Stand(rng.uniform(1, 3)), _set(rng, "squat", 5),
                                  _end(rng)])


def truncated(rng):
    """The recording starts in the middle of a rep and stops in the middle of one."""
    return replace(_plan(rng, "truncated", [_start(rng), _set(rng, _hinge(rng), 7), _end(rng)]), truncate=True)


def sensor_missing_set(rng):
    missing = str(rng.choice(["back", "hip"]))
    return _plan(rng, "sensor_missing_set", [
        _start(rng), _set(rng, "rdl", 5), *_between_sets(rng),
        SetPlan(_set(rng, "rdl", 5, lean_back=lambda i: i == 2).reps, missing_sensor=missing),
        *_between_sets(rng), _set(rng, "rdl", 5), _end(rng)])


def units_in_the_wild(rng):
    """A phone export in g and deg/s with one axis flipped (a left-handed frame)."""
    return replace(_plan(rng, "units_in_the_wild", [_start(rng), _set(rng, _hinge(rng), 6), _end(rng)]),
                   acc_scale=1 / 9.80665, gyr_scale=180 / np.pi, mirror_axis=int(rng.integers(3)))


# --- what real recordings showed (issue 9) -----------------------------------------------------------------


def _short_start(rng) -> Stand:
    """0–0.5 s of standing before the first rep, or none."""
    return Stand(float(rng.choice([0.0, rng.uniform(0.1, 0.5)])), sway_deg=0.0)


def _continuous(reps) -> SetPlan:
    """Reps back to back: no pause or lockout hold at the top."""
    return SetPlan(tuple(replace(r, top_pause_s=0.0) for r in reps))


def continuous(rng):
    movement = str(rng.choice(["squat", "rdl", "good_morning"]))
    return _plan(rng, "continuous", [_short_start(rng), _continuous(_set(rng, movement, int(rng.integers(8, 13))).reps),
                                     Stand(rng.uniform(0.2, 1.0), sway_deg=0.0)])


def lumbar(rng):
    """The back sensor just above the sacrum instead of between the shoulder blades."""
    plan = _plan(rng, "lumbar", [_short_start(rng), _continuous(_set(rng, str(rng.choice(["squat", "rdl"])),
                                                                      int(rng.integers(6, 11))).reps), _end(rng)])
    lever = np.array([-0.08, 0.0, rng.uniform(0.0, 0.08)])
    return replace(plan, geometry=replace(plan.geometry, back_sensor_lever_m=lever))


def top_drift(rng):
    """The top posture drifts 10–35° forward during a continuous set (the trunk never comes back up)."""
    count = int(rng.integers(7, 11))
    drift = np.linspace(rng.uniform(10, 15), rng.uniform(28, 35), count)
    reps = tuple(replace(r, lockout_top_deg=float(min(d, 0.55 * (r.pelvis_peak_deg + r.spine_peak_deg))),
                         top_pause_s=0.0)
                 for r, d in zip(_set(rng, str(rng.choice(["rdl", "good_morning"])), count).reps, drift))
    return _plan(rng, "top_drift", [Stand(rng.uniform(0.2, 0.5), sway_deg=0.0), SetPlan(reps),
                                    Stand(rng.uniform(0.3, 1.0), sway_deg=0.0)], names=("back",))


def top_drift_unanchored(rng):
    """``top_drift`` with nothing to anchor the upright: no standing before, the set ends the recording. Not an
    accuracy family (the upright cannot be known, so angles are off): it checks that the calibration says so."""
    plan = top_drift(rng)
    blocks = tuple(b for b in plan.blocks if not isinstance(b, Stand)) + (Stand(0.3, sway_deg=0.0),)
    return replace(plan, family="top_drift_unanchored", blocks=blocks)


HONESTY_FAMILIES = {"top_drift_unanchored": top_drift_unanchored}


def butt_wink(rng):
    """Squats whose pelvis tucks under at the bottom: two trunk-tilt humps per rep, one height dip."""
    reps = tuple(replace(r, wink_deg=rng.uniform(10, 15), top_pause_s=rng.uniform(0.0, 0.3))
                 for r in _set(rng, "squat", int(rng.integers(6, 11))).reps)
    return _plan(rng, "butt_wink", [_short_start(rng), SetPlan(reps), _end(rng)])


def shallow_squat(rng):
    """Squats of 15–20° trunk inclination."""
    def shallow(r):
        pelvis = rng.uniform(10, 14)
        return replace(r, pelvis_peak_deg=pelvis, spine_peak_deg=rng.uniform(15, 20) - pelvis,
                       drop_peak_m=rng.uniform(0.24, 0.32))
    return _plan(rng, "shallow_squat", [_start(rng), SetPlan(tuple(shallow(r) for r in _set(rng, "squat", 8).reps)),
                                        _end(rng)])


def clock_offset(rng):
    """Back and hip on two devices whose stamps differ by 10–40 ms (kettlebell swings: fast reps)."""
    plan = _plan(rng, "clock_offset", [_start(rng), _set(rng, str(rng.choice(["swing", "rdl"])), 10), _end(rng)])
    hip = plan.sensors["hip"]
    offset = plan.sensors["back"].errors.clock_offset_s + rng.choice([-1, 1]) * rng.uniform(0.010, 0.040)
    late_hip = replace(hip, errors=replace(hip.errors, clock_offset_s=offset))
    return replace(plan, sensors={**plan.sensors, "hip": late_hip})


def unix_epoch(rng):
    """Time stamps in seconds since 1970 (a phone or a host clock), no standing before the set."""
    return replace(_plan(rng, "unix_epoch", [_short_start(rng), _set(rng, _hinge(rng), 8), _end(rng)]),
                   time_origin_s=UNIX_ORIGIN_S + rng.uniform(0, 1e6))


def not_lifting(rng):
    """Everyday activity and no lift at all: walking, stairs, fidgeting, sitting (no reps in the truth)."""
    return _plan(rng, "not_lifting", [Stand(rng.uniform(1, 3)), Walk(rng.uniform(6, 10), turn_deg=rng.uniform(-90, 90)),
                                      Walk(rng.uniform(5, 8), turn_deg=0.0, speed_mps=0.5, step_hz=1.6,
                                           climb_m_per_step=0.17),
                                      Fidget(rng.uniform(4, 8), amplitude_deg=6.0), Sit(rng.uniform(10, 20)),
                                      Walk(rng.uniform(4, 8), turn_deg=rng.uniform(90, 180)), Stand(rng.uniform(1, 3))])


def _unit(rng) -> np.ndarray:
    v = rng.normal(size=3)
    return v / np.linalg.norm(v)


CORE_FAMILIES = (rdl_clean, rounding, lean_back, incomplete_lockout, swing, slow_pause, partial, squat, mixed,
                 staggered, walking_sets, back_only, hip_only)
REAL_WORLD_FAMILIES = (no_standing, standing_end, remount, sitting, truncated, sensor_missing_set, units_in_the_wild)
REAL_DATA_FAMILIES = (continuous, lumbar, top_drift, butt_wink, shallow_squat, clock_offset, unix_epoch,
                      not_lifting)
FAMILIES: dict[str, Callable[[np.random.Generator], SessionPlan]] = {
    f.__name__: f for f in CORE_FAMILIES + REAL_WORLD_FAMILIES + REAL_DATA_FAMILIES
}


def _demo(family: str, *, names=("back", "hip")):
    def plan(rng):
        base = FAMILIES[family](rng)
        sensors = {n: SensorPlan(random_errors(rng, 100.0, quality="typical"), random_mount(rng)) for n in names}
        return SessionPlan(family=f"demo:{family}", geometry=base.geometry, blocks=base.blocks, sensors=sensors,
                           time_origin_s=UNIX_ORIGIN_S)
    return plan


DEMOS: dict[str, Callable[[np.random.Generator], SessionPlan]] = {
    "clean": _demo("rdl_clean"),
    "rounding": _demo("rounding"),
    "lean_back": _demo("lean_back"),
    "back_only": _demo("back_only", names=("back",)),
}
PRESETS = {**FAMILIES, **DEMOS}  # the demos' 100 Hz sensors win where a family has the same name


def simulate_family(family: str, *, seed: int) -> Simulation:
    """Simulate one session of an accuracy-corpus family (see :data:`FAMILIES`) or of a calibration-honesty
    family (:data:`HONESTY_FAMILIES`)."""
    known = {**FAMILIES, **HONESTY_FAMILIES}
    if family not in known:
        raise KeyError(f"unknown family {family!r}; known: {', '.join(known)}")
    return simulate(known[family](np.random.default_rng(seed)), seed=seed)


def simulate_preset(name: str, *, seed: int) -> Simulation:
    """Simulate a named preset: a demo set (``clean``, ``rounding``, ``lean_back``, ``back_only``: 100 Hz
    sensors) or any other corpus family."""
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
    return simulate(PRESETS[name](np.random.default_rng(seed)), seed=seed)
