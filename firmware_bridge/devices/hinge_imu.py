"""The hinge-imu open GATT profile (``firmware_bridge/PROFILE.md``; reference firmware in ``firmware/``).

Data notification, little-endian: ``u16 seq, u32 t_first_us, u16 interval_us, u8 n`` then ``n`` samples of
six ``i16`` (acc x y z, gyr x y z) in counts of the full-scale ranges the info characteristic reports.
Time stamps are the device's free-running microsecond clock (wraps every 71.6 min; unwrapped here).
"""

from __future__ import annotations

import asyncio
import math
import struct
import time
from dataclasses import dataclass

import numpy as np
from bleak import BleakClient
from bleak.exc import BleakError

from ..errors import DeviceError, ProtocolError
from .base import STANDARD_GRAVITY_MPS2, Batch, DeviceSession, PacketCallback, StreamInfo

SERVICE_UUID = "6b1e0000-7d3c-4f5a-9e21-48c0a1f3b2d4"
DATA_UUID = "6b1e0001-7d3c-4f5a-9e21-48c0a1f3b2d4"
INFO_UUID = "6b1e0002-7d3c-4f5a-9e21-48c0a1f3b2d4"
CONTROL_UUID = "6b1e0003-7d3c-4f5a-9e21-48c0a1f3b2d4"

DATA_HEADER = struct.Struct("<HIHB")
INFO_HEADER = struct.Struct("<BBHIB")
PROTOCOL_VERSION = 1
MAX_SAMPLES_PER_PACKET = 19  # 9 + 19 * 12 = 237 bytes fits an ATT MTU of 247 (244-byte notifications)

CMD_START, CMD_STOP, CMD_SET_RATE, CMD_SET_RANGE, CMD_PING = 0x01, 0x02, 0x03, 0x04, 0x05
REPLY_FLAG = 0x80
# struct layout of each command's arguments
COMMAND_ARGUMENTS = {CMD_START: "", CMD_STOP: "", CMD_SET_RATE: "H", CMD_SET_RANGE: "BH", CMD_PING: "I"}
STATUS_OK, STATUS_BAD_ARGUMENT, STATUS_BUSY, STATUS_UNKNOWN_COMMAND = 0, 1, 2, 3
STATUS_TEXT = {STATUS_BAD_ARGUMENT: "bad argument", STATUS_BUSY: "not allowed while streaming",
               STATUS_UNKNOWN_COMMAND: "unknown command"}

ACC_RANGES_G = (2, 4, 8, 16)
GYR_RANGES_DPS = (125, 250, 500, 1000, 2000)
CAPTURE_ACC_RANGE_G = 8       # lifts stay well inside ±8 g; finer steps than ±16 g
CAPTURE_GYR_RANGE_DPS = 2000  # kettlebell swings pass 500 °/s


@dataclass(frozen=True)
class Info:
    """Content of the info characteristic."""

    acc_range_g: int
    gyr_range_dps: int
    rate_hz: float
    streaming: bool
    firmware: str


def encode_info(info: Info) -> bytes:
    return INFO_HEADER.pack(PROTOCOL_VERSION, info.acc_range_g, info.gyr_range_dps, round(info.rate_hz * 1000),
                            int(info.streaming)) + info.firmware.encode("utf-8")[:20]


def decode_info(data: bytes | bytearray) -> Info:
    if len(data) < INFO_HEADER.size:
        raise ProtocolError(f"hinge-imu info is {len(data)} bytes, expected at least {INFO_HEADER.size}: {data.hex()}")
    version, acc_g, gyr_dps, rate_mhz, streaming = INFO_HEADER.unpack_from(data)
    if version != PROTOCOL_VERSION:
        raise ProtocolError(f"hinge-imu protocol version {version}, this software speaks {PROTOCOL_VERSION}")
    firmware = bytes(data[INFO_HEADER.size:]).decode("utf-8", errors="replace")
    return Info(acc_g, gyr_dps, rate_mhz / 1000.0, bool(streaming), firmware)


def encode_data(seq: int, t_first_us: int, interval_us: int, counts: np.ndarray) -> bytes:
    """``counts``: (n, 6) int16 acc x y z, gyr x y z in full-scale counts."""
    counts = np.asarray(counts, dtype="<i2")
    return DATA_HEADER.pack(seq & 0xFFFF, t_first_us & 0xFFFFFFFF, interval_us, counts.shape[0]) + counts.tobytes()


def to_counts(acc_mps2: np.ndarray, gyr_radps: np.ndarray, *, acc_range_g: float, gyr_range_dps: float) -> np.ndarray:
    """Quantise physical values to (n, 6) int16 full-scale counts (saturating), as the IMU would."""
    acc = acc_mps2 / (acc_range_g * STANDARD_GRAVITY_MPS2) * 32768.0
    gyr = np.degrees(gyr_radps) / gyr_range_dps * 32768.0
    return np.clip(np.rint(np.hstack([acc, gyr])), -32768, 32767).astype(np.int16)


def encode_command(command: int, *arguments: int) -> bytes:
    layout = COMMAND_ARGUMENTS[command]
    return struct.pack("<B" + layout, command, *arguments)


def decode_command(data: bytes) -> tuple[int, tuple[int, ...]]:
    """(command, arguments) of a control write; ``(command, ())`` with unknown commands or short writes."""
    if not data:
        return 0, ()
    layout = COMMAND_ARGUMENTS.get(data[0])
    if layout is None or len(data) != 1 + struct.calcsize("<" + layout):
        return data[0], ()
    return data[0], struct.unpack("<" + layout, bytes(data[1:]))


