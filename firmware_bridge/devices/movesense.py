"""Movesense sensors through the GATT SensorData Protocol (GSP) of the ``gatt_sensordata_app`` firmware sample.

Source: Movesense device library, ``samples/gatt_sensordata_app`` and its Python client
(``movesense-device-lib`` on Bitbucket/GitHub). Service ``34802252-7185-4d5d-b431-630e7050e8f0``; commands are
written to ``34800001-…``, data arrives on ``34800002-…``. Command ``SUBSCRIBE = 1``: ``[1, ref, path]`` with the
path in UTF-8, e.g. ``/Meas/IMU6/104``; ``UNSUBSCRIBE = 2``: ``[2, ref]``. Data notification ``DATA = 2``:
``[2, ref, u32 timestamp_ms]`` (device time of the first sample) then ``n`` accelerometer vectors (3 float32,
m/s²) followed by ``n`` gyroscope vectors (3 float32, °/s); ``n = (len - 6) / 24``. IMU6 rates: 13, 26, 52, 104,
208, 416, 833, 1666 Hz, in batches of ``rate / 13`` samples. There is no sequence number: a time-stamp jump
larger than the batch is a loss.

A batch larger than one notification (the firmware accepts an ATT MTU of at most 161, so 158 bytes: 6 samples)
is split: the DATA notification carries the header and the first bytes, then ``DATA_PART2 = 3`` (and
``DATA_PART3 = 4``) notifications ``[3, ref, next bytes…]`` carry the rest, in order (the manufacturer's Python
client and mobile library join them). A DATA packet whose sample bytes are not a whole number of 24-byte
samples therefore waits for its parts; a part without its DATA (lost) is dropped, and the next batch's time
stamp counts the loss.
"""

from __future__ import annotations

import struct

import numpy as np
from bleak.exc import BleakError

from ..errors import DeviceError, ProtocolError
from .base import Batch, DeviceSession, StreamInfo, nearest_rate

SERVICE_UUID = "34802252-7185-4d5d-b431-630e7050e8f0"
WRITE_UUID = "34800001-7185-4d5d-b431-630e7050e8f0"
NOTIFY_UUID = "34800002-7185-4d5d-b431-630e7050e8f0"
ADVERTISED_UUID = "0000fdf3-0000-1000-8000-00805f9b34fb"  # Movesense's 16-bit service UUID in advertisements

CMD_SUBSCRIBE, CMD_UNSUBSCRIBE = 1, 2
RESPONSE_DATA, RESPONSE_DATA_PART2, RESPONSE_DATA_PART3 = 2, 3, 4
MAX_ATT_MTU = 161  # what the GSP firmware negotiates at most: notifications of up to 158 bytes
SAMPLE_BYTES = 24  # one IMU6 sample: 3 float32 acc + 3 float32 gyr (all acc vectors come first)
IMU6_RATES_HZ = (13.0, 26.0, 52.0, 104.0, 208.0, 416.0, 833.0, 1666.0)
REFERENCE = 99  # our subscription's reference byte, echoed in every data notification
_HEADER = struct.Struct("<BBI")


def subscribe_command(rate_hz: float, reference: int = REFERENCE) -> bytes:
    return bytes([CMD_SUBSCRIBE, reference]) + f"/Meas/IMU6/{int(rate_hz)}".encode()


def parse_subscription(data: bytes) -> tuple[int, str] | None:
    """(reference, path) of a SUBSCRIBE command, None for anything else."""
    if len(data) > 2 and data[0] == CMD_SUBSCRIBE:
        return data[1], bytes(data[2:]).decode("utf-8", errors="replace")
    return None


def encode_data(reference: int, timestamp_ms: int, acc_mps2: np.ndarray, gyr_dps: np.ndarray) -> bytes:
    """One DATA notification: (n, 3) acc m/s² and (n, 3) gyr °/s as float32."""
    return (_HEADER.pack(RESPONSE_DATA, reference, timestamp_ms & 0xFFFFFFFF)
            + np.asarray(acc_mps2, "<f4").tobytes() + np.asarray(gyr_dps, "<f4").tobytes())


