"""What every device protocol provides: decoded batches, stream parameters, and a session over a BleakClient."""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from bleak import BleakClient
from bleak.exc import BleakError

from ..errors import DeviceError

BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"  # Battery Service 0x180F, Battery Level 0x2A19
STANDARD_GRAVITY_MPS2 = 9.80665

PacketCallback = Callable[[bytearray], None]


@dataclass(frozen=True)
class Batch:
    """Samples decoded from one notification.

    Attributes
    ----------
    device_time_s : (n,) float64 seconds on the device's own (unwrapped) clock, or None when the device sends
        no time stamps (the clock aligner then counts frames, see :class:`firmware_bridge.clock.FrameCounter`).
    acc_mps2 : (n, 3) specific force, m/s², sensor axes.
    gyr_radps : (n, 3) angular rate, rad/s, sensor axes.
    lost_packets : notifications known to be missing right before this one (sequence or time-stamp gap).
    """

    device_time_s: np.ndarray | None
    acc_mps2: np.ndarray
    gyr_radps: np.ndarray
    lost_packets: int = 0

    @property
    def sample_count(self) -> int:
        return int(self.acc_mps2.shape[0])


@dataclass(frozen=True)
class StreamInfo:
    """What the device reports it streams: ``rate_hz`` (actual output data rate), ranges, firmware."""

    rate_hz: float
    acc_range_g: float
    gyr_range_dps: float
    firmware: str


class DeviceSession(abc.ABC):
    """One connection to one device: configure, subscribe, decode.

    ``on_packet`` receives every raw data notification (a bytearray); it must only stamp and queue it.
    A new session (and decoder state) is made for every connection.
    """

    KIND: ClassVar[str]
    SERVICE_UUID: ClassVar[str]

    def __init__(self, client: BleakClient, on_packet: PacketCallback) -> None:
        self.client = client
        self.on_packet = on_packet

    @classmethod
    @abc.abstractmethod
    def matches_advertisement(cls, name: str | None, service_uuids: list[str]) -> bool:
        """Whether an advertisement (local name, advertised service UUIDs) is this kind of device."""

    @abc.abstractmethod
    async def start(self, *, rate_hz: float) -> StreamInfo:
        """Configure the device for ``rate_hz`` (it picks its nearest supported rate), subscribe, start."""

    @abc.abstractmethod
    def decode(self, data: bytes) -> Batch:
        """Decode one data notification; raises :class:`ProtocolError` naming the bytes when malformed."""

    async def round_trip_s(self) -> float | None:
        """Shortest command round trip over the link, s (None when the protocol has no echo command)."""
        return None

    async def watch_battery(self, on_level: Callable[[int], None]) -> int | None:
        """Battery level (percent) from the standard Battery Service, None without one; later levels the
        device notifies go to ``on_level``."""
        characteristic = self.client.services.get_characteristic(BATTERY_LEVEL_UUID)
        if characteristic is None:
            return None

        def on_notification(_characteristic, data: bytearray) -> None:
            if data:
                on_level(int(data[0]))

        try:
            value = await self.client.read_gatt_char(characteristic)
            if "notify" in characteristic.properties:
                await self.client.start_notify(characteristic, on_notification)
        except BleakError as error:
            raise DeviceError(f"reading the battery level failed: {error}") from None
        return int(value[0]) if value else None


def nearest_rate(requested_hz: float, supported_hz: tuple[float, ...]) -> float:
    """The supported rate closest to ``requested_hz`` (ties go to the higher rate)."""
    return min(supported_hz, key=lambda r: (abs(r - requested_hz), -r))
