"""The display's angles apart from the analysis (:class:`analysis.live.LiveAngles`): fed the chunks and the
calibrations an analysis sends back (pickled, as through a worker's pipe), they show what the analyzer that runs
the analysis in-process shows."""

from __future__ import annotations

import pickle

from hinge.analysis.live import REPLAY_CHUNK_S, LiveAnalyzer, LiveAngles, angle_calibrations
from hinge.analysis.recording import replay_chunks
from hinge.analysis.simulate import simulate_family


def test_angles_apart_from_the_analysis_show_what_the_analyzer_shows():
    sim = simulate_family("sensor_missing_set", seed=2)
    analyzer = LiveAnalyzer()
    worker = LiveAnalyzer(show_angles=False)  # the analysis as a worker process runs it
    display = LiveAngles(max_gap_s=analyzer.options.max_interpolated_gap_s)
    compared = calibrated = 0
    for chunk in replay_chunks(sim.recording, chunk_s=REPLAY_CHUNK_S):
        analyzer.push(chunk)
        analyzer.update()
        worker.push(chunk)
        display.push(chunk)
        worker.update()
        if worker.result is not None:
            display.calibrate(pickle.loads(pickle.dumps(angle_calibrations(worker.result))))
        assert display.state(worker.reps) == analyzer.state()
        compared += 1
        calibrated += analyzer.state().trunk_angle_deg is not None
    assert compared > 100 and calibrated > compared // 2
    assert worker.reps == analyzer.reps