def split_notifications(packet: bytes, *, max_bytes: int) -> list[bytes]:
    """A DATA packet as the firmware sends it over a link carrying at most ``max_bytes`` per notification:
    the packet's first ``max_bytes``, then ``[3 or 4, ref, …]`` continuation parts."""
    parts = [packet[:max_bytes]]
    rest = packet[max_bytes:]
    while rest:
        kind = RESPONSE_DATA_PART2 if len(parts) == 1 else RESPONSE_DATA_PART3
        parts.append(bytes([kind, packet[1]]) + rest[:max_bytes - 2])
        rest = rest[max_bytes - 2:]
    return parts


class Decoder:
    """Joins split batches, unwraps the millisecond time stamps and counts batches lost from time-stamp jumps."""

    def __init__(self, rate_hz: float) -> None:
        self.rate_hz = rate_hz
        self._expected_ms: float | None = None
        self._wraps = 0
        self._last_raw_ms = 0
        self._partial: bytes | None = None  # a DATA packet waiting for its DATA_PART2/3

    def decode(self, data: bytes) -> Batch:
        """Decode one notification; a first part returns an empty batch until its last part arrives."""
        kind = data[0] if data else None
        if kind in (RESPONSE_DATA_PART2, RESPONSE_DATA_PART3) and len(data) > 2:
            if self._partial is None or data[1] != self._partial[1]:
                self._partial = None
                return _EMPTY  # its DATA was lost: the next batch's time stamp counts the loss
            data, self._partial = self._partial + bytes(data[2:]), None
        elif kind == RESPONSE_DATA and len(data) >= _HEADER.size:
            self._partial = None
        else:
            raise ProtocolError(f"Movesense notification is not an IMU6 DATA packet ({len(data)} bytes): "
                                f"{bytes(data[:16]).hex()}")
        if (len(data) - _HEADER.size) % SAMPLE_BYTES:
            self._partial = bytes(data)
            return _EMPTY
        return self._batch(data)

    def _batch(self, data: bytes) -> Batch:
        _, _, t_ms = _HEADER.unpack_from(data)
        if self._expected_ms is not None and t_ms < self._last_raw_ms and self._last_raw_ms - t_ms > 1 << 31:
            self._wraps += 1
        self._last_raw_ms = t_ms
        n = (len(data) - _HEADER.size) // 24
        values = np.frombuffer(bytes(data), dtype="<f4", offset=_HEADER.size).astype(np.float64)
        start_ms = (self._wraps << 32) + t_ms
        lost = 0
        if self._expected_ms is not None:
            missing_ms = start_ms - self._expected_ms
            lost = max(0, round(missing_ms * self.rate_hz / 1000.0 / n))
        self._expected_ms = start_ms + n * 1000.0 / self.rate_hz
        time_s = start_ms * 1e-3 + np.arange(n) / self.rate_hz
        return Batch(time_s, values[: 3 * n].reshape(n, 3), np.radians(values[3 * n:].reshape(n, 3)), lost)


_EMPTY = Batch(np.zeros(0), np.zeros((0, 3)), np.zeros((0, 3)))


class MovesenseSession(DeviceSession):
    KIND = "movesense"
    SERVICE_UUID = SERVICE_UUID

    def __init__(self, client, on_packet) -> None:
        super().__init__(client, on_packet)
        self._decoder: Decoder | None = None

    @classmethod
    def matches_advertisement(cls, name: str | None, service_uuids: list[str]) -> bool:
        return ADVERTISED_UUID in service_uuids or SERVICE_UUID in service_uuids or bool(
            name and name.startswith("Movesense"))

    async def start(self, *, rate_hz: float) -> StreamInfo:
        rate = nearest_rate(rate_hz, IMU6_RATES_HZ)
        self._decoder = Decoder(rate)
        try:
            await self.client.start_notify(NOTIFY_UUID, lambda _, data: self.on_packet(data))
            await self.client.write_gatt_char(WRITE_UUID, subscribe_command(rate), response=True)
        except BleakError as error:
            raise DeviceError(f"Movesense: subscribing to /Meas/IMU6/{int(rate)} failed: {error}") from None
        return StreamInfo(rate, 8.0, 2000.0, "Movesense GSP")  # factory-default ranges

    def decode(self, data: bytes) -> Batch:
        if self._decoder is None:
            raise DeviceError("Movesense: data before the subscription")
        return self._decoder.decode(data)
