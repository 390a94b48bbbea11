"""Benchmarks of live capture: pipeline throughput, clock alignment under drift and jitter, loss at 2 × 400 Hz.

Run: ``.venv/bin/python bench/ble_capture.py [--seconds 20]``. Emulated wearables play the simulator's ``clean``
preset over Bumble's in-process virtual link and are recorded through the real ``bleak.BleakClient`` API; the
alignment error is recorded time minus the time the emulated IMU measured each sample.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hinge.analysis.recording_format import RecordingWriter, read_recording
from hinge.analysis.simulate import simulate_preset
from hinge.firmware_bridge.devices import hinge_imu
from hinge.firmware_bridge.emulators import (
    EmulatedWearable,
    HingeImuEmulator,
    MovesenseEmulator,
    WitMotionEmulator,
    record_emulated,
    stream_at_rate,
)
from hinge.firmware_bridge.recorder import AlignedStream


def throughput(seconds_of_data: float, rate_hz: float = 400.0) -> float:
    """Samples/s through decode + clock alignment + CSV formatting + write/fsync for two hinge-imu streams."""
    per_packet = 8
    packets = int(seconds_of_data * rate_hz / per_packet)
    rng = np.random.default_rng(0)
    counts = rng.integers(-20000, 20000, (packets, per_packet, 6)).astype(np.int16)
    data = [hinge_imu.encode_data(i, round(i * per_packet / rate_hz * 1e6), round(1e6 / rate_hz), counts[i])
            for i in range(packets)]
    arrival = 1.7e9 + np.arange(packets) * per_packet / rate_hz + rng.uniform(0, 0.01, packets)
    with tempfile.TemporaryDirectory() as folder:
        writer = RecordingWriter(Path(folder) / "t.csv", {})
        start = time.perf_counter()
        for sensor in ("back", "hip"):
            decoder = hinge_imu.Decoder(acc_range_g=8, gyr_range_dps=2000)
            aligned = AlignedStream(sensor, decoder.decode, rate_hz, settle_s=0.5)
            for i, packet in enumerate(data):
                aligned.push(arrival[i], packet)
                if i % 25 == 0:
                    for chunk in aligned.ready(arrival[i]):
                        writer.append(chunk)
                if i % 100 == 0:
                    writer.flush()
            for chunk in aligned.ready(None):
                writer.append(chunk)
        writer.close()
        elapsed = time.perf_counter() - start
    return 2 * packets * per_packet / elapsed


def live(kind: str, rate_hz: float, seconds: float, *, drift_ppm: float, jitter_s: float, motion) -> list[dict]:
    """Record two emulated ``kind`` wearables; per sensor: delivered, recorded, lost, alignment errors."""
    emulator_type: Callable[..., EmulatedWearable] = {
        "hinge-imu": HingeImuEmulator, "witmotion": WitMotionEmulator, "movesense": MovesenseEmulator}[kind]
    emulators = {sensor: emulator_type(stream_at_rate(motion.sensors[sensor], rate_hz), name=f"{kind}-{sensor}",
                                       address=address, drift_ppm=sign * drift_ppm, jitter_s=jitter_s, seed=i)
                 for i, (sensor, address, sign) in enumerate([("back", "F0:00:00:00:00:01", 1),
                                                              ("hip", "F0:00:00:00:00:02", -1)])}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "live.csv"
        recorder = asyncio.run(record_emulated(path, emulators, rate_hz=rate_hz,
                                               scenario=lambda _: asyncio.sleep(seconds)))
        recording = read_recording(path)
    rows = []
    for sensor, emulator in emulators.items():
        _, measured_s = emulator.truth()
        recorded = recording.sensors[sensor].time_s
        status = next(link.status for link in recorder.links if link.sensor == sensor)
        row = {"case": f"{kind} {sensor} {rate_hz:g} Hz, drift {sign_text(emulator.drift)}, "
                       f"jitter {jitter_s * 1e3:g} ms",
               "delivered": measured_s.size, "recorded": recorded.size,
               "lost": measured_s.size - recorded.size + status.lost_packets}
        if recorded.size == measured_s.size:
            error_ms = np.abs(recorded - measured_s) * 1e3
            row.update(median_ms=np.median(error_ms), p99_ms=np.percentile(error_ms, 99), max_ms=error_ms.max())
        rows.append(row)
    return rows


def sign_text(drift: float) -> str:
    return f"{drift * 1e6:+g} ppm"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each live case (default 20)")
    args = parser.parse_args()
    motion = simulate_preset("clean", seed=7).recording
    print(f"pipeline throughput (decode + align + write, 2 × 400 Hz hinge-imu packets): "
          f"{throughput(120.0):,.0f} samples/s")
    rows = (live("hinge-imu", 200, args.seconds, drift_ppm=100, jitter_s=0.015, motion=motion)
            + live("witmotion", 100, args.seconds, drift_ppm=100, jitter_s=0.015, motion=motion)
            + live("movesense", 104, args.seconds, drift_ppm=100, jitter_s=0.015, motion=motion)
            + live("hinge-imu", 400, args.seconds, drift_ppm=50, jitter_s=0.0075, motion=motion))
    print(f"{'case':58} {'delivered':>9} {'recorded':>8} {'lost':>5} {'median ms':>9} {'p99 ms':>7} {'max ms':>7}")
    for r in rows:
        errors = (f"{r['median_ms']:9.2f} {r['p99_ms']:7.2f} {r['max_ms']:7.2f}" if "max_ms" in r
                  else f"{'-':>9} {'-':>7} {'-':>7}")
        print(f"{r['case']:58} {r['delivered']:9d} {r['recorded']:8d} {r['lost']:5d} {errors}")


if __name__ == "__main__":
    main()
