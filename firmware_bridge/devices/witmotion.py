"""WitMotion WT901BLECL / BWT901BLECL (BLE 5.0) IMUs.

Source: WitMotion "WT901BLECL datasheet" (§6 communication protocol, v20-0707) and the vendor's
"Bluetooth 5.0 communication protocol" page. Service ``FFE5``; the module notifies on ``FFE4`` and takes
commands on ``FFE9``. Default data frame, 20 bytes: ``0x55 0x61`` then nine little-endian int16 —
acceleration x y z (``/32768 * 16 g``), angular rate x y z (``/32768 * 2000 °/s``), angle roll pitch yaw
(``/32768 * 180°``, not used: hinge estimates orientation itself). Output rate: ``FF AA 03 <code> 00``.
Frames carry no time stamp and no sequence number: :class:`firmware_bridge.clock.FrameCounter` de-jitters
their arrival times and infers losses from late arrivals.
"""

from __future__ import annotations

import math
import struct

import numpy as np
from bleak.exc import BleakError

from ..errors import DeviceError, ProtocolError
from .base import STANDARD_GRAVITY_MPS2, Batch, DeviceSession, StreamInfo, nearest_rate

SERVICE_UUID = "0000ffe5-0000-1000-8000-00805f9a34fb"
NOTIFY_UUID = "0000ffe4-0000-1000-8000-00805f9a34fb"
WRITE_UUID = "0000ffe9-0000-1000-8000-00805f9a34fb"

FRAME_SIZE = 20
FRAME_HEADER = b"\x55\x61"
ACC_RANGE_G = 16.0
GYR_RANGE_DPS = 2000.0
RATE_CODES = {10.0: 0x06, 20.0: 0x07, 50.0: 0x08, 100.0: 0x09, 200.0: 0x0B}  # register RRATE (0x03)
_FRAME = struct.Struct("<2s9h")


def rate_command(rate_hz: float) -> bytes:
    """``FF AA 03 <code> 00`` for one of :data:`RATE_CODES`."""
    return bytes([0xFF, 0xAA, 0x03, RATE_CODES[rate_hz], 0x00])


def rate_from_command(data: bytes) -> float | None:
    """The rate a ``FF AA 03 <code> 00`` command sets, None for any other command."""
    if len(data) == 5 and data[:3] == b"\xff\xaa\x03":
        return next((rate for rate, code in RATE_CODES.items() if code == data[3]), None)
    return None


def encode_frame(acc_mps2: np.ndarray, gyr_radps: np.ndarray, angle_deg: np.ndarray) -> bytes:
    """One 20-byte ``0x55 0x61`` frame from (3,) acc m/s², gyr rad/s and angles in degrees."""
    acc = np.asarray(acc_mps2) / (ACC_RANGE_G * STANDARD_GRAVITY_MPS2) * 32768.0
    gyr = np.degrees(gyr_radps) / GYR_RANGE_DPS * 32768.0
    ang = np.asarray(angle_deg) / 180.0 * 32768.0
    counts = np.clip(np.rint(np.concatenate([acc, gyr, ang])), -32768, 32767).astype(int)
    return _FRAME.pack(FRAME_HEADER, *counts.tolist())


def decode_frames(data: bytes) -> Batch:
    """Decode one notification holding one or more 20-byte frames; frames other than 0x61 are skipped."""
    if len(data) % FRAME_SIZE or not data:
        raise ProtocolError(f"WitMotion notification of {len(data)} bytes is not a whole number of 20-byte frames: "
                            f"{bytes(data[:20]).hex()}")
    rows = []
    for start in range(0, len(data), FRAME_SIZE):
        frame = bytes(data[start:start + FRAME_SIZE])
        if frame[0] != 0x55:
            raise ProtocolError(f"WitMotion frame does not start with 0x55: {frame.hex()}")
        if frame[:2] == FRAME_HEADER:
            rows.append(_FRAME.unpack(frame)[1:7])
    counts = np.array(rows, dtype=np.float64).reshape(-1, 6)
    acc = counts[:, :3] * (ACC_RANGE_G * STANDARD_GRAVITY_MPS2 / 32768.0)
    gyr = counts[:, 3:] * (math.radians(GYR_RANGE_DPS) / 32768.0)
    return Batch(None, acc, gyr)


class WitMotionSession(DeviceSession):
    KIND = "witmotion"
    SERVICE_UUID = SERVICE_UUID

    @classmethod
    def matches_advertisement(cls, name: str | None, service_uuids: list[str]) -> bool:
        return SERVICE_UUID in service_uuids or bool(name and name.startswith("WT"))

    async def start(self, *, rate_hz: float) -> StreamInfo:
        rate = nearest_rate(rate_hz, tuple(RATE_CODES))
        try:
            await self.client.write_gatt_char(WRITE_UUID, rate_command(rate), response=True)
            await self.client.start_notify(NOTIFY_UUID, lambda _, data: self.on_packet(data))
        except BleakError as error:
            raise DeviceError(f"WitMotion: starting the stream failed: {error}") from None
        return StreamInfo(rate, ACC_RANGE_G, GYR_RANGE_DPS, "WitMotion")

    def decode(self, data: bytes) -> Batch:
        return decode_frames(data)
