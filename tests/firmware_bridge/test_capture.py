"""End to end through the real ``bleak.BleakClient`` API: emulated wearables on Bumble's virtual link."""

from __future__ import annotations

import asyncio
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from bleak import BleakClient
from bleak.exc import BleakDeviceNotFoundError

from hinge.analysis.recording_format import read_recording
from hinge.analysis.simulate import simulate_preset
from hinge.firmware_bridge.clock import host_time_s
from hinge.firmware_bridge.devices import hinge_imu
from hinge.firmware_bridge.devices.base import STANDARD_GRAVITY_MPS2
from hinge.firmware_bridge.emulators import (
    EmulatedWearable,
    HingeImuEmulator,
    MovesenseEmulator,
    WitMotionEmulator,
    record_emulated,
    stream_at_rate,
)
from hinge.firmware_bridge.errors import DeviceError
from hinge.firmware_bridge.virtual_radio import VirtualRadio

ROOT = Path(__file__).resolve().parents[2]
BACK, HIP = "F0:00:00:00:00:01", "F0:00:00:00:00:02"
# half a count of the capture ranges (±8 g, ±2000 °/s) plus the CSV's decimals
HINGE_ACC_TOL = 8 * STANDARD_GRAVITY_MPS2 / 32768 / 2 + 1e-5
HINGE_GYR_TOL = math.radians(2000) / 32768 / 2 + 1e-6


@pytest.fixture(scope="module")
def motion():
    """The simulator's clean preset, starting inside the first set."""
    return simulate_preset("clean", seed=4).recording


async def _until(condition, timeout_s: float = 60.0) -> None:
    """Wait until ``condition()`` holds; fail (not hang) if it never does."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


def _delivered(emulator: EmulatedWearable) -> int:
    return emulator.truth()[0].size


def _assert_matches_truth(recording, sensor, emulator, *, acc_tol, gyr_tol, time_tol_s=0.005):
    """Every delivered sample is in the file once, in order, with its value and its measurement time."""
    index, measured_s = emulator.truth()
    stream = recording.sensors[sensor]
    assert stream.sample_count == index.size
    assert np.abs(stream.acc_mps2 - emulator.stream.acc_mps2[index]).max() <= acc_tol
    assert np.abs(stream.gyr_radps - emulator.stream.gyr_radps[index]).max() <= gyr_tol
    assert np.abs(stream.time_s - measured_s).max() < time_tol_s


def test_two_sensors_at_200_hz_hold_every_sample_aligned(tmp_path, motion):
    emulators = {
        "back": HingeImuEmulator(stream_at_rate(motion.sensors["back"], 200, start_s=4), name="HNG-back",
                                 address=BACK, drift_ppm=80, jitter_s=0.008, seed=1),
        "hip": HingeImuEmulator(stream_at_rate(motion.sensors["hip"], 200, start_s=4), name="HNG-hip",
                                address=HIP, drift_ppm=-60, jitter_s=0.008, seed=2)}

    async def scenario(emus):
        await _until(lambda: all(_delivered(e) >= 400 for e in emus.values()))
        await emus["hip"].set_battery(64)
        await _until(lambda: all(_delivered(e) >= 800 for e in emus.values()))  # 4 s each

    recorder = asyncio.run(record_emulated(tmp_path / "set.csv", emulators, rate_hz=200, scenario=scenario))
    recording = read_recording(tmp_path / "set.csv")
    assert set(recording.sensors) == {"back", "hip"}
    for sensor, emulator in emulators.items():
        _assert_matches_truth(recording, sensor, emulator, acc_tol=HINGE_ACC_TOL, gyr_tol=HINGE_GYR_TOL)
    assert recording.metadata["gaps"] == ""
    assert all(link.status.lost_packets == 0 and link.status.reconnects == 0 for link in recorder.links)
    assert [link.status.battery_percent for link in recorder.links] == [87, 64]  # read, then notified
    assert all(link.status.round_trip_ms > 0 for link in recorder.links)  # time-sync pings answered
    assert "reconnects 0, battery 87%, round trip" in recorder.links[0].status.line()


def test_packet_loss_and_a_dropped_link_become_recorded_gaps_with_nothing_else_lost(tmp_path, motion):
    emulators = {
        "back": HingeImuEmulator(stream_at_rate(motion.sensors["back"], 200, start_s=4), name="HNG-back",
                                 address=BACK, loss_probability=0.05, seed=3),
        "hip": HingeImuEmulator(stream_at_rate(motion.sensors["hip"], 200, start_s=4), name="HNG-hip",
                                address=HIP, seed=4)}
    before_drop = {}

    async def scenario(emus):
        await _until(lambda: _delivered(emus["hip"]) >= 300)
        await emus["hip"].drop_link(away_s=0.6)
        before_drop["hip"] = emus["hip"].truth()[1][-1]
        await _until(lambda: _delivered(emus["hip"]) >= 300 + 400)

    recorder = asyncio.run(record_emulated(tmp_path / "set.csv", emulators, rate_hz=200, scenario=scenario))
    recording = read_recording(tmp_path / "set.csv")
    for sensor, emulator in emulators.items():
        _assert_matches_truth(recording, sensor, emulator, acc_tol=HINGE_ACC_TOL, gyr_tol=HINGE_GYR_TOL)
    back, hip = (next(link for link in recorder.links if link.sensor == s) for s in ("back", "hip"))
    assert emulators["back"].dropped_packets > 0
    assert back.status.lost_packets == emulators["back"].dropped_packets  # counted from sequence numbers
    assert back.status.reconnects == 0 and hip.status.reconnects == 1
    sensor, start_s, end_s = recording.metadata["gaps"].split()
    assert sensor == "hip"
    assert float(start_s) == pytest.approx(before_drop["hip"], abs=0.005)
    hip_time = recording.sensors["hip"].time_s
    assert float(end_s) == pytest.approx(hip_time[np.searchsorted(hip_time, float(start_s), side="right")])
    assert float(end_s) - float(start_s) >= 0.6


@pytest.mark.parametrize("emulator_type, rate_hz, acc_tol, gyr_tol", [
    (WitMotionEmulator, 100, 16 * STANDARD_GRAVITY_MPS2 / 32768 / 2 + 1e-5, math.radians(2000) / 32768 / 2 + 1e-6),
    (MovesenseEmulator, 104, 1e-4, 1e-5),  # float32 on the air
])
def test_witmotion_and_movesense_decode_to_the_simulated_values(tmp_path, motion, emulator_type, rate_hz,
                                                                  acc_tol, gyr_tol):
    emulator = emulator_type(stream_at_rate(motion.sensors["hip"], rate_hz, start_s=4), name="WT901BLE68",
                             address=HIP, drift_ppm=40, seed=5)

    async def scenario(emus):
        await _until(lambda: _delivered(emus["hip"]) >= 3 * rate_hz)

    asyncio.run(record_emulated(tmp_path / "set.csv", {"hip": emulator}, rate_hz=rate_hz, scenario=scenario))
    _assert_matches_truth(read_recording(tmp_path / "set.csv"), "hip", emulator, acc_tol=acc_tol, gyr_tol=gyr_tol)


@pytest.mark.parametrize("rate_hz, parts_per_batch", [(104, 2), (208, 3)])
def test_movesense_split_batches_at_the_real_mtu_lose_nothing(tmp_path, motion, rate_hz, parts_per_batch):
    """The firmware's MTU (161): batches of 8 or 16 samples leave as 158-byte DATA + DATA_PART2 (+ PART3)."""
    emulator = MovesenseEmulator(stream_at_rate(motion.sensors["back"], rate_hz, start_s=4), name="Movesense 1",
                                 address=BACK, drift_ppm=-30, seed=6)

    async def scenario(emus):
        await _until(lambda: _delivered(emus["back"]) >= 4 * rate_hz)
        assert all(c.att_mtu == 161 for c in emus["back"].device.connections.values())

    recorder = asyncio.run(record_emulated(tmp_path / "ms.csv", {"back": emulator}, rate_hz=rate_hz,
                                           scenario=scenario))
    batches = _delivered(emulator) // round(rate_hz / 13)
    assert emulator.notifications_sent == parts_per_batch * batches
    assert recorder.links[0].status.lost_packets == 0
    _assert_matches_truth(read_recording(tmp_path / "ms.csv"), "back", emulator, acc_tol=1e-4, gyr_tol=1e-5)