def encode_reply(command: int, status: int, *, token: int = 0, device_time_us: int = 0) -> bytes:
    if command == CMD_PING and status == STATUS_OK:
        return struct.pack("<BBII", command | REPLY_FLAG, status, token, device_time_us & 0xFFFFFFFF)
    return struct.pack("<BB", command | REPLY_FLAG, status)


class Decoder:
    """Stateful decoder of data notifications: unwraps time stamps and counts missing packets by sequence."""

    def __init__(self, *, acc_range_g: float, gyr_range_dps: float) -> None:
        self.acc_scale = acc_range_g * STANDARD_GRAVITY_MPS2 / 32768.0
        self.gyr_scale = math.radians(gyr_range_dps) / 32768.0
        self._last_seq: int | None = None
        self._last_raw_us = 0
        self._wraps = 0

    def decode(self, data: bytes) -> Batch:
        if len(data) < DATA_HEADER.size:
            raise ProtocolError(f"hinge-imu packet of {len(data)} bytes is shorter than its header: "
                                f"{bytes(data).hex()}")
        seq, t_us, interval_us, n = DATA_HEADER.unpack_from(data)
        if len(data) != DATA_HEADER.size + 12 * n:
            raise ProtocolError(f"hinge-imu packet says {n} samples ({DATA_HEADER.size + 12 * n} bytes) but has "
                                f"{len(data)} bytes: {bytes(data[:16]).hex()}...")
        lost = 0 if self._last_seq is None else (seq - self._last_seq - 1) & 0xFFFF
        if self._last_seq is not None and t_us < self._last_raw_us and self._last_raw_us - t_us > 1 << 31:
            self._wraps += 1
        self._last_seq, self._last_raw_us = seq, t_us
        counts = np.frombuffer(bytes(data), dtype="<i2", offset=DATA_HEADER.size).reshape(n, 6).astype(np.float64)
        time_s = ((self._wraps << 32) + t_us + interval_us * np.arange(n)) * 1e-6
        return Batch(time_s, counts[:, :3] * self.acc_scale, counts[:, 3:] * self.gyr_scale, lost)


class HingeImuSession(DeviceSession):
    """A wearable speaking the hinge-imu profile (reference firmware: Seeed XIAO nRF52840 Sense)."""

    KIND = "hinge-imu"
    SERVICE_UUID = SERVICE_UUID

    def __init__(self, client: BleakClient, on_packet: PacketCallback) -> None:
        super().__init__(client, on_packet)
        self._reply: asyncio.Future[bytes] | None = None
        self._decoder: Decoder | None = None

    @classmethod
    def matches_advertisement(cls, name: str | None, service_uuids: list[str]) -> bool:
        return SERVICE_UUID in service_uuids

    async def start(self, *, rate_hz: float) -> StreamInfo:
        try:
            await self.client.start_notify(CONTROL_UUID, self._on_reply)
            info = decode_info(await self.client.read_gatt_char(INFO_UUID))
            if info.streaming:
                await self.command(CMD_STOP)
            await self.command(CMD_SET_RANGE, CAPTURE_ACC_RANGE_G, CAPTURE_GYR_RANGE_DPS)
            await self.command(CMD_SET_RATE, max(1, round(rate_hz)))
            info = decode_info(await self.client.read_gatt_char(INFO_UUID))
            self._decoder = Decoder(acc_range_g=info.acc_range_g, gyr_range_dps=info.gyr_range_dps)
            await self.client.start_notify(DATA_UUID, lambda _, data: self.on_packet(data))
            await self.command(CMD_START)
        except BleakError as error:
            raise DeviceError(f"hinge-imu: starting the stream failed: {error}") from None
        return StreamInfo(info.rate_hz, info.acc_range_g, info.gyr_range_dps, info.firmware)

    def decode(self, data: bytes) -> Batch:
        if self._decoder is None:
            raise DeviceError("hinge-imu: data before the stream was configured")
        return self._decoder.decode(data)

    async def round_trip_s(self) -> float:
        """Shortest of three time-sync ping round trips, s."""
        trips = []
        for token in range(3):
            sent_s = time.monotonic()
            await self.ping(token)
            trips.append(time.monotonic() - sent_s)
        return min(trips)

    async def ping(self, token: int) -> int:
        """Send a time-sync ping; returns the device clock (µs, raw u32) at which it answered."""
        reply = await self.command(CMD_PING, token & 0xFFFFFFFF)
        echoed, device_time_us = struct.unpack_from("<II", reply, 2)
        if echoed != token & 0xFFFFFFFF:
            raise ProtocolError(f"hinge-imu ping echoed token {echoed}, sent {token}")
        return device_time_us

    async def command(self, command: int, *arguments: int, timeout_s: float = 2.0) -> bytes:
        """Write a control command and wait for its reply; raises DeviceError when the device refuses it."""
        self._reply = asyncio.get_running_loop().create_future()
        await self.client.write_gatt_char(CONTROL_UUID, encode_command(command, *arguments), response=True)
        try:
            reply = await asyncio.wait_for(self._reply, timeout_s)
        except TimeoutError:
            raise DeviceError(f"hinge-imu: no reply to command 0x{command:02x} within {timeout_s:g} s") from None
        if len(reply) < 2 or reply[0] != command | REPLY_FLAG:
            raise ProtocolError(f"hinge-imu: reply {bytes(reply).hex()} does not answer command 0x{command:02x}")
        if reply[1] != STATUS_OK:
            raise DeviceError(f"hinge-imu refused command 0x{command:02x}: {STATUS_TEXT.get(reply[1], reply[1])}")
        return bytes(reply)

    def _on_reply(self, _characteristic, data: bytearray) -> None:
        if self._reply is not None and not self._reply.done():
            self._reply.set_result(bytes(data))
