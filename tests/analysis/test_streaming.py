"""The live analysis against the offline one on the simulator corpus, fed the way a live session is: both sensors'
samples in arrival order, in 100 ms chunks (:func:`analysis.live.replay`)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from hinge.analysis.live import REPLAY_CHUNK_S, LiveAnalyzer, replay
from hinge.analysis.metrics import Rep
from hinge.analysis.pipeline import analyze
from hinge.analysis.recording import Chunk, replay_chunks
from hinge.analysis.recording_format import read_recording, write_recording
from hinge.analysis.report import REP_FIELDS, build_report
from hinge.analysis.segmentation import RepBounds, RepSegmenter
from hinge.analysis.simulate import FAMILIES, simulate, simulate_family
from hinge.analysis.simulate.plan import SetPlan

ANGLE_FIELDS = tuple(f for f in REP_FIELDS if f.endswith("_deg"))


def agree(live: list[Rep], offline: list[Rep]) -> list[str]:
    """What differs rep by rep: count, flags, movement, and angle fields by more than 3°."""
    problems = [] if len(live) == len(offline) else [f"{len(live)} reps live, {len(offline)} offline"]
    for a, b in zip(live, offline):
        if a.flags != b.flags:
            problems.append(f"rep {b.index}: flags {a.flags} live, {b.flags} offline")
        if a.movement != b.movement:
            problems.append(f"rep {b.index}: {a.movement} live, {b.movement} offline")
        for name in ANGLE_FIELDS:
            x, y = getattr(a, name), getattr(b, name)
            if (x is None) != (y is None) or (x is not None and abs(x - y) > 3.0):
                problems.append(f"rep {b.index}: {name} {x} live, {y} offline")
    return problems


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_live_and_offline_agree_rep_by_rep(family):
    sim = simulate_family(family, seed=1)
    assert agree(replay(sim.recording).reps, analyze(sim.recording).reps) == []


def test_a_rep_is_final_once_the_next_descent_is_certain_or_soon_after_its_end():
    sim = simulate_family("incomplete_lockout", seed=2)
    live = LiveAnalyzer()
    emitted: list[tuple[float, Rep]] = []
    for chunk in replay_chunks(sim.recording, chunk_s=REPLAY_CHUNK_S):
        live.push(chunk)
        now_s = live.state().time_s
        emitted += [(now_s, rep) for rep in live.update()]
    assert [r.index for _, r in emitted] == list(range(1, len(emitted) + 1))
    offline = analyze(sim.recording).reps
    assert len(emitted) >= len(offline) - 1  # the last may wait for the end of the set
    segmenter = live.options.segmenter
    for k, (when_s, rep) in enumerate(emitted):
        # due final_after_s after its end, or once the next rep's bottom is in; found alike by two analyses
        following = emitted[k + 1][1].bottom_s if k + 1 < len(emitted) else -np.inf
        due_s = max(rep.end_s + segmenter.final_after_s, following)
        assert when_s <= due_s + 2 * live.reanalyze_every_s + REPLAY_CHUNK_S
    flagged = [k for k, (_, r) in enumerate(emitted) if "incomplete_lockout" in r.flags]
    assert flagged, "the family's incomplete lockouts are reported live"
    for k in flagged[:-1] if flagged[-1] == len(emitted) - 1 else flagged:
        # as soon as the next descent is certain, not once the next rep is found (about 1.5 s past its bottom)
        assert emitted[k][0] <= emitted[k + 1][1].bottom_s + 0.5, (emitted[k][1].index, emitted[k][0])


def test_top_pause_live_is_offline_s_once_the_next_descent_is_certain_and_null_while_the_pause_goes_on():
    # pauses at the top shorter and longer than final_after_s, and one longer than a set's rest (a new set)
    plan = FAMILIES["rdl_clean"](np.random.default_rng(5))
    pauses_s = (0.8, 3.5, 1.2, 14.0, 2.5, 6.0, 1.0, 4.5, 0.6, 8.0)
    blocks = tuple(SetPlan(tuple(replace(r, top_pause_s=p) for r, p in zip(b.reps, pauses_s)))
                   if isinstance(b, SetPlan) else b for b in plan.blocks)
    recording = simulate(replace(plan, blocks=blocks), seed=5).recording
    live = LiveAnalyzer(metadata=recording.metadata)
    emitted: list[tuple[float, Rep]] = []
    for chunk in replay_chunks(recording, chunk_s=REPLAY_CHUNK_S):
        live.push(chunk)
        now_s = live.state().time_s
        emitted += [(now_s, rep) for rep in live.update()]
    emitted += [(np.inf, rep) for rep in live.update(final=True)]
    offline = analyze(recording).reps
    assert len(emitted) == len(offline) > 5
    null_while_pausing = 0
    for k, ((when_s, rep), expected) in enumerate(zip(emitted, offline)):
        if expected.top_pause_s is None:  # the set's last rep
            assert rep.top_pause_s is None, rep.index
            continue
        following = offline[k + 1]
        if rep.top_pause_s is None:  # final on a held lockout, before the next descent was certain
            assert when_s < following.bottom_s, (rep.index, when_s)
            null_while_pausing += 1
        else:  # the pause up to the next rep's start, as offline (never known before that start)
            assert when_s > following.start_s, (rep.index, when_s)
            assert abs(rep.end_s + rep.top_pause_s - following.start_s) <= 0.1, (rep.index, rep.top_pause_s)
    assert null_while_pausing, "the long pauses make reps final while the pause goes on"


def test_final_rule_a_held_lockout_is_final_and_a_short_one_waits_for_the_next_rep():
    segmenter, rate_hz = RepSegmenter(), 100.0
    hold = int(segmenter.final_after_s * rate_hz)
    rep = RepBounds(start=100, bottom=200, end=300, plateau=(200, 200), partial=False)
    # a complete lockout; one short of incomplete_lockout_deg; a sensor knocked askew (no lockout either)
    for top_deg, final in ((2.0, 1), (20.0, 0), (-15.0, 0)):
        descent = np.concatenate([np.zeros(100), np.linspace(0, 60, 100), np.linspace(60, top_deg, 100)])
        smooth = np.concatenate([descent, np.full(hold + 1, top_deg)])
        assert segmenter.descent_start(smooth, after=rep.end, rate_hz=rate_hz) is None
        assert segmenter.final_count([rep], smooth, descent=None, rate_hz=rate_hz, lockout_deg=12.0) == final
        too_soon = smooth[:-1]
        assert segmenter.final_count([rep], too_soon, descent=None, rate_hz=rate_hz, lockout_deg=12.0) == 0
    # a next descent under way within final_after_s: it waits while the descent may be a fidget, and is final
    # once the descent is certain (it then stands for the next rep's start) or the next rep is found
    for rise_deg, final in ((10.0, 0), (30.0, 1)):
        smooth = np.concatenate([np.zeros(100), np.linspace(0, 60, 100), np.linspace(60, 0, 100),
                                 np.zeros(hold // 2), np.linspace(0, rise_deg, 50), np.full(hold, rise_deg)])
        start = segmenter.descent_start(smooth, after=rep.end, rate_hz=rate_hz)
        assert segmenter.final_count([rep], smooth, descent=start, rate_hz=rate_hz, lockout_deg=12.0) == final
        assert (start is not None) == bool(final)
        assert start is None or 300 + hold // 2 - 5 <= start <= 300 + hold // 2 + 20
    nxt = RepBounds(start=300 + hold // 2, bottom=300 + hold, end=300 + hold + 50, plateau=(0, 0), partial=False)
    smooth = np.concatenate([smooth, np.linspace(30, 0, 60), np.zeros(30)])
    assert segmenter.final_count([rep, nxt], smooth, descent=None, rate_hz=rate_hz, lockout_deg=12.0) == 1


def test_state_before_and_after_calibration_and_the_display_angle():
    sim = simulate_family("rdl_clean", seed=3)
    live = LiveAnalyzer()
    back = sim.recording.sensors["back"]
    live.push(Chunk("back", back.time_s[:10], back.acc_mps2[:10], back.gyr_radps[:10]))
    live.update()
    state = live.state()
    assert not state.calibrated and "stand still" in state.status and state.trunk_angle_deg is None
    for chunk in replay_chunks(sim.recording, chunk_s=REPLAY_CHUNK_S):
        live.push(chunk)
        live.update()
    state = live.state()
    assert state.calibrated and state.rep_count >= len(analyze(sim.recording).reps) - 1  # the last may be pending
    assert abs(state.trunk_angle_deg) < 5.0  # standing at the end
    assert json.loads(json.dumps(state.as_json()))["last_rep"]["index"] == state.rep_count


def test_a_sensor_that_drops_out_mid_set_shows_no_angle_and_the_reps_go_on():
    sim = simulate_family("sensor_missing_set", seed=1)
    live = LiveAnalyzer()
    shown = []
    for chunk in replay_chunks(sim.recording, chunk_s=REPLAY_CHUNK_S):
        live.push(chunk)
        live.update()
        state = live.state()
        shown.append((state.trunk_angle_deg is None, state.pelvis_angle_deg is None, state.rep_count))
    assert (True, False) in {s[:2] for s in shown[len(shown) // 10:]}, "the back's angle leaves the screen"
    dropped_at = next(k for k, s in enumerate(shown) if k > len(shown) // 10 and s[:2] == (True, False))
    assert shown[-1][2] > shown[dropped_at][2], "reps are still counted on the pelvis"


def test_memory_is_bounded_by_the_window():
    sim = simulate_family("walking_sets", seed=3)
    live = LiveAnalyzer(max_window_s=30.0)
    for chunk in replay_chunks(sim.recording, chunk_s=REPLAY_CHUNK_S):
        live.push(chunk)
        live.update()
    window = live._window()  # noqa: SLF001 - the bound is the point of this test
    assert window is not None
    assert max(s.duration_s for s in window.sensors.values()) <= 30.0 + REPLAY_CHUNK_S
    # reps found before the window moved on stay, in order, never twice (a 30 s window sees fewer of them: its
    # calibration has no quiet start to rest on, and reps wait while it is uncertain)
    assert len(live.reps) >= 10
    assert all(a.end_s <= b.bottom_s for a, b in zip(live.reps, live.reps[1:]))


def test_cli_live_prints_the_same_report_format_with_the_live_reps(tmp_path: Path):
    sim = simulate_family("lean_back", seed=4)
    path = tmp_path / "set.csv"
    write_recording(sim.recording, path)
    out = subprocess.run([sys.executable, "-m", "hinge", "analyze", str(path), "--json", "--live"],
                         capture_output=True, text=True, check=True).stdout
    report = json.loads(out)
    recording = read_recording(path)  # as written (rounded)
    expected = build_report(replay(recording))
    offline = build_report(analyze(recording))
    assert report["format"] == offline["format"] and set(report) == set(offline)
    assert report["reps"] == expected["reps"] and report["summary"] == expected["summary"]
    assert len(report["reps"]) == len(offline["reps"])


def test_a_burst_then_silence_shows_the_reps_final_by_then():
    """A resent buffer or a worker catching up brings many seconds at once and then nothing more: the reps final
    by then are shown at once (an analysis of the samples up to a period earlier confirms them), not only when
    more samples or the end of the set come."""
    sim = simulate_family("rdl_clean", seed=3)
    chunks = list(replay_chunks(sim.recording, chunk_s=REPLAY_CHUNK_S))
    steady = LiveAnalyzer()
    for chunk in chunks:
        steady.push(chunk)
        steady.update()
    burst = LiveAnalyzer()
    for chunk in chunks:
        burst.push(chunk)
    assert burst.update() == [] and burst.confirmable  # no analysis before the burst: none to confirm with
    shown = burst.confirm()
    assert len(steady.reps) >= 5 and len(shown) >= len(steady.reps) - 1
    assert [r.index for r in shown] == list(range(1, len(shown) + 1))
    np.testing.assert_allclose([r.bottom_s for r in shown], [r.bottom_s for r in steady.reps[:len(shown)]], atol=0.1)
    assert not burst.confirmable and burst.confirm() == [] and burst.update() == []  # nothing twice