def test_connecting_to_an_address_nobody_advertises_times_out(motion):
    async def attempt():
        radio = VirtualRadio()
        emulator = HingeImuEmulator(stream_at_rate(motion.sensors["back"], 100), name="HNG-back", address=BACK)
        await emulator.attach(radio.new_device(emulator.name, emulator.address))
        with pytest.raises(BleakDeviceNotFoundError):
            async with BleakClient("F0:00:00:00:00:0A", backend=radio.client_backend, timeout=0.5):
                pass
        async with BleakClient(BACK, backend=radio.client_backend, timeout=2) as client:  # the radio still works
            assert client.mtu_size == 247
        await emulator.close()

    asyncio.run(attempt())


def test_hinge_imu_control_ping_echo_and_refusal(motion):
    async def exchange():
        radio = VirtualRadio()
        emulator = HingeImuEmulator(stream_at_rate(motion.sensors["back"], 100), name="HNG-back", address=BACK)
        await emulator.attach(radio.new_device(emulator.name, emulator.address))
        async with BleakClient(BACK, backend=radio.client_backend, timeout=2) as client:
            session = hinge_imu.HingeImuSession(client, lambda data: None)
            info = await session.start(rate_hz=100)
            assert (info.rate_hz, info.acc_range_g, info.gyr_range_dps) == (100, 8, 2000)
            sent_s = host_time_s()
            device_us = await session.ping(0xDEADBEEF)
            received_s = host_time_s()
            assert emulator.device_time_s(sent_s) - 1e-6 <= device_us * 1e-6 <= emulator.device_time_s(received_s)
            with pytest.raises(DeviceError, match="refused command 0x03: not allowed while streaming"):
                await session.command(hinge_imu.CMD_SET_RATE, 50)
        await emulator.close()

    asyncio.run(exchange())


def _run_cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "hinge", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for_rows(path: Path, rows: int, process: subprocess.Popen, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not (path.exists() and path.read_bytes().count(b"\n") > rows + 10):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the recorder wrote nothing"
        time.sleep(0.1)


def test_a_killed_recorder_leaves_a_valid_file(tmp_path):
    path = tmp_path / "killed.csv"
    process = _run_cli("record", "--virtual", "clean", "--rate", "100", "--duration", "120", "-o", str(path))
    _wait_for_rows(path, 400, process)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate()
    recording = read_recording(path)
    assert set(recording.sensors) == {"back", "hip"}
    assert recording.metadata["back_device"] == BACK and recording.metadata["gaps"] == ""
    assert sum(s.sample_count for s in recording.sensors.values()) >= 400


def test_ctrl_c_finishes_the_file_cleanly(tmp_path):
    path = tmp_path / "interrupted.csv"
    process = _run_cli("record", "--virtual", "clean", "--rate", "100", "--duration", "120", "-o", str(path))
    _wait_for_rows(path, 200, process)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert f"wrote {path}" in stdout
    recording = read_recording(path)
    assert set(recording.sensors) == {"back", "hip"}
