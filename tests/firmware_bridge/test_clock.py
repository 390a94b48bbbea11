"""Clock alignment: offset + drift from arrival times with jitter; frame counting without time stamps."""

import numpy as np

from hinge.firmware_bridge.clock import ClockAligner, FrameCounter


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
    assert error.max() < 0.001
    assert abs(clock.drift_ppm - 120) < 10


def _count_frames(arrival, rate):
    clock, counter = ClockAligner(), FrameCounter(rate)
    device = []
    for a in arrival:
        for _, t, arrived in counter.feed(None, 1, a, clock):
            clock.observe(float(t[-1]), arrived)
            device.append(t[0])
    device.extend(t[0] for _, t, _ in counter.flush())
    return np.array(device), counter


def test_frame_counter_skips_lost_frames_and_never_invents_them():
    rate = 100.0
    rng = np.random.default_rng(2)
    kept = np.r_[np.arange(0, 300), np.arange(340, 600)]  # 40 frames lost at the source
    device, counter = _count_frames(10.0 + kept / rate + rng.uniform(0, 0.02, kept.size), rate)
    assert device.size == kept.size
    assert np.allclose(device[:300], kept[:300] / rate)
    assert abs(counter.lost_frames - 40) <= 1  # the jitter blurs the count by at most a frame
    assert np.allclose(np.diff(device[300:]), 1 / rate)


def test_frame_counter_forgives_a_stalled_link_that_delivers_a_backlog():
    rate = 100.0
    frames = np.arange(600)
    arrival = 10.0 + frames / rate + 0.002
    arrival[300:330] = arrival[330]  # 0.3 s stall, then everything arrives at once
    device, counter = _count_frames(arrival, rate)
    assert counter.lost_frames == 0
    assert np.allclose(device, frames / rate)


def test_a_window_that_was_late_throughout_does_not_tilt_the_line():
    """While connecting, a whole first window can arrive late; it must not turn into a drift estimate."""
    device_s = 20.0 + np.arange(0, 20, 8 / 104)  # Movesense-like: 13 packets/s
    latency_s = np.where(device_s < 21.0, 0.010, 0.0005)
    clock = ClockAligner()
    error = []
    for d, lat in zip(device_s, latency_s):
        clock.observe(d, 1000.0 + d + lat)
        error.append(clock.to_host(np.array([d]))[0] - (1000.0 + d))
    error = np.abs(np.array(error))[device_s >= 21.0]
    assert error.max() < 0.001
