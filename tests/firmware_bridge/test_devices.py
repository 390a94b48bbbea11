"""Decoders of the three device protocols: round trips, losses, wrap-around, malformed packets."""

import math
import struct

import numpy as np
import pytest

from hinge.firmware_bridge.devices import hinge_imu, movesense, witmotion
from hinge.firmware_bridge.devices.base import STANDARD_GRAVITY_MPS2
from hinge.firmware_bridge.errors import ProtocolError


def _motion(n, seed=0):
    rng = np.random.default_rng(seed)
    acc = rng.uniform(-30, 30, (n, 3))
    gyr = rng.uniform(-10, 10, (n, 3))
    return acc, gyr


def test_hinge_imu_round_trip_within_one_count():
    acc, gyr = _motion(5)
    counts = hinge_imu.to_counts(acc, gyr, acc_range_g=8, gyr_range_dps=2000)
    packet = hinge_imu.encode_data(7, 1_000_000, 5000, counts)
    assert len(packet) == 9 + 5 * 12
    batch = hinge_imu.Decoder(acc_range_g=8, gyr_range_dps=2000).decode(packet)
    assert np.allclose(batch.device_time_s, 1.0 + 0.005 * np.arange(5))
    assert np.abs(batch.acc_mps2 - acc).max() <= 8 * STANDARD_GRAVITY_MPS2 / 32768
    assert np.abs(batch.gyr_radps - gyr).max() <= math.radians(2000) / 32768
    assert batch.lost_packets == 0


def test_hinge_imu_counts_lost_packets_across_sequence_wrap_and_unwraps_time():
    decoder = hinge_imu.Decoder(acc_range_g=8, gyr_range_dps=2000)
    one = np.zeros((1, 6), np.int16)
    decoder.decode(hinge_imu.encode_data(65534, 2**32 - 1000, 5000, one))
    batch = decoder.decode(hinge_imu.encode_data(2, 4000, 5000, one))  # 65535, 0, 1 missing; clock wrapped
    assert batch.lost_packets == 3
    assert batch.device_time_s[0] == pytest.approx((2**32 + 4000) * 1e-6)


def test_hinge_imu_rejects_a_truncated_packet_naming_its_size():
    packet = hinge_imu.encode_data(0, 0, 5000, np.zeros((3, 6), np.int16))
    with pytest.raises(ProtocolError, match="says 3 samples .* has 40 bytes"):
        hinge_imu.Decoder(acc_range_g=8, gyr_range_dps=2000).decode(packet[:40])


def test_hinge_imu_info_and_commands_round_trip():
    info = hinge_imu.Info(16, 2000, 208.0, True, "1.2.0")
    assert hinge_imu.decode_info(hinge_imu.encode_info(info)) == info
    assert hinge_imu.decode_command(hinge_imu.encode_command(hinge_imu.CMD_SET_RANGE, 8, 1000)) == (
        hinge_imu.CMD_SET_RANGE, (8, 1000))
    assert hinge_imu.decode_command(b"\x03\x01") == (hinge_imu.CMD_SET_RATE, ())  # short: no arguments


def test_witmotion_frame_matches_the_datasheet_scaling():
    # ax = 0x0800 = 2048 counts = 1 g; wz = 0x0400 = 1024 counts = 62.5 °/s; angles ignored
    frame = bytes.fromhex("5561" "0008" "0000" "0000" "0000" "0000" "0004" "0010" "0000" "0000")
    batch = witmotion.decode_frames(frame)
    assert batch.device_time_s is None
    assert batch.acc_mps2[0] == pytest.approx([STANDARD_GRAVITY_MPS2, 0, 0])
    assert batch.gyr_radps[0] == pytest.approx([0, 0, math.radians(62.5)])


def test_witmotion_skips_register_replies_and_rejects_partial_frames():
    acc, gyr = _motion(1)
    frame = witmotion.encode_frame(acc[0], gyr[0], np.zeros(3))
    reply = b"\x55\x71" + bytes(18)
    assert witmotion.decode_frames(frame + reply).sample_count == 1
    with pytest.raises(ProtocolError, match="not a whole number of 20-byte frames"):
        witmotion.decode_frames(frame[:15])
    assert witmotion.rate_from_command(witmotion.rate_command(200.0)) == 200.0


def test_movesense_round_trip_and_loss_from_time_stamps():
    acc, gyr = _motion(8)
    decoder = movesense.Decoder(104.0)
    first = decoder.decode(movesense.encode_data(99, 10_000, acc, np.degrees(gyr)))
    assert np.allclose(first.acc_mps2, acc, atol=1e-5) and np.allclose(first.gyr_radps, gyr, atol=1e-6)
    assert first.device_time_s[1] - first.device_time_s[0] == pytest.approx(1 / 104)
    skipped = 10_000 + round(3 * 8 * 1000 / 104)  # two batches missing
    assert decoder.decode(movesense.encode_data(99, skipped, acc, np.degrees(gyr))).lost_packets == 2
    with pytest.raises(ProtocolError, match="not an IMU6 DATA packet"):
        decoder.decode(struct.pack("<BBI", 1, 99, 0))
    assert movesense.parse_subscription(movesense.subscribe_command(104)) == (99, "/Meas/IMU6/104")


@pytest.mark.parametrize("samples, parts", [(6, 1), (8, 2), (16, 3)])
def test_movesense_batches_split_at_the_firmware_mtu_are_joined(samples, parts):
    """At an ATT MTU of 161 the firmware sends 158-byte DATA notifications plus DATA_PART2/3 for the rest."""
    acc, gyr = _motion(samples)
    packet = movesense.encode_data(99, 5_000, acc, np.degrees(gyr))
    notifications = movesense.split_notifications(packet, max_bytes=movesense.MAX_ATT_MTU - 3)
    assert len(notifications) == parts and max(map(len, notifications)) <= 158
    assert [n[0] for n in notifications] == [2, 3, 4][:parts] and all(n[1] == 99 for n in notifications)
    decoder = movesense.Decoder(104.0)
    batches = [decoder.decode(n) for n in notifications]
    assert [b.sample_count for b in batches] == [0] * (parts - 1) + [samples]
    assert np.allclose(batches[-1].acc_mps2, acc, atol=1e-5) and np.allclose(batches[-1].gyr_radps, gyr, atol=1e-6)


def test_movesense_lost_first_part_drops_its_rest_and_the_next_stamp_counts_the_loss():
    acc, gyr = _motion(8)
    decoder = movesense.Decoder(104.0)
    step_ms = 8 * 1000 / 104
    first, second, third = (movesense.split_notifications(
        movesense.encode_data(99, round(10_000 + k * step_ms), acc, np.degrees(gyr)), max_bytes=158)
        for k in range(3))
    assert decoder.decode(first[0]).sample_count == 0 and decoder.decode(first[1]).sample_count == 8
    assert decoder.decode(second[1]).sample_count == 0  # DATA of the second batch lost: its part is dropped
    decoder.decode(third[0])
    batch = decoder.decode(third[1])
    assert (batch.sample_count, batch.lost_packets) == (8, 1)
    with pytest.raises(ProtocolError, match="not an IMU6 DATA packet"):
        decoder.decode(b"\x03")
