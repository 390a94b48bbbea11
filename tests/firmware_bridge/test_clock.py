"""Clock alignment: offset + drift from arrival times with jitter; frame counting without time stamps."""

import numpy as np

from firmware_bridge.clock import ClockAligner, FrameCounter


def _arrivals(rng, device_s, *, offset_s, drift_ppm, min_latency_s, jitter_s):
    true_host = offset_s + device_s * (1 + drift_ppm * 1e-6)
    return true_host, true_host + min_latency_s + rng.exponential(jitter_s, device_s.shape)


def test_aligner_tracks_offset_and_drift_to_the_minimum_latency():
    rng = np.random.default_rng(1)
    device_s = 50.0 + np.arange(3000) * 0.02  # 50 packets/s for 60 s
    true_host, arrival = _arrivals(rng, device_s, offset_s=1.7e9, drift_ppm=120, min_latency_s=0.003, jitter_s=0.01)
    clock = ClockAligner()
    error = []
    for d, a, t in zip(device_s, arrival, true_host):
        clock.observe(d, a)
        error.append(clock.to_host(np.array([d]))[0] - t - 0.003)
    error = np.abs(np.array(error)[100:])  # after two windows
    assert error.max() < 0.002
    assert abs(clock.drift_ppm - 120) < 10


def test_frame_counter_skips_lost_frames_and_never_invents_them():
    rate = 100.0
    rng = np.random.default_rng(2)
    kept = np.r_[np.arange(0, 300), np.arange(340, 600)]  # 40 frames lost
    arrival = 10.0 + kept / rate + rng.uniform(0, 0.02, kept.size)
    clock, counter = ClockAligner(), FrameCounter(rate)
    device = []
    for a in arrival:
        t = counter.assign(1, a, clock)
        clock.observe(float(t[-1]), a)
        device.append(t[0])
    device = np.array(device)
    assert np.allclose(device[:300], kept[:300] / rate)
    assert abs(round((device[300] - device[299]) * rate) - 41) <= 2  # the jitter blurs the count by a frame or two
    assert counter.lost_frames == round((device[300] - device[299]) * rate) - 1
    assert np.allclose(np.diff(device[300:]), 1 / rate)
